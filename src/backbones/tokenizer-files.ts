import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BackboneError, ConfigError } from '../errors.ts';
import { clipTokenizer, type ClipTokenizer } from '../text/clip-tokenizer.ts';
import { pullFile } from './hub.ts';
import { isKerasCard, type Card } from './types.ts';

/** Local paths of a Hugging Face tokenizer's vocab.json and merges.txt. */
export interface TokenizerPaths {
  vocab: string;
  merges: string;
}

/** Merges simple_tokenizer (and transformers' CLIPTokenizer) read: merges.txt lines 1 .. 49152 - 256 - 2 after the header. */
const MAX_MERGES = 49152 - 256 - 2;

/**
 * merges.txt text → merge lines: the header, blank lines and CR dropped, at most MAX_MERGES. The header is a first line
 * holding `#version` (Hugging Face's starts with it; OpenAI's bpe_simple_vocab_16e6.txt has its file name first).
 */
export function parseMerges(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines[0]?.includes('#version')) lines.shift();
  return lines.filter((l) => l.trim() !== '').slice(0, MAX_MERGES);
}

/** vocab.json + merges.txt → tokenizer; a missing or malformed file is one BackboneError line naming it. */
export function readTokenizer(paths: TokenizerPaths, opt: { contextLength?: number } = {}): ClipTokenizer {
  const read = (p: string) => {
    try {
      return readFileSync(p, 'utf8');
    } catch (err) {
      throw new BackboneError(`cannot read ${p} (${(err as { code?: string }).code ?? String(err)}).`);
    }
  };
  let vocab: unknown;
  try {
    vocab = JSON.parse(read(paths.vocab));
  } catch (err) {
    throw err instanceof BackboneError ? err : new BackboneError(`${paths.vocab} is not JSON (${(err as Error).message}).`);
  }
  if (!vocab || typeof vocab !== 'object' || Array.isArray(vocab)) throw new BackboneError(`${paths.vocab} is not a JSON object of token → id.`);
  const merges = parseMerges(read(paths.merges));
  let tokenizer: ClipTokenizer;
  try {
    tokenizer = clipTokenizer(vocab as Record<string, number>, merges, opt);
  } catch (err) {
    throw err instanceof BackboneError ? new BackboneError(`${paths.vocab} + ${paths.merges}: ${err.message}`) : err;
  }
  checkMergesFit(vocab as Record<string, number>, merges, paths);
  return tokenizer;
}

/**
 * merges.txt must be the one its vocab.json was built with: a CLIP vocab is the 512 byte symbols, one entry per merge
 * and the two special tokens, so an empty or truncated merges.txt (which would tokenize, wrongly, with exit 0) is
 * refused by its count, and each merge's two symbols must be in the vocab.
 */
function checkMergesFit(vocab: Record<string, number>, merges: readonly string[], paths: TokenizerPaths): void {
  const size = Object.keys(vocab).length;
  const expected = size - 256 * 2 - 2;
  if (merges.length !== expected)
    throw new BackboneError(`${paths.merges} holds ${merges.length} merges, but the ${size} entries of ${paths.vocab} come from ${expected} (512 byte symbols + one per merge + 2 special tokens); the files are not a pair (truncated or from another tokenizer).`);
  merges.forEach((line, i) => {
    const missing = line.trim().split(/\s+/).find((sym) => !(sym in vocab));
    if (missing !== undefined) throw new BackboneError(`${paths.merges}: merge ${i + 1}: the symbol "${missing}" of merge "${line}" is not in ${paths.vocab}.`);
  });
}

/** A folder with vocab.json and merges.txt (a Hugging Face CLIP tokenizer) → their paths; ConfigError when they are not there. */
export function tokenizerDir(dir: string): TokenizerPaths {
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new ConfigError(`tokenizer folder "${dir}" does not exist; give a folder with vocab.json and merges.txt.`);
  const paths = { vocab: join(dir, 'vocab.json'), merges: join(dir, 'merges.txt') };
  const missing = Object.values(paths).filter((p) => !existsSync(p));
  if (missing.length) throw new ConfigError(`tokenizer folder "${dir}" has no ${missing.map((p) => p.slice(dir.length).replace(/^[\\/]/, '')).join(' or ')}; it needs vocab.json and merges.txt.`);
  return paths;
}

export interface OpenTokenizerOptions {
  /** A folder with vocab.json and merges.txt, used instead of the card's hub files. */
  dir?: string;
  /** Download progress when the card's files are fetched on first use. */
  onProgress?: (file: string, bytes: number, total: number | undefined) => void;
}

/** The tokenizer of a card's text tower: from `dir`, else the card's tokenizer files (cached, or pulled from the hub). */
export async function openTokenizer(card: Card, opt: OpenTokenizerOptions = {}): Promise<ClipTokenizer> {
  const text = isKerasCard(card) ? undefined : card.text;
  if (isKerasCard(card) || !text) throw new ConfigError(`${card.id} has no text tower, so no tokenizer; \`reprobe models list\` shows the backbones (clip-vit-b32 has one).`);
  const contextLength = text.contextLength;
  if (opt.dir) return readTokenizer(tokenizerDir(opt.dir), { contextLength });
  const { source } = card;
  if (!text.tokenizer) throw new ConfigError(`${card.id}'s card names no tokenizer files; give a folder with vocab.json and merges.txt (--tokenizer DIR).`);
  if (source.kind !== 'hub') throw new ConfigError(`${card.id} is a local model; give its tokenizer folder (vocab.json, merges.txt) with --tokenizer DIR.`);
  const pull = (file: string) => pullFile({ repo: source.repo, revision: source.revision, file }, { name: card.id, onProgress: opt.onProgress && ((b, t) => opt.onProgress?.(file, b, t)) });
  return readTokenizer({ vocab: await pull(text.tokenizer.vocab), merges: await pull(text.tokenizer.merges) }, { contextLength });
}
