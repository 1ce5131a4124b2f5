import { createHash } from 'node:crypto';
import { sharp } from '../util/sharp.ts';
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

/** The pixels' digest and thumbnail are computed only when a copy check asks for them (decoding costs 10x hashing): absent until then. */
type Entry = [size: number, mtimeMs: number, ctimeMs: number, ino: number, sha256: string, pixels?: string, thumb?: string];
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


/** Side of the grey thumbnail kept per decoded image, for near copies (NEAR_COPY). */
const THUMB = 16;

/**
 * The THUMB x THUMB thumbnail of decoded 8-bit pixels: luma (BT.601, the Y a JPEG stores at full resolution) averaged
 * over equal areas. Luma, not sharp's greyscale: its grey is not linear in R, G and B, so the chroma a JPEG subsamples
 * leaked into it (a saturated picture saved as JPEG q90 moved 2.2 grey levels on average; by luma, 0.26).
 */
function lumaThumb(data: Uint8Array, width: number, height: number, channels: number): Buffer {
  const sum = new Float64Array(THUMB * THUMB);
  const count = new Float64Array(THUMB * THUMB);
  for (let y = 0; y < height; y++) {
    const row = Math.floor((y * THUMB) / height) * THUMB;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * channels;
      const k = row + Math.floor((x * THUMB) / width);
      sum[k] += channels >= 3 ? 0.299 * data[o] + 0.587 * data[o + 1] + 0.114 * data[o + 2] : data[o];
      count[k]++;
    }
  }
  // An image smaller than the thumbnail leaves cells empty: 0, the same for every copy of it.
  return Buffer.from(Uint8Array.from(sum, (v, k) => (count[k] ? Math.round(v / count[k]) : 0)));
}

/**
 * sha256 of an image's decoded pixels: EXIF-oriented, 8-bit sRGB without alpha, with its size. Exact pixels, not a
 * perceptual hash: a perceptual hash would also join distinct images that look alike (two near-uniform sea tiles of
 * EuroSAT's SeaLake and River classes, thin MNIST strokes) and warn of copies that are not; the exact digest never
 * does. A lossy re-encoding (a PNG saved again as JPEG) is left to `thumb`, the 16x16 luma thumbnail of the same
 * decoded pixels (base64), compared with a tight bound (NEAR_COPY). `none:<why>` for a file that is not a raster image
 * or not decodable (the decode path skips it anyway), with no thumbnail.
 */
async function pixelDigest(bytes: Buffer): Promise<{ pixels: string; thumb: string }> {
  try {
    await rasterMetadata(bytes, MAX_INPUT_PIXELS);
    const { data, info } = await sharp(bytes, { failOn: 'error', limitInputPixels: MAX_INPUT_PIXELS }).rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    const pixels = createHash('sha256').update(`${info.width}x${info.height}x${info.channels}\0`).update(data).digest('hex');
    return { pixels, thumb: lumaThumb(data, info.width, info.height, info.channels).toString('base64') };
  } catch (err) {
    return { pixels: `none:${(err as { code?: string }).code ?? 'undecodable'}`, thumb: '' };
  }
}

/**
 * Each file's digests, in order: sha256 of its bytes and, when `withPixels`, of its pixels with their thumbnail (else
 * ''); an unreadable file's are `error:<code>`.
 */
