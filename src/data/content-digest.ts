import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { MAX_INPUT_PIXELS, rasterMetadata } from '../util/raster.ts';
import { readImageFile } from '../util/read-image-file.ts';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from '../util/atomic.ts';
import { reprobeHome } from '../util/paths.ts';
import type { Dataset, Sample } from './types.ts';

/**
 * Content digests of image files (sha256 of the bytes), so that what a cache entry or a cell id names is the content,
 * not the path or the text typed. Hashing reads every byte once; the digest is then kept per folder in
 * $REPROBE_HOME/digests/, keyed by the file's size, mtime, ctime and inode. A file replaced in place with its size and
 * mtime restored still gets a new ctime (no user call sets it), so it is hashed again, never served stale.
 *
 * Beside the bytes, the decoded pixels get a digest too (pixelDigest), computed only when a copy check asks (a dataset's
 * identity needs the bytes alone, and decoding costs about ten times hashing): the same picture saved again (another PNG
 * compression, metadata stripped, PNG to lossless WebP or TIFF) has other bytes but the same pixels, and is the same
 * image under two labels or on both sides of a split.
 */

/** Files read at once while hashing: enough to hide latency, few enough not to exhaust file handles. */
const CONCURRENCY = 32;

/** The pixels' digest is computed only when a copy check asks for it (decoding costs 10x hashing): absent until then. */
type Entry = [size: number, mtimeMs: number, ctimeMs: number, ino: number, sha256: string, pixels?: string];
interface FolderDigests {
  dir: string;
  files: Record<string, Entry>;
}

const digestsDir = () => join(reprobeHome(), 'digests');
const folderFile = (dir: string) => join(digestsDir(), `${createHash('sha256').update(dir).digest('hex').slice(0, 24)}.json`);

/** The stored digests of one folder ({} when none or unreadable: they are computed again). */
async function readFolder(dir: string): Promise<FolderDigests> {
  try {
    const doc = JSON.parse(await readFile(folderFile(dir), 'utf8')) as FolderDigests;
    if (doc.dir === dir && doc.files && typeof doc.files === 'object') return doc;
  } catch {
    // none yet, or torn: computed again
  }
  return { dir, files: {} };
}


/**
 * sha256 of an image's decoded pixels: EXIF-oriented, 8-bit sRGB without alpha, with its size. Exact pixels, not a
 * perceptual hash: a perceptual hash would also join distinct images that look alike (two near-uniform sea tiles of
 * EuroSAT's SeaLake and River classes, thin MNIST strokes) and warn of copies that are not; the exact digest never
 * does, at the price of missing a lossy re-encoding (a PNG saved again as JPEG). `none:<why>` for a file that is not
 * a raster image or not decodable (the decode path skips it anyway).
 */
async function pixelDigest(bytes: Buffer): Promise<string> {
  try {
    await rasterMetadata(bytes, MAX_INPUT_PIXELS);
    const { data, info } = await sharp(bytes, { failOn: 'error', limitInputPixels: MAX_INPUT_PIXELS }).rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    return createHash('sha256').update(`${info.width}x${info.height}x${info.channels}\0`).update(data).digest('hex');
  } catch (err) {
    return `none:${(err as { code?: string }).code ?? 'undecodable'}`;
  }
}

/**
 * Each file's digests, in order: sha256 of its bytes and, when `withPixels`, of its pixels (else ''); an unreadable
 * file's are `error:<code>`.
 */
