import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { access, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { constants } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Backbone } from '../backbones/types.ts';
import type { Sample } from '../data/types.ts';
import { ReprobeError } from '../errors.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { matrix, type Matrix } from '../util/matrix.ts';
import { npyDataOffset, npyHeader, readNpy, writeNpy } from '../util/npy.ts';
import { reprobeHome } from '../util/paths.ts';
import { extractFeatures, type ExtractOptions, type Extraction, type Skipped } from './extract.ts';

/** What a cached matrix is: its JSON sidecar, next to `<key>.npy`. */
export interface Sidecar {
  key: string;
  backbone: string;
  layer: string;
  runtime: string;
  weights: string;
  card: unknown;
  dataset: string;
  /** Ids of the rows, in order; the requested images that are not here are in `skipped`. */
  ids: string[];
  labels: number[];
  classes: string[];
  skipped: Skipped[];
  rows: number;
  cols: number;
  seconds: number;
  imagesPerSecond: number;
  versions: { node: string; sharp: string };
  created: string;
}

export interface CacheRequest {
  backboneName: string;
  dataset: string;
  classes: string[];
  /** Images per chunk: a killed extraction resumes from its last whole chunk. */
  chunkSize?: number;
  /** false: only write the cache (memory stays at one chunk whatever the dataset size); features come back empty. */
  keep?: boolean;
  /** A cache entry failed its checks and is extracted again (why, in one line). */
  onInvalid?: (reason: string) => void;
}

export interface CachedExtraction extends Extraction {
  key: string;
  /** True when every row came from the cache. */
  fromCache: boolean;
  path: string;
}

export const featuresDir = () => join(reprobeHome(), 'features');

/** One key per (card, layer, runtime, weights, preprocessing in the card, dataset, exact image list). */
export function featureKey(bb: Backbone, dataset: string, samples: readonly Sample[]): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ card: bb.card, layer: bb.tap, runtime: bb.runtime, weights: bb.weights, dataset }));
  for (const s of samples) h.update(`${s.id}\n`);
  return h.digest('hex').slice(0, 20);
}

/**
 * Features through the cache: a finished matrix is read back at once; otherwise images are embedded chunk by chunk,
 * each chunk written atomically (npy, then its sidecar as the completion mark), then joined into `<key>.npy` with
 * `<key>.json` written last. A killed run resumes at its last whole chunk; two runs on one key only ever rename
 * whole files into place.
 */
export async function extractCached(bb: Backbone, samples: readonly Sample[], req: CacheRequest, opt: ExtractOptions): Promise<CachedExtraction> {
  const dir = featuresDir();
  await writable(dir);
  const key = featureKey(bb, req.dataset, samples);
  const npyPath = join(dir, `${key}.npy`);
  const sidePath = join(dir, `${key}.json`);
  const finished = async (): Promise<CachedExtraction | undefined> => {
    const done = await readFinished(npyPath, sidePath, req.keep !== false);
    if (!done) return undefined;
    opt.onProgress?.(samples.length, samples.length);
    const row = new Map(samples.map((s, i) => [s.id, i]));
    return { key, fromCache: true, path: npyPath, features: done.features, kept: done.side.ids.map((id) => row.get(id)!), skipped: done.side.skipped, seconds: done.side.seconds, imagesPerSecond: done.side.imagesPerSecond };
  };
  const ready = await finished();
  if (ready) return ready;
  try {
    return await extractChunks(bb, samples, req, opt, { key, dir, npyPath, sidePath });
  } catch (err) {
    // Another process on the same key may have finished and removed the shared partial folder under us.
    const other = await finished();
    if (other) return other;
    throw err;
  }
}

