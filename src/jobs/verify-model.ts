import { readFileSync, statSync } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { extname, join, relative, resolve, sep } from 'node:path';
import { isModelPath, openResolved, resolveBackbone, type OpenOptions } from '../backbones/registry.ts';
import { openTextEncoder } from '../backbones/text-encoder.ts';
import { openTokenizer } from '../backbones/tokenizer-files.ts';
import { isKerasCard, type Card } from '../backbones/types.ts';
import type { Sample } from '../data/types.ts';
import { insideRoot } from '../data/paths.ts';
import { ConfigError, DataError } from '../errors.ts';
import { extractFeatures } from '../features/extract.ts';
import type { Matrix } from '../util/matrix.ts';
import { readNpy } from '../util/npy.ts';

/**
 * `reprobe models verify`: a backbone's features (and, with a text tower, its token ids and text embeddings) against
 * reference ones made elsewhere (PyTorch, `tools/torch_reference.py`; tfjs on the original model), compared row by row
 * by cosine. Bad inputs (missing files, shapes that disagree) throw one-line errors; a model that disagrees is a result
 * with `pass: false`, never an error.
 */
export const VERIFY_DEFAULTS = { tolerance: 0.999 } as const;

export interface VerifySpec {
  /** A registered backbone, or a model.onnx path with `card`. */
  backbone: string;
  card?: string;
  /** Folder of images: every image under it, recursively, in sorted relative-path order unless `ids` gives the order. */
  images?: string;
  /** float32 [n, d] .npy, row i = image i. */
  reference?: string;
  /** JSON array of relative paths under `images` (or an object with `ids`, as `reprobe extract -o` writes): the rows' order. */
  ids?: string;
  /** One text per line. */
  texts?: string;
  /** float32 [texts, d] .npy of the text tower's embeddings. */
  textReference?: string;
  /** Token ids per text: a JSON array of arrays, or one array per line (`reprobe tokenize` output); padding after the end token is ignored. */
  tokenReference?: string;
  /** Folder with vocab.json and merges.txt instead of the card's tokenizer files. */
  tokenizer?: string;
  /** Worst cosine allowed; default VERIFY_DEFAULTS.tolerance. */
  tolerance?: number;
  batchSize: number;
  open: Omit<OpenOptions, 'card' | 'onDownload'>;
}

export interface VerifyEvents {
  onDownload?(file: string, bytes: number, total: number | undefined): void;
  onStart?(images: number, runtime: string, tap: string): void;
  onProgress?(done: number, total: number): void;
}

/** Cosines of matching rows. */
export interface RowComparison {
  /** [n] cosine of row i with reference row i. */
  cosines: Float64Array;
  /** Index of the lowest cosine (a NaN counts as lowest). */
  worst: number;
  mean: number;
  dim: number;
}

interface ImageCheck extends RowComparison {
  /** Relative paths, in row order. */
  ids: string[];
  runtime: string;
  tap: string;
  warnings: string[];
  seconds: number;
  pass: boolean;
}

interface TextCheck {
  texts: string[];
  tokens?: { mismatches: { index: number; expected: number[]; got: number[] }[]; pass: boolean };
  embeddings?: RowComparison & { pass: boolean };
}

export interface VerifyResult {
  backbone: string;
  tolerance: number;
  images?: ImageCheck;
  text?: TextCheck;
  pass: boolean;
}

/** Extensions sharp decodes (as the folder datasets read them). */
const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.tif', '.tiff', '.webp', '.gif', '.avif']);