async function fileEntries(paths: readonly string[], withPixels: boolean): Promise<{ bytes: string; pixels: string }[]> {
  const abs = paths.map((p) => resolve(p));
  const folders = new Map<string, FolderDigests>();
  for (const dir of new Set(abs.map(dirname))) folders.set(dir, await readFolder(dir));
  const changed = new Set<string>();
  const out = new Array<{ bytes: string; pixels: string }>(abs.length);
  for (let start = 0; start < abs.length; start += CONCURRENCY) {
    await Promise.all(
      abs.slice(start, start + CONCURRENCY).map(async (path, j) => {
        const folder = folders.get(dirname(path))!;
        const name = basename(path);
        try {
          const st = await stat(path);
          const known = folder.files[name];
          const same = known && known[0] === st.size && known[1] === st.mtimeMs && known[2] === st.ctimeMs && known[3] === st.ino;
          if (same && (!withPixels || typeof known[5] === 'string')) {
            out[start + j] = { bytes: known[4], pixels: known[5] ?? '' };
            return;
          }
          const bytes = await readImageFile(path);
          const entry = { bytes: createHash('sha256').update(bytes).digest('hex'), pixels: withPixels ? await pixelDigest(bytes) : '' };
          folder.files[name] = withPixels ? [st.size, st.mtimeMs, st.ctimeMs, st.ino, entry.bytes, entry.pixels] : [st.size, st.mtimeMs, st.ctimeMs, st.ino, entry.bytes];
          changed.add(folder.dir);
          out[start + j] = entry;
        } catch (err) {
          const error = `error:${(err as { code?: string }).code ?? 'unreadable'}`;
          out[start + j] = { bytes: error, pixels: error };
        }
      }),
    );
  }
  // A cache that cannot be written (read-only home) only costs hashing again next time.
  for (const dir of changed) await writeFileAtomic(folderFile(dir), JSON.stringify(folders.get(dir))).catch(() => undefined);
  return out;
}

/** sha256 (hex) of each file's bytes, in order; an unreadable file's entry is `error:<code>` (it is skipped later). */
export async function fileDigests(paths: readonly string[]): Promise<string[]> {
  return (await fileEntries(paths, false)).map((e) => e.bytes);
}

/** A sample's content two ways: `content` (a file's bytes, or raw pixels with their shape) and `pixels` (what it shows). */
interface SampleDigest {
  content: string;
  /** `pixels:<sha256>` of the decoded pixels; for raw pixels the content itself; undefined for a file that cannot be decoded (never used). */
  pixels?: string;
}

/** Each sample's digests: `file:<sha256>` of a file's bytes, `raw:<shape>:<sha256>` of raw pixels, and (`withPixels`) its pixels'. */
async function sampleEntries(samples: readonly Sample[], withPixels: boolean): Promise<SampleDigest[]> {
  const files = samples.flatMap((s) => (s.source.kind === 'file' ? [s.source.path] : []));
  const entries = await fileEntries(files, withPixels);
  let f = 0;
  return samples.map((s) => {
    const src = s.source;
    if (src.kind === 'file') {
      const e = entries[f++];
      const content = `file:${e.bytes}`;
      return { content, ...(!e.pixels || e.pixels.startsWith('none:') || e.pixels.startsWith('error:') ? {} : { pixels: `pixels:${e.pixels}` }) };
    }
    const content = `raw:${src.width}x${src.height}x${src.channels}:${createHash('sha256').update(src.data).digest('hex')}`;
    return { content, pixels: content };
  });
}

/** Each sample's content: `file:<sha256>` of a file's bytes, `raw:<shape>:<sha256>` of raw pixels. */
export async function sampleDigests(samples: readonly Sample[]): Promise<string[]> {
  return (await sampleEntries(samples, false)).map((d) => d.content);
}

const contentMemo = new WeakMap<Dataset, Promise<SampleDigest[]>>();
const pixelsMemo = new WeakMap<Dataset, Promise<SampleDigest[]>>();

/** sampleEntries of a loaded dataset, once each way: the content alone (identity) or with the pixels (copy checks). */
function digestsOf(ds: Dataset, withPixels: boolean): Promise<SampleDigest[]> {
  const memo = withPixels ? pixelsMemo : contentMemo;
  if (!memo.has(ds)) memo.set(ds, withPixels ? sampleEntries(ds.samples, true) : (pixelsMemo.get(ds) ?? sampleEntries(ds.samples, false)));
  return memo.get(ds)!;
}

