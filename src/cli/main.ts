import { createRequire } from 'node:module';
import type { Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ReprobeError } from '../errors.ts';
import { COMMANDS } from './commands.ts';

// yargs' CommonJS build: its ES module build lays help out with cliui's ESM wrap, which cuts words at the column
// ("logistic-reg / ression"); the CommonJS one wraps at word boundaries (wrap-ansi).
const yargs = createRequire(import.meta.url)('yargs/yargs') as (args: string[]) => Argv;

/** The yargs program with every command, laid out `width` columns wide (null: no wrapping). */
export function program(args: string[], width: number | null = Math.min(110, process.stdout.columns || 110)): Argv {
  let p = yargs(args)
    .scriptName('reprobe')
    .usage('$0 <command> [options]\n\nCompare frozen image representations with the probes of representation-learning papers.');
  for (const c of COMMANDS) p = c.register(p);
  const names = COMMANDS.map((c) => c.name);
  return p
    .example('$0 probe --backbone mobilenet-v2 --dataset mnist --shots 10', 'the quick start: probes on real digits, offline')
    .example('$0 probe --backbone mobilenet-v2,inception-v3 --dataset mnist --shots 10', 'two backbones side by side')
    .example('$0 models list', 'the backbones reprobe knows')
    .demandCommand(1, `Name a command: ${names.slice(0, -1).join(', ')} or ${names.at(-1)}. See \`reprobe --help\`.`)
    .strict()
    .recommendCommands()
    .fail((msg, err) => {
      // yargs' own messages (bad choices, missing arguments) can span lines: one line, as every reprobe error.
      throw err ?? new ReprobeError(msg.replace(/\s*\n\s*/g, ' ').trim());
    })
    .help()
    .alias('h', 'help')
    .version()
    .wrap(width);
}

/** Thin CLI: parses flags, calls the library, prints. Errors a user can fix are one line and exit code 2. */
export async function main(args: string[]): Promise<void> {
  refuseRepeats(args);
  await program(args).parseAsync();
}

export async function run(): Promise<void> {
  try {
    await main(hideBin(process.argv));
  } catch (err) {
    if (err instanceof ReprobeError) {
      process.stderr.write(`reprobe: ${err.message}\n`);
      process.exitCode = 2;
    } else {
      const e = err as Error;
      process.stderr.write(`reprobe: internal error: ${e?.message ?? e}\n${process.env.REPROBE_DEBUG ? `${e?.stack}\n` : 'Set REPROBE_DEBUG=1 for the stack trace.\n'}`);
      process.exitCode = 1;
    }
  }
}

/** Flags that take lists and may be given more than once (their values join). */
const REPEATABLE = new Set(['backbone', 'b', 'probe', 'knn-k', 'lr-c']);

/**
 * A single-valued flag given twice is a mistake, and yargs would not say so: it keeps one value, makes a list, or
 * (numbers, 5 then 1) adds them up.
 */
function refuseRepeats(args: readonly string[]): void {
  const seen = new Set<string>();
  for (const a of args) {
    if (a === '--') break;
    const m = /^--(?:no-)?([a-z][\w-]*)|^-([a-zA-Z])$/.exec(a.split('=')[0]);
    if (!m) continue;
    const name = m[1] ?? m[2];
    if (REPEATABLE.has(name)) continue;
    if (seen.has(name)) throw new ReprobeError(`--${name} is given more than once; give it once.`);
    seen.add(name);
  }
}