/** Backbone + images/texts + references → per-row cosines and token checks; ConfigError/DataError for inputs that cannot be compared. */
export async function verifyModel(spec: VerifySpec, ev: VerifyEvents = {}): Promise<VerifyResult> {
  const tolerance = spec.tolerance ?? VERIFY_DEFAULTS.tolerance;
  if (!(tolerance >= -1 && tolerance <= 1)) throw new ConfigError(`--tolerance ${tolerance}: give a cosine between -1 and 1 (default ${VERIFY_DEFAULTS.tolerance}).`);
  const wantImages = spec.images !== undefined || spec.reference !== undefined || spec.ids !== undefined;
  const wantText = spec.texts !== undefined || spec.textReference !== undefined || spec.tokenReference !== undefined;
  if (!wantImages && !wantText) throw new ConfigError('Give --images DIR --reference ref.npy (and/or, for a text tower, --texts texts.txt with --text-reference or --token-reference).');
  if (wantImages && (spec.images === undefined || spec.reference === undefined)) throw new ConfigError('--images and --reference go together: the folder of images and the .npy of their reference features.');
  if (wantText && (spec.texts === undefined || (spec.textReference === undefined && spec.tokenReference === undefined)))
    throw new ConfigError('--texts goes with --text-reference ref-text.npy and/or --token-reference ids.json.');
  if (spec.card && !isModelPath(spec.backbone)) throw new ConfigError(`--card describes a model file given as path/model.onnx; ${spec.backbone} is a named backbone with a built-in card (drop --card).`);
  const resolved = await resolveBackbone(spec.backbone, { card: spec.card, onDownload: ev.onDownload });
  const card = resolved.card;
  const textInputs = wantText ? readTextInputs(card, spec) : undefined;
  let images: ImageCheck | undefined;
  if (wantImages) {
    const ref = readReference(spec.reference!, 'image');
    const ids = spec.ids ? readIds(spec.ids, spec.images!) : await listImages(spec.images!);
    if (ids.length === 0) throw new DataError(`No images under "${spec.images}" (${[...IMAGE_EXTENSIONS].join(', ')}).`);
    if (ref.rows !== ids.length) throw new DataError(`${spec.reference} has ${ref.rows} rows but ${spec.ids ?? spec.images} has ${ids.length} images; one reference row per image, in the same order.`);
    const dim = !spec.open.layer && !spec.open.unpooled ? card.featureDim : undefined;
    if (dim !== undefined && ref.cols !== dim) throw new DataError(`${spec.reference} rows have ${ref.cols} values; ${card.id} gives ${dim}-d features. Make the reference at the same layer (reprobe models info ${spec.backbone}).`);
    const samples: Sample[] = ids.map((id) => ({ id, source: { kind: 'file', path: join(spec.images!, id) }, label: 0 }));
    const bb = await openResolved(resolved, spec.open);
    let ext;
    try {
      ev.onStart?.(samples.length, bb.runtime, bb.tap);
      ext = await extractFeatures(bb, samples, { batchSize: spec.batchSize, onProgress: ev.onProgress });
    } finally {
      await bb.dispose();
    }
    if (ext.skipped.length) throw new DataError(`${ext.skipped.length} image(s) could not be read (first: ${ext.skipped[0].id}: ${ext.skipped[0].reason}); every image needs its reference row. Remove it, or list the others with --ids.`);
    if (ext.features.cols !== ref.cols) throw new DataError(`${spec.reference} rows have ${ref.cols} values; ${card.id} @ ${bb.tap} gives ${ext.features.cols}. Make the reference at the same layer.`);
    const cmp = compareRows(ext.features, ref);
    images = { ...cmp, ids, runtime: bb.runtime, tap: bb.tap, warnings: bb.warnings ?? [], seconds: ext.seconds, pass: passes(cmp, tolerance) };
  }
  const text = textInputs && (await checkText(card, textInputs, spec, tolerance, ev));
  const pass = (images?.pass ?? true) && (text?.tokens?.pass ?? true) && (text?.embeddings?.pass ?? true);
  return { backbone: card.id, tolerance, ...(images ? { images } : {}), ...(text ? { text } : {}), pass };
}