/** Groups of sample indices (two or more) that show the same pixels, in sample order; files that cannot be decoded (skipped by every run: two empty files are no copies) are in none. */
async function samePixels(ds: Dataset): Promise<number[][]> {
  const digests = await digestsOf(ds, true);
  const groups = new Map<string, number[]>();
  digests.forEach((d, i) => {
    if (d.pixels === undefined) return;
    const g = groups.get(d.pixels);
    if (g) g.push(i);
    else groups.set(d.pixels, [i]);
  });
  return [...groups.values()].filter((g) => g.length > 1);
}

/**
 * Images that show the same pixels under two classes (a copy, or the same picture saved again; a link is caught when
 * the folder is read): the label of one of them is wrong, or the dataset holds a duplicate that a split may put in
 * train and in test. Pairs of sample ids, the first of each picture first.
 */
export async function crossLabelCopies(ds: Dataset): Promise<[string, string][]> {
  return copyPairs(ds, (a, b) => a !== b);
}

/** Images that show the same pixels as another of their own class: harmless until a split puts them on both sides. */
export async function withinLabelCopies(ds: Dataset): Promise<[string, string][]> {
  return copyPairs(ds, (a, b) => a === b);
}

/** Pairs [first of its picture, a copy] whose labels pass `labels`. */
async function copyPairs(ds: Dataset, labels: (first: number, copy: number) => boolean): Promise<[string, string][]> {
  return (await samePixels(ds)).flatMap((g) => g.slice(1).filter((i) => labels(ds.samples[g[0]].label, ds.samples[i].label)).map((i): [string, string] => [ds.samples[g[0]].id, ds.samples[i].id]));
}

/**
 * Copies of one picture on both sides of a split: a test image with the same pixels as a train or val image (of any
 * class), which the test then scores as seen. Pairs [train or val id, test id].
 */
export async function splitLeaks(ds: Dataset, split: { train: readonly number[]; val: readonly number[]; tests: Record<string, readonly number[]> }): Promise<[string, string][]> {
  const fitted = new Set([...split.train, ...split.val]);
  const tested = new Set(Object.values(split.tests).flat());
  const pairs: [string, string][] = [];
  for (const g of await samePixels(ds)) {
    const seen = g.find((i) => fitted.has(i));
    if (seen === undefined) continue;
    for (const i of g) if (tested.has(i) && !fitted.has(i)) pairs.push([ds.samples[seen].id, ds.samples[i].id]);
  }
  return pairs;
}

const examples = (pairs: readonly [string, string][]) => pairs.slice(0, 3).map(([a, b]) => `${a} = ${b}`).join(', ');

/** The warning for crossLabelCopies' pairs. */
export const copiesNote = (pairs: readonly [string, string][]) =>
  `${pairs.length} image(s) show the same pixels as an image of another class, e.g. ${examples(pairs)}: one of each pair has a wrong label, or the dataset holds duplicates a split may put in train and test.`;

/** The warning for withinLabelCopies' pairs. */
export const withinNote = (pairs: readonly [string, string][]) =>
  `${pairs.length} image(s) show the same pixels as another of their class, e.g. ${examples(pairs)}: a split may put one in train and the other in test (probe and sweep warn when one does).`;

/** The warning for splitLeaks' pairs. */
export const leaksNote = (pairs: readonly [string, string][]) =>
  `${pairs.length} test image(s) show the same pixels as a train or val image, e.g. ${examples(pairs)}: the test scores copies of images the method was fitted on; remove the duplicates from the dataset.`;

const memo = new WeakMap<Dataset, Promise<string>>();

/**
 * 16 hex of what a dataset is: its classes and, per sample, its id, label and content digest. Two folders with the
 * same images give one digest; one folder edited gives another. Once per loaded dataset.
 */
export function datasetDigest(ds: Dataset): Promise<string> {
  let d = memo.get(ds);
  if (!d) {
    d = digestsOf(ds, false).then((digests) => {
      const h = createHash('sha256').update(JSON.stringify(ds.classes));
      ds.samples.forEach((s, i) => h.update(`${s.id}\0${s.label}\0${digests[i].content}\n`));
      return h.digest('hex').slice(0, 16);
    });
    memo.set(ds, d);
  }
  return d;
}
