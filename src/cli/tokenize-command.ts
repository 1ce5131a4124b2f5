import { readFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { resolveCard } from '../backbones/registry.ts';
import { openTokenizer } from '../backbones/tokenizer-files.ts';
import { isKerasCard } from '../backbones/types.ts';
import { ConfigError } from '../errors.ts';
import type { Command } from './command.ts';
import { progressBar } from './progress.ts';

function tokenizeOptions(y: Argv) {
  return y
    // Texts stay as typed: "-" (stdin) and numbers such as 0x10 would otherwise be dropped or parsed; typos of options are caught below.
    .parserConfiguration({ 'unknown-options-as-args': true, 'parse-positional-numbers': false })
    .positional('text', { type: 'string', array: true, describe: 'texts to tokenize, one JSON array each; - reads stdin, one text per line' })
    .option('backbone', { alias: 'b', type: 'string', demandOption: true, describe: 'a backbone with a text tower (clip-vit-b32, alias clip)' })
    .option('tokenizer', { type: 'string', describe: "folder with the tokenizer's vocab.json and merges.txt [default: the card's, from the hub cache]" })
    .option('context', { type: 'number', describe: "context length the ids are cut to, the end token kept last [default: the card's, 77 for CLIP]" })
    .epilog(
      "CLIP's byte-level BPE tokenizer, as OpenAI's clip.tokenize(truncate=True): the text is cleaned (ftfy's fixes for ordinary " +
        'text, HTML entities, whitespace) and lower-cased, split, byte-encoded and merged with merges.txt. Each input prints one line: ' +
        'a JSON array of ids from <|startoftext|> (49406) to <|endoftext|> (49407), unpadded; a text longer than the context is cut ' +
        'there with the end token kept last (a note on stderr says so). The files come from the card\'s hub repo (cached after the ' +
        'first use, as `reprobe models pull` does) unless --tokenizer names a folder.',
    )
    .example('$0 tokenize -b clip-vit-b32 "a photo of a cat."', '[49406,320,1125,539,320,2368,269,49407]')
    .example('$0 tokenize -b clip --tokenizer tok/ "a dog."', 'vocab.json and merges.txt from the folder tok/')
    .example('$0 tokenize -b clip --context 8 -- "-5 degrees"', 'cut at 8 tokens; a text starting with - goes after --')
    .example('cat prompts.txt | $0 tokenize -b clip -', 'one line of ids per line of prompts.txt: see where long prompts are cut at 77');
}

/** The texts to tokenize: each argument (those after `--` too), with `-` replaced by the lines of stdin. */
function inputs(argv: Record<string, unknown>): string[] {
  const given = ((argv.text as unknown[] | undefined) ?? []).map(String);
  const option = given.find((t) => /^--?[A-Za-z][\w-]*(=.*)?$/.test(t));
  if (option) throw new ConfigError(`Unknown option ${option.split('=')[0]}; \`reprobe tokenize --help\` lists them (a text that starts with "-" goes after --).`);
  const texts = [...given, ...(argv._ as unknown[]).slice(1).map(String)];
  if (!texts.length) throw new ConfigError('Give the texts to tokenize (quoted), or - to read one per line from stdin: reprobe tokenize -b clip "a photo of a cat."');
  return texts.flatMap((t) => {
    if (t !== '-') return [t];
    const lines = readFileSync(0, 'utf8').split(/\r?\n/);
    if (lines.at(-1) === '') lines.pop();
    return lines;
  });
}

async function tokenize(argv: Record<string, unknown>): Promise<void> {
  const names = [argv.backbone].flat().flatMap((b) => String(b).split(',')).filter(Boolean);
  if (names.length !== 1) throw new ConfigError(`tokenize takes one backbone; got ${names.join(', ') || 'none'}.`);
  const context = argv.context as number | undefined;
  if (context !== undefined && (!Number.isInteger(context) || context < 2)) throw new ConfigError(`--context ${context}: give a whole number ≥ 2 (room for the start and end tokens).`);
  const card = resolveCard(names[0]);
  if (isKerasCard(card) || !card.text) throw new ConfigError(`${card.id} has no text tower, so no tokenizer; tokenize a backbone that has one (clip-vit-b32).`);
  const texts = inputs(argv);
  const bars = new Map<string, ReturnType<typeof progressBar>>();
  const tok = await openTokenizer(card, {
    dir: argv.tokenizer as string | undefined,
    onProgress: (file, bytes, total) => {
      let bar = bars.get(file);
      if (!bar) bars.set(file, (bar = progressBar(`pull ${file}`, { unit: 'MB', scale: 1e-6 })));
      bar.update(bytes, total ?? bytes);
    },
  });
  for (const b of bars.values()) b.stop();
  const n = context ?? tok.contextLength;
  const lines = texts.map((text, i) => {
    const full = tok.encode(text, { contextLength: Number.MAX_SAFE_INTEGER });
    if (full.length > n) process.stderr.write(`reprobe: note: input ${i + 1} is ${full.length} tokens; cut to ${n}, the end token kept last.\n`);
    return JSON.stringify(tok.encode(text, { contextLength: n }));
  });
  process.stdout.write(lines.map((l) => `${l}\n`).join(''));
}

export const tokenizeCommand: Command = {
  name: 'tokenize',
  register: (y) => y.command('tokenize [text..]', "a text tower's token ids (CLIP BPE) for each text, as JSON arrays: see how prompts are cut at the context", tokenizeOptions, tokenize),
};