async function extractChunks(
  bb: Backbone,
  samples: readonly Sample[],
  req: CacheRequest,
  opt: ExtractOptions,
  at: { key: string; dir: string; npyPath: string; sidePath: string },
): Promise<CachedExtraction> {
  const { key, dir, npyPath, sidePath } = at;
  const partial = join(dir, `${key}.partial`);
  await guard(() => mkdir(partial, { recursive: true }), dir);
  const wanted = req.chunkSize ?? (Number(process.env.REPROBE_CHUNK_SIZE) || 2048);
  const size = Math.max(opt.batchSize, Math.ceil(wanted / opt.batchSize) * opt.batchSize);
  const chunks: { file: string; rows: number; cols: number }[] = [];
  const kept: number[] = [];
  const skipped: Skipped[] = [];
  let seconds = 0;
  let extracted = 0;
  for (let start = 0; start < samples.length; start += size) {
    const name = join(partial, `chunk-${String(start / size).padStart(6, '0')}`);
    const slice = samples.slice(start, start + size);
    let chunk = await readChunk(name);
    if (!chunk) {
      const ext = await extractFeatures(bb, slice, { ...opt, onProgress: opt.onProgress && ((d) => opt.onProgress!(start + d, samples.length)) });
      chunk = { features: ext.features, kept: ext.kept, skipped: ext.skipped };
      await guard(() => writeFileAtomic(`${name}.npy`, writeNpy({ data: ext.features.data, shape: [ext.features.rows, ext.features.cols] })), dir);
      await guard(() => writeFileAtomic(`${name}.json`, JSON.stringify({ kept: ext.kept, skipped: ext.skipped, rows: ext.features.rows })), dir);
      seconds += ext.seconds;
      extracted += ext.kept.length;
    } else opt.onProgress?.(Math.min(start + size, samples.length), samples.length);
    chunks.push({ file: `${name}.npy`, rows: chunk.features.rows, cols: chunk.features.cols });
    kept.push(...chunk.kept.map((k) => start + k));
    skipped.push(...chunk.skipped);
  }
  const cols = chunks.find((c) => c.rows > 0)?.cols ?? 0;
  const rows = chunks.reduce((a, c) => a + c.rows, 0);
  const side: Sidecar = {
    key,
    backbone: req.backboneName,
    layer: bb.tap,
    runtime: bb.runtime,
    weights: bb.weights,
    card: bb.card,
    dataset: req.dataset,
    ids: kept.map((k) => samples[k].id),
    labels: kept.map((k) => samples[k].label),
    classes: req.classes,
    skipped,
    rows,
    cols,
    seconds: round(seconds),
    imagesPerSecond: round(seconds > 0 ? extracted / seconds : 0),
    versions: { node: process.versions.node, sharp: sharp.versions.sharp ?? 'unknown' },
    created: new Date().toISOString(),
  };
  await guard(() => joinChunks(chunks, [rows, cols], npyPath), dir);
  await guard(() => writeFileAtomic(sidePath, JSON.stringify(side)), dir);
  await rm(partial, { recursive: true, force: true }).catch(() => undefined);
  const features = req.keep === false ? matrix(0, cols) : ((await readFinished(npyPath, sidePath))?.features ?? matrix(0, cols));
  return { key, fromCache: false, path: npyPath, features, kept, skipped, seconds: side.seconds, imagesPerSecond: side.imagesPerSecond };
}