/** [n, d] features vs [n, d] reference → cosine per row (both zero: 1; one zero: 0). */
export function compareRows(got: Matrix, ref: Matrix): RowComparison {
  if (got.rows !== ref.rows || got.cols !== ref.cols) throw new RangeError(`compareRows: [${got.rows}, ${got.cols}] vs [${ref.rows}, ${ref.cols}]`);
  const d = got.cols;
  const cosines = new Float64Array(got.rows);
  let worst = 0;
  let sum = 0;
  for (let i = 0; i < got.rows; i++) {
    let [ab, aa, bb] = [0, 0, 0];
    for (let j = i * d; j < (i + 1) * d; j++) {
      const [a, b] = [got.data[j], ref.data[j]];
      ab += a * b;
      aa += a * a;
      bb += b * b;
    }
    const c = aa === 0 && bb === 0 ? 1 : aa === 0 || bb === 0 ? 0 : ab / Math.sqrt(aa * bb);
    cosines[i] = c;
    sum += c;
    if (low(c) < low(cosines[worst])) worst = i;
  }
  return { cosines, worst, mean: got.rows ? sum / got.rows : NaN, dim: d };
}

/** NaN sorts below every cosine. */
const low = (c: number) => (Number.isNaN(c) ? -Infinity : c);

/** Every row at or above the tolerance (a NaN never passes). */
const passes = (c: RowComparison, tolerance: number) => c.cosines.every((x) => x >= tolerance);

/** A float32 [n, d] .npy → matrix; one line for a missing file, another dtype or shape. */
function readReference(path: string, what: string): Matrix {
  if (!statSync(path, { throwIfNoEntry: false })?.isFile()) throw new ConfigError(`Reference file "${path}" does not exist (the ${what} reference, float32 [n, d] .npy).`);
  let arr;
  try {
    arr = readNpy(new Uint8Array(readFileSync(path)));
  } catch (err) {
    throw new DataError(`${path}: ${(err as Error).message}; the ${what} reference must be a float32 [n, d] .npy (numpy.save(path, x.astype("float32"))).`);
  }
  if (arr.shape.length !== 2) throw new DataError(`${path} has shape [${arr.shape.join(', ')}]; the ${what} reference must be [n, d], one row per ${what}.`);
  return { data: arr.data, rows: arr.shape[0], cols: arr.shape[1] };
}

/** Every image under `dir`, recursively (links followed once; hidden names skipped) → relative paths with `/`, sorted by code point (Python's sorted()). */
async function listImages(dir: string): Promise<string[]> {
  const root = resolve(dir);
  if (!(await stat(root).catch(() => undefined))?.isDirectory()) throw new ConfigError(`--images "${dir}" is not a folder; give a folder of images (searched recursively).`);
  const seen = new Set<string>();
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    const real = await realpath(d);
    if (seen.has(real)) return;
    seen.add(real);
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const p = join(d, e.name);
      const isDir = e.isDirectory() || (e.isSymbolicLink() && (await stat(p).catch(() => undefined))?.isDirectory());
      if (isDir) await walk(p);
      else if (IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase())) out.push(relative(root, p).split(sep).join('/'));
    }
  };
  await walk(root);
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The rows' order: a JSON array of paths relative to `dir`, or `{ids: [...]}`; every one must be a file there. */
function readIds(path: string, dir: string): string[] {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`--ids ${path}: ${(err as { code?: string }).code ?? (err as Error).message}; give a JSON array of image paths relative to --images.`);
  }
  const ids = Array.isArray(doc) ? doc : (doc as { ids?: unknown })?.ids;
  if (!Array.isArray(ids) || !ids.every((x) => typeof x === 'string')) throw new ConfigError(`--ids ${path} is not a JSON array of relative paths (nor an object with "ids", as reprobe extract -o writes).`);
  // Read only under --images: a `../` id, an absolute one or a symlink out of the folder is refused.
  const outside = ids.filter((id) => !insideRoot(dir, id));
  if (outside.length) throw new DataError(`${outside.length} of the ${ids.length} ids lead outside --images ${dir} (first: "${outside[0]}"); give paths relative to it, inside it.`, `--ids ${path}`);
  const missing = ids.filter((id) => !statSync(join(dir, id), { throwIfNoEntry: false })?.isFile());
  if (missing.length) throw new DataError(`${missing.length} of the ${ids.length} ids in ${path} are not files under ${dir} (first: ${missing[0]}).`);
  return ids;
}

interface TextInputs {
  texts: string[];
  tokens?: number[][];
  embeddings?: Matrix;
}

