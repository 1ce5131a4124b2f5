import { constants, existsSync } from 'node:fs';
import { access, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Backbone } from '../backbones/types.ts';
import type { Sample } from '../data/types.ts';
import { ConfigError, fsError } from '../errors.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { matrix } from '../util/matrix.ts';
import { reprobeHome } from '../util/paths.ts';
import { round3 } from '../util/round.ts';
import { chunkFiles, InvalidEntry, joinChunks, readChunk, readEntry, SidecarSchema, type Sidecar } from './cache-entry.ts';
import { featureKey } from './cache-key.ts';
import { extractFeatures, type ExtractOptions, type Extraction, type Skipped } from './extract.ts';

export interface CacheRequest {
  backboneName: string;
  /** The dataset's name, kept in the sidecar for `cache list` (not part of the key). */
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

/**
 * Features through the cache: a finished matrix is checked (its sidecar against the request, its bytes against the
 * checksum taken when it was written) and read back; otherwise images are embedded chunk by chunk, each chunk written
 * atomically (npy, then its sidecar as the completion mark), then joined into `<key>.npy` with `<key>.json` written
 * last. A killed run resumes at its last whole chunk; two runs on one key only ever rename whole files into place. A
 * read-only cache still serves the entries it holds.
 */
export async function extractCached(bb: Backbone, samples: readonly Sample[], req: CacheRequest, opt: ExtractOptions): Promise<CachedExtraction> {
  const dir = featuresDir();
  const key = await featureKey(bb, samples);
  const at = { key, dir, npyPath: join(dir, `${key}.npy`), sidePath: join(dir, `${key}.json`) };
  const finished = async (report: boolean): Promise<CachedExtraction | undefined> => {
    if (!existsSync(at.sidePath)) return undefined;
    try {
      const { features, kept, side } = await readEntry(at.npyPath, at.sidePath, key, samples, req.keep !== false);
      opt.onProgress?.(samples.length, samples.length);
      return { key, fromCache: true, path: at.npyPath, features, kept, skipped: side.skipped, seconds: side.seconds, imagesPerSecond: side.imagesPerSecond };
    } catch (err) {
      if (!(err instanceof InvalidEntry)) throw err;
      if (report) {
        req.onInvalid?.(`${key}: ${err.message}`);
        for (const f of [at.npyPath, at.sidePath]) await rm(f, { force: true }).catch(() => undefined);
      }
      return undefined;
    }
  };
  const ready = await finished(true);
  if (ready) return ready;
  await writable(dir);
  try {
    return await extractChunks(bb, samples, req, opt, at);
  } catch (err) {
    // Another process on the same key may have finished and removed the shared partial folder under us.
    const other = await finished(false);
    if (other) return other;
    throw err;
  }
}

async function extractChunks(bb: Backbone, samples: readonly Sample[], req: CacheRequest, opt: ExtractOptions, at: { key: string; dir: string; npyPath: string; sidePath: string }): Promise<CachedExtraction> {
  const { key, dir, npyPath, sidePath } = at;
  const partial = join(dir, `${key}.partial`);
  await guard(() => mkdir(partial, { recursive: true }), dir);
  // 256 images: a kill loses at most that many (a few seconds of a heavy model), and the files stay few.
  const wanted = req.chunkSize ?? (Number(process.env.REPROBE_CHUNK_SIZE) || 256);
  const size = Math.max(opt.batchSize, Math.ceil(wanted / opt.batchSize) * opt.batchSize);
  const files: { path: string; sha256: string }[] = [];
  const kept: number[] = [];
  const skipped: Skipped[] = [];
  let [seconds, extracted, rows, cols] = [0, 0, 0, 0];
  for (let start = 0; start < samples.length; start += size) {
    const name = join(partial, `chunk-${String(start / size).padStart(6, '0')}`);
    const slice = samples.slice(start, start + size);
    let chunk = await readChunk(name, slice);
    if (!chunk) {
      const ext = await extractFeatures(bb, slice, { ...opt, onProgress: opt.onProgress && ((d) => opt.onProgress!(start + d, samples.length)) });
      const { npy, json, sha256 } = chunkFiles(ext.features, ext.kept, ext.skipped);
      chunk = { features: ext.features, kept: ext.kept, skipped: ext.skipped, sha256 };
      await guard(() => writeFileAtomic(`${name}.npy`, npy), dir);
      await guard(() => writeFileAtomic(`${name}.json`, json), dir);
      seconds += ext.seconds;
      extracted += ext.kept.length;
    } else opt.onProgress?.(Math.min(start + size, samples.length), samples.length);
    if (chunk.features.rows > 0) {
      files.push({ path: `${name}.npy`, sha256: chunk.sha256 });
      cols = chunk.features.cols;
    }
    rows += chunk.features.rows;
    kept.push(...chunk.kept.map((k) => start + k));
    skipped.push(...chunk.skipped);
  }
  const tmp = `${npyPath}.tmp-${process.pid}-${Date.now()}`;
  const digest = await guard(() => joinChunks(files, [rows, cols], tmp), dir);
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
    sha256: digest,
    seconds: round3(seconds),
    imagesPerSecond: round3(seconds > 0 ? extracted / seconds : 0),
    versions: { node: process.versions.node, sharp: sharp.versions.sharp ?? 'unknown' },
    created: new Date().toISOString(),
  };
  await guard(async () => {
    try {
      await rename(tmp, npyPath);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }, dir);
  await guard(() => writeFileAtomic(sidePath, JSON.stringify(side)), dir);
  await rm(partial, { recursive: true, force: true }).catch(() => undefined);
  const features = req.keep === false ? matrix(0, cols) : (await readEntry(npyPath, sidePath, key, samples, true)).features;
  return { key, fromCache: false, path: npyPath, features, kept, skipped, seconds: side.seconds, imagesPerSecond: side.imagesPerSecond };
}

/** The sidecar of a finished cache file (`<key>.npy` → `<key>.json`). */
export async function readSidecar(npyPath: string): Promise<Sidecar> {
  return SidecarSchema.parse(JSON.parse(await readFile(npyPath.replace(/\.npy$/, '.json'), 'utf8')));
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
    throw fsError(err, `Cannot write the feature cache in ${dir}`, 'Free space, set REPROBE_HOME to a writable folder, or pass --no-cache.');
  }
}

