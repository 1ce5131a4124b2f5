import { createHash } from 'node:crypto';
import { BackboneError, ConfigError } from '../errors.ts';
import { cleanText, REGEX_SPACE } from './clip-text-clean.ts';

/**
 * CLIP's byte-level BPE tokenizer, the algorithm of OpenAI's clip/simple_tokenizer.py and `clip.tokenize(truncate=True)`:
 * clean and lower-case the text (clip-text-clean.ts), split it with the reference regex, write each piece's UTF-8 bytes
 * as printable characters (bytes_to_unicode), merge symbol pairs by rank (merges.txt order) with "</w>" on the last
 * symbol, and look the symbols up in vocab.json. Pure: the files are read by tokenizer-files.ts.
 *
 *   clipTokenizer(vocab, merges).encode('a photo of a cat.') → [49406, 320, 1125, 539, 320, 2368, 269, 49407]
 */
export interface ClipTokenizer {
  /** Text → [sot, …ids, eot], unpadded; longer than the context it is cut to it with eot kept last (or throws, `truncate: false`). */
  encode(text: string, opt?: EncodeOptions): number[];
  /** Default context length (CLIP: 77). */
  contextLength: number;
  /** `<|startoftext|>` and `<|endoftext|>` ids from the vocab (CLIP: 49406, 49407). */
  sot: number;
  eot: number;
  /** Names the vocabulary for records: `clip-bpe:` and a hash of the vocab and merges. */
  id: string;
}

interface EncodeOptions {
  contextLength?: number;
  truncate?: boolean;
}

const SOT = '<|startoftext|>';
const EOT = '<|endoftext|>';

/**
 * The reference's pre-split `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`
 * (Python `regex`, IGNORECASE). On lower-cased text IGNORECASE changes two things, written out here: ſ (U+017F) matches
 * "s", and U+0345 (which case-folds to ι) is outside the negated class, so no branch takes it. `\s` is Python's set.
 */
const PIECE = new RegExp(`<\\|[sſ]tartoftext\\|>|<\\|endoftext\\|>|'[sſ]|'t|'re|'ve|'m|'ll|'d|\\p{L}+|\\p{N}|[^${REGEX_SPACE}\\p{L}\\p{N}\\u0345]+`, 'gu');

/** bytes_to_unicode: byte → a printable character (printable Latin-1 bytes map to themselves, the rest to U+0100…). */
export function bytesToUnicode(): string[] {
  const keep = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let n = 0;
  return Array.from({ length: 256 }, (_, b) => String.fromCharCode(keep(b) ? b : 256 + n++));
}

/** Most distinct pieces kept in the BPE cache before it starts over. */
const CACHE_LIMIT = 50_000;

/** [vocab.json, merges.txt lines without the #version header] → tokenizer; BackboneError for a vocab the merges do not fit. */
export function clipTokenizer(vocab: Readonly<Record<string, number>>, merges: readonly string[], opt: { contextLength?: number } = {}): ClipTokenizer {
  const byteChar = bytesToUnicode();
  const ids = new Map<string, number>(Object.entries(vocab));
  for (const [k, v] of ids) if (!Number.isInteger(v) || v < 0) throw new BackboneError(`vocab entry "${k}" has id ${v}; ids are whole numbers ≥ 0.`);
  for (const sym of [...byteChar, ...byteChar.map((c) => `${c}</w>`), SOT, EOT])
    if (!ids.has(sym)) throw new BackboneError(`the vocab has no entry "${sym}"; a CLIP vocab holds the 512 byte symbols (with and without "</w>"), ${SOT} and ${EOT}.`);
  const ranks = new Map<string, number>();
  merges.forEach((line, i) => {
    const pair = line.trim().split(/\s+/);
    if (pair.length !== 2) throw new BackboneError(`merge ${i + 1} ("${line}") is not two symbols separated by a space.`);
    if (!ids.has(pair.join(''))) throw new BackboneError(`merge ${i + 1} ("${line}") makes "${pair.join('')}", which the vocab lacks.`);
    ranks.set(pair.join(' '), i); // a repeated merge takes its last rank, as dict(zip(merges, range(…))) does
  });
  const cache = new Map<string, string[]>();

  /** A byte-encoded piece → its symbols after the merges (the last carries "</w>"); the special tokens are themselves. */
  function bpe(token: string): string[] {
    if (token === SOT || token === EOT) return [token];
    const hit = cache.get(token);
    if (hit) return hit;
    let word = [...token.slice(0, -1), `${token.slice(-1)}</w>`];
    while (word.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < word.length; i++) {
        const r = ranks.get(`${word[i]} ${word[i + 1]}`);
        if (r !== undefined && r < bestRank) [best, bestRank] = [i, r];
      }
      if (best < 0) break;
      const [first, second] = [word[best], word[best + 1]];
      const next: string[] = [];
      for (let i = 0; i < word.length; ) {
        if (i + 1 < word.length && word[i] === first && word[i + 1] === second) {
          next.push(first + second);
          i += 2;
        } else next.push(word[i++]);
      }
      word = next;
    }
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(token, word);
    return word;
  }

  const sot = ids.get(SOT)!;
  const eot = ids.get(EOT)!;
  const contextLength = opt.contextLength ?? 77;
  const id = `clip-bpe:${createHash('sha256').update(JSON.stringify([...ids])).update(merges.join('\n')).digest('hex').slice(0, 16)}`;
  const utf8 = new TextEncoder();
  return {
    contextLength,
    sot,
    eot,
    id,
    encode(text, o = {}) {
      const n = o.contextLength ?? contextLength;
      if (!Number.isInteger(n) || n < 1) throw new ConfigError(`context length ${n} is not a whole number ≥ 1.`);
      const out = [sot];
      for (const [piece] of cleanText(text).matchAll(PIECE)) {
        const token = Array.from(utf8.encode(piece), (b) => byteChar[b]).join('');
        for (const sym of bpe(token)) out.push(ids.get(sym)!);
      }
      out.push(eot);
      if (out.length <= n) return out;
      if (o.truncate === false) throw new ConfigError(`the text is ${out.length} tokens, more than the context of ${n}: shorten it (or let it be cut).`);
      out.length = n;
      out[n - 1] = eot;
      return out;
    },
  };
}