async function fileEntries(paths: readonly string[], withPixels: boolean): Promise<{ bytes: string; pixels: string; thumb: string }[]> {
  const abs = paths.map((p) => resolve(p));
  const folders = new Map<string, FolderDigests>();
  for (const dir of new Set(abs.map(dirname))) folders.set(dir, await readFolder(dir));
  const changed = new Set<string>();
  const out = new Array<{ bytes: string; pixels: string; thumb: string }>(abs.length);
  for (let start = 0; start < abs.length; start += CONCURRENCY) {
    await Promise.all(
      abs.slice(start, start + CONCURRENCY).map(async (path, j) => {
        const folder = folders.get(dirname(path))!;
        const name = basename(path);
        try {
          const st = await stat(path);
          const known = folder.files[name];
          const same = known && known[0] === st.size && known[1] === st.mtimeMs && known[2] === st.ctimeMs && known[3] === st.ino;
          // An entry written before pixel digests or thumbnails (five or six fields) serves the bytes; the pixels are computed again.
          if (same && (!withPixels || (typeof known[5] === 'string' && typeof known[6] === 'string'))) {
            out[start + j] = { bytes: known[4], pixels: known[5] ?? '', thumb: known[6] ?? '' };
            return;
          }
          const bytes = await readImageFile(path);
          const entry = { bytes: createHash('sha256').update(bytes).digest('hex'), ...(withPixels ? await pixelDigest(bytes) : { pixels: '', thumb: '' }) };
          folder.files[name] = withPixels ? [st.size, st.mtimeMs, st.ctimeMs, st.ino, entry.bytes, entry.pixels, entry.thumb] : [st.size, st.mtimeMs, st.ctimeMs, st.ino, entry.bytes];
          changed.add(folder.dir);
          out[start + j] = entry;
        } catch (err) {
          const error = `error:${(err as { code?: string }).code ?? 'unreadable'}`;
          out[start + j] = { bytes: error, pixels: error, thumb: '' };
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
  /** A decoded file's 16x16 grey thumbnail; raw pixels have none (in memory, never re-encoded: exact copies only). */
  thumb?: Uint8Array;
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
      if (!e.pixels || e.pixels.startsWith('none:') || e.pixels.startsWith('error:')) return { content };
      return { content, pixels: `pixels:${e.pixels}`, ...(e.thumb ? { thumb: new Uint8Array(Buffer.from(e.thumb, 'base64')) } : {}) };
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

/**
 * The bound on two thumbnails' mean absolute difference (0-255 grey levels) under which two images are one picture.
 * Measured (issue 26): a PNG saved again as JPEG moves the thumbnail by at most 0.12 at quality 90 and 0.34 at
 * quality 50 on UC Merced's 42 original TIFFs, and 0.26 at quality 90 (1.0 at 50) on a saturated synthetic picture
 * with 8-pixel blocks (the test's); the closest distinct images are 2.08 apart (two agricultural tiles of UC Merced;
 * across classes 4.66) and 1.65 (two MNIST ones; across classes none within 3). 1.0 leaves a margin both ways.
 */
const NEAR_COPY = 1.0;

/** Mean absolute difference of two thumbnails, stopping once past `bound`. */
function thumbDistance(a: Uint8Array, b: Uint8Array, bound: number): number {
  let d = 0;
  const stop = bound * a.length;
  for (let k = 0; k < a.length && d <= stop; k++) d += Math.abs(a[k] - b[k]);
  return d / a.length;
}

/**
 * Images of two classes that are one picture saved again with loss (a PNG as JPEG): their thumbnails lie within
 * NEAR_COPY, their pixels differ (exact copies are crossLabelCopies'). Only decoded files are compared (their
 * thumbnails come with the pixel digest, cached); candidates are scanned in order of mean grey level, which two
 * thumbnails within the bound share to within it. Pairs [first in sample order, the other].
 */
export async function crossLabelNearCopies(ds: Dataset): Promise<[string, string][]> {
  const digests = await digestsOf(ds, true);
  const withThumb = digests.flatMap((d, i) => (d.thumb ? [i] : []));
  const mean = new Map(withThumb.map((i) => [i, digests[i].thumb!.reduce((a, v) => a + v, 0) / digests[i].thumb!.length]));
  const order = withThumb.sort((a, b) => mean.get(a)! - mean.get(b)!);
  const pairs: [string, string][] = [];
  for (let x = 0; x < order.length; x++) {
    const i = order[x];
    for (let y = x + 1; y < order.length && mean.get(order[y])! - mean.get(i)! <= NEAR_COPY; y++) {
      const j = order[y];
      if (ds.samples[i].label === ds.samples[j].label || digests[i].pixels === digests[j].pixels) continue;
      if (thumbDistance(digests[i].thumb!, digests[j].thumb!, NEAR_COPY) <= NEAR_COPY) pairs.push(i < j ? [ds.samples[i].id, ds.samples[j].id] : [ds.samples[j].id, ds.samples[i].id]);
    }
  }
  return pairs.sort((p, q) => (p[0] < q[0] ? -1 : p[0] > q[0] ? 1 : p[1] < q[1] ? -1 : 1));
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

/** The warning for crossLabelNearCopies' pairs. */
export const nearCopiesNote = (pairs: readonly [string, string][]) =>
  `${pairs.length} pair(s) of images of two classes look the same (16x16 luma thumbnails within ${NEAR_COPY} grey level on average, as a picture saved again as JPEG), e.g. ${examples(pairs).replaceAll(' = ', ' ~ ')}: one of each pair has a wrong label, or the dataset holds duplicates a split may put in train and test.`;