/** Chunk .npy files → one .npy, streamed one chunk at a time into a temp file, then renamed into place. */
async function joinChunks(chunks: readonly { file: string; rows: number }[], shape: [number, number], dest: string): Promise<void> {
  const tmp = `${dest}.tmp-${process.pid}-${Date.now()}`;
  const fh = await open(tmp, 'w');
  try {
    await fh.write(npyHeader(shape));
    for (const c of chunks) {
      if (c.rows === 0) continue;
      const buf = new Uint8Array(await readFile(c.file));
      await fh.write(buf.subarray(npyDataOffset(buf)));
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, dest);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** A finished pair, checked against its sidecar; `keep` false checks the file size only and leaves the matrix on disk. */
async function readFinished(npyPath: string, sidePath: string, keep = true): Promise<{ features: Matrix; side: Sidecar } | undefined> {
  if (!existsSync(sidePath) || !existsSync(npyPath)) return undefined;
  try {
    const side = JSON.parse(await readFile(sidePath, 'utf8')) as Sidecar;
    if (!keep) {
      const whole = (await stat(npyPath)).size === npyHeader([side.rows, side.cols]).length + side.rows * side.cols * 4;
      return whole ? { features: matrix(0, side.cols), side } : undefined;
    }
    const arr = readNpy(new Uint8Array(await readFile(npyPath)));
    if (arr.shape[0] !== side.rows || (arr.shape[1] ?? 0) !== side.cols) return undefined;
    return { features: matrix(side.rows, side.cols, arr.data), side };
  } catch {
    return undefined; // unreadable: extract again
  }
}

/** The sidecar of a finished cache file (`<key>.npy` → `<key>.json`). */
export async function readSidecar(npyPath: string): Promise<Sidecar> {
  return JSON.parse(await readFile(npyPath.replace(/\.npy$/, '.json'), 'utf8')) as Sidecar;
}

async function readChunk(name: string): Promise<{ features: Matrix; kept: number[]; skipped: Skipped[] } | undefined> {
  // The sidecar is renamed into place after the npy: with it present, the chunk is whole.
  if (!existsSync(`${name}.json`) || !existsSync(`${name}.npy`)) return undefined;
  try {
    const meta = JSON.parse(await readFile(`${name}.json`, 'utf8')) as { kept: number[]; skipped: Skipped[]; rows: number };
    const arr = readNpy(new Uint8Array(await readFile(`${name}.npy`)));
    if (arr.shape[0] !== meta.rows) return undefined;
    return { features: matrix(arr.shape[0], arr.shape[1] ?? 0, arr.data), kept: meta.kept, skipped: meta.skipped };
  } catch {
    return undefined;
  }
}

/** One clear line when the cache folder cannot be written (read-only, full disk). */
async function writable(dir: string): Promise<void> {
  await guard(async () => {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
  }, dir);
}

async function guard<T>(f: () => Promise<T>, dir: string): Promise<T> {
  try {
    return await f();
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code && ['EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'EDQUOT', 'ENOTDIR', 'EEXIST'].includes(code)) {
      throw new ReprobeError(`Cannot write the feature cache in ${dir} (${code}${code === 'ENOSPC' ? ': disk full' : ''}). Free space, set REPROBE_HOME to a writable folder, or pass --no-cache.`);
    }
    throw err;
  }
}

export interface CacheEntry {
  key: string;
  complete: boolean;
  bytes: number;
  side?: Sidecar;
}

/** Finished matrices and interrupted extractions in the cache. */
export async function listCache(): Promise<CacheEntry[]> {
  const dir = featuresDir();
  if (!existsSync(dir)) return [];
  const names = await readdir(dir);
  const out: CacheEntry[] = [];
  for (const n of names) {
    if (n.endsWith('.json')) {
      const key = n.slice(0, -5);
      const side = JSON.parse(await readFile(join(dir, n), 'utf8').catch(() => '{}')) as Sidecar;
      const bytes = (await stat(join(dir, `${key}.npy`)).catch(() => undefined))?.size ?? 0;
      out.push({ key, complete: true, bytes, side });
    } else if (n.endsWith('.partial')) {
      const files = await readdir(join(dir, n));
      let bytes = 0;
      for (const f of files) bytes += (await stat(join(dir, n, f))).size;
      out.push({ key: n.slice(0, -8), complete: false, bytes });
    }
  }
  return out;
}

/** Remove cache entries (all, or those whose key starts with one of `keys`); returns what was removed. */
export async function clearCache(keys: readonly string[] = []): Promise<string[]> {
  const dir = featuresDir();
  const removed: string[] = [];
  for (const e of await listCache()) {
    if (keys.length && !keys.some((k) => e.key.startsWith(k))) continue;
    for (const f of [`${e.key}.npy`, `${e.key}.json`, `${e.key}.partial`]) await rm(join(dir, f), { recursive: true, force: true });
    removed.push(e.key);
  }
  return removed;
}

const round = (x: number) => Math.round(x * 1000) / 1000;