export interface CacheEntry {
  key: string;
  /** `done`: a finished entry; `partial`: only an interrupted extraction; `invalid`: a sidecar that cannot be read (the next run that needs it extracts again). */
  state: 'done' | 'partial' | 'invalid';
  bytes: number;
  side?: Sidecar;
}

/** Finished matrices, and interrupted extractions that have no finished entry (another run may have finished it). */
export async function listCache(): Promise<CacheEntry[]> {
  const dir = featuresDir();
  if (!existsSync(dir)) return [];
  const names = await readdir(dir);
  const done = new Set(names.filter((n) => /^[0-9a-f]+\.json$/.test(n)).map((n) => n.slice(0, -5)));
  const out: CacheEntry[] = [];
  for (const key of done) {
    const parsed = SidecarSchema.safeParse(await readFile(join(dir, `${key}.json`), 'utf8').then(JSON.parse).catch(() => undefined));
    const bytes = (await stat(join(dir, `${key}.npy`)).catch(() => undefined))?.size ?? 0;
    out.push(parsed.success ? { key, state: 'done', bytes, side: parsed.data } : { key, state: 'invalid', bytes });
  }
  for (const n of names.filter((x) => /^[0-9a-f]+\.partial$/.test(x) && !done.has(x.slice(0, -8)))) {
    let bytes = 0;
    for (const f of await readdir(join(dir, n)).catch(() => [])) bytes += (await stat(join(dir, n, f)).catch(() => undefined))?.size ?? 0;
    out.push({ key: n.slice(0, -8), state: 'partial', bytes });
  }
  return out.sort((a, b) => a.key.localeCompare(b.key));
}

/**
 * Remove cache entries: every one when `keys` is empty, else those named, each by its whole key or a prefix that
 * matches exactly one entry (a short prefix matching several is refused, not taken as "all of them").
 */
export async function clearCache(keys: readonly string[] = []): Promise<string[]> {
  const dir = featuresDir();
  const entries = (await listCache()).map((e) => e.key);
  let chosen = entries;
  if (keys.length) {
    chosen = keys.map((given) => {
      const k = given.toLowerCase();
      if (!/^[0-9a-f]+$/.test(k)) throw new ConfigError(`"${k}" is not a cache key (keys are hex, see \`reprobe cache list\`).`);
      const hits = entries.filter((e) => e === k || e.startsWith(k));
      if (hits.length === 0) throw new ConfigError(`No cache entry has key ${k}; \`reprobe cache list\` shows them.`);
      if (hits.length > 1 && !hits.includes(k)) throw new ConfigError(`"${k}" matches ${hits.length} cache entries (${hits.slice(0, 3).join(', ')}${hits.length > 3 ? ', …' : ''}); give more of the key.`);
      return hits.includes(k) ? k : hits[0];
    });
  }
  const names = existsSync(dir) ? await readdir(dir) : [];
  for (const key of new Set(chosen)) {
    // The entry, its interrupted extraction, and temp files a killed run left behind.
    for (const f of names.filter((n) => n === `${key}.npy` || n === `${key}.json` || n === `${key}.partial` || n.startsWith(`${key}.npy.tmp-`) || n.startsWith(`.${key}.json.tmp-`))) {
      await rm(join(dir, f), { recursive: true, force: true });
    }
  }
  return [...new Set(chosen)];
}