/** Texts and their references, checked against each other before any model runs. */
function readTextInputs(card: Card, spec: VerifySpec): TextInputs {
  if (isKerasCard(card) || !card.text) throw new ConfigError(`${card.id} has no text tower; --texts, --text-reference and --token-reference are for backbones with one (clip-vit-b32).`);
  let raw: string;
  try {
    raw = readFileSync(spec.texts!, 'utf8');
  } catch (err) {
    throw new ConfigError(`--texts ${spec.texts}: cannot read it (${(err as { code?: string }).code ?? err}); give a file with one text per line.`);
  }
  const texts = raw.split(/\r?\n/);
  if (texts.at(-1) === '') texts.pop();
  if (!texts.length) throw new DataError(`--texts ${spec.texts} is empty; give one text per line.`);
  const tokens = spec.tokenReference ? readTokenReference(spec.tokenReference) : undefined;
  if (tokens && tokens.length !== texts.length) throw new DataError(`${spec.tokenReference} has ${tokens.length} id lists but ${spec.texts} has ${texts.length} texts; one list per line, in order.`);
  const embeddings = spec.textReference ? readReference(spec.textReference, 'text') : undefined;
  if (embeddings && embeddings.rows !== texts.length) throw new DataError(`${spec.textReference} has ${embeddings.rows} rows but ${spec.texts} has ${texts.length} texts; one reference row per text, in order.`);
  return { texts, tokens, embeddings };
}

/** Token ids as a JSON array of arrays, or one JSON array per line. */
function readTokenReference(path: string): number[][] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`Reference file "${path}" cannot be read (${(err as { code?: string }).code ?? err}); give the token ids as JSON.`);
  }
  let rows: unknown;
  try {
    rows = JSON.parse(text);
  } catch {
    try {
      rows = text.split(/\r?\n/).filter((l) => l.trim()).map((l) => JSON.parse(l));
    } catch {
      rows = undefined;
    }
  }
  const ok = Array.isArray(rows) && rows.every((r) => Array.isArray(r) && r.every((x) => Number.isInteger(x)));
  if (!ok) throw new DataError(`${path} is not token ids: give a JSON array of id arrays, or one JSON array per line (as \`reprobe tokenize\` prints).`);
  return rows as number[][];
}

/** Tokenize (and embed) the texts and compare with the references. */
async function checkText(card: Card, inp: TextInputs, spec: VerifySpec, tolerance: number, ev: VerifyEvents): Promise<TextCheck> {
  if (isKerasCard(card)) throw new ConfigError(`${card.id} has no text tower.`); // readTextInputs said so already; narrows the type
  const tok = await openTokenizer(card, { dir: spec.tokenizer, onProgress: ev.onDownload });
  const out: TextCheck = { texts: inp.texts };
  if (inp.tokens) {
    const mismatches: NonNullable<TextCheck['tokens']>['mismatches'] = [];
    inp.texts.forEach((t, index) => {
      const got = tok.encode(t);
      const end = inp.tokens![index].indexOf(tok.eot);
      // Padding after the end token (0s from clip.tokenize, more end tokens from transformers) is not part of the text.
      const expected = end < 0 ? inp.tokens![index] : inp.tokens![index].slice(0, end + 1);
      if (got.length !== expected.length || got.some((x, i) => x !== expected[i])) mismatches.push({ index, expected, got });
    });
    out.tokens = { mismatches, pass: mismatches.length === 0 };
  }
  if (inp.embeddings) {
    const enc = await openTextEncoder(card, { encode: (t) => tok.encode(t), id: tok.id }, { threads: spec.open.threads, device: spec.open.device });
    let emb: Matrix;
    try {
      emb = await enc.embed(inp.texts);
    } finally {
      await enc.dispose();
    }
    if (emb.cols !== inp.embeddings.cols) throw new DataError(`${spec.textReference} rows have ${inp.embeddings.cols} values; ${card.id}'s text tower gives ${emb.cols}.`);
    const cmp = compareRows(emb, inp.embeddings);
    out.embeddings = { ...cmp, pass: passes(cmp, tolerance) };
  }
  return out;
}
