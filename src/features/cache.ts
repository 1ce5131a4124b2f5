import { randomBytes } from 'node:crypto';
import { constants, existsSync } from 'node:fs';
import { access, link, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sharp, sharpVersion } from '../util/sharp.ts';
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
  /**
   * Images per chunk: a killed extraction resumes from its last whole chunk. The first run on a key fixes the chunks
   * (`<key>.partial/layout.json`); later runs and other shards cut the same ones whatever they ask for.
   */
  chunkSize?: number;
  /** false: only write the cache (memory stays at one chunk whatever the dataset size); features come back empty. */
  keep?: boolean;
  /** A cache entry failed its checks and is extracted again (why, in one line). */
  onInvalid?: (reason: string) => void;
}

/**
 * One task's part of an extraction split over `count` tasks: it embeds the chunks c with c % count === index, and the
 * first task to find every chunk done joins them into the entry.
 */
export interface ShardRequest extends CacheRequest {
  shard: { index: number; count: number };
}

export interface CachedExtraction extends Extraction {
  key: string;
  /** True when every row came from the cache. */
  fromCache: boolean;
  path: string;
}

/** A sharded extraction whose entry is not finished: this task's chunks are written, some of the others' are not yet. */
export interface PendingEntry {
  pending: true;
  key: string;
  /** Chunks written so far (by any task), of `total`. */
  done: number;
  total: number;
}

/** Tells a PendingEntry from a finished result (one that has no `pending` field). */
export const isPending = <T extends object>(r: T | PendingEntry): r is PendingEntry => (r as Partial<PendingEntry>).pending === true;

export const featuresDir = () => join(reprobeHome(), 'features');

/**
 * Features through the cache: a finished matrix is checked (its sidecar against the request, its bytes against the
 * checksum taken when it was written) and read back; otherwise images are embedded chunk by chunk, each chunk written
 * atomically (npy, then its sidecar as the completion mark), then joined into `<key>.npy` with `<key>.json` written
 * last. A killed run resumes at its last whole chunk; two runs on one key only ever rename whole files into place. A
 * read-only cache still serves the entries it holds.
 *
 * With a shard, only that shard's missing chunks are embedded (chunks done by anyone are reused); the task that then
 * finds every chunk done joins them exactly as an unsharded run does (the same matrix, bit for bit, when every task ran
 * with the same batch size), and the others return a PendingEntry. Tasks joining at once each write their own temp
 * files and rename whole files, so any of them may win.
 */
export function extractCached(bb: Backbone, samples: readonly Sample[], req: ShardRequest, opt: ExtractOptions): Promise<CachedExtraction | PendingEntry>;
export function extractCached(bb: Backbone, samples: readonly Sample[], req: CacheRequest & { shard?: undefined }, opt: ExtractOptions): Promise<CachedExtraction>;
export function extractCached(bb: Backbone, samples: readonly Sample[], req: CacheRequest & { shard?: ShardRequest['shard'] }, opt: ExtractOptions): Promise<CachedExtraction | PendingEntry>;
export async function extractCached(bb: Backbone, samples: readonly Sample[], req: CacheRequest & { shard?: ShardRequest['shard'] }, opt: ExtractOptions): Promise<CachedExtraction | PendingEntry> {
  if (req.shard) {
    const { index, count } = req.shard;
    if (!Number.isSafeInteger(index) || !Number.isSafeInteger(count) || count < 1 || index < 0 || index >= count) throw new ConfigError(`Shard ${index}/${count} is not one of ${count} tasks (0 <= i < n).`);
  }
  const dir = featuresDir();
  const key = await featureKey(bb, samples);
  const at: At = { key, dir, npyPath: join(dir, `${key}.npy`), sidePath: join(dir, `${key}.json`) };
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
    // Once the entry is finished, by this run or another, chunks left in the partial folder serve nothing.
    const byOther = async () => {
      const other = await finished(false);
      if (other) await rm(join(dir, `${key}.partial`), { recursive: true, force: true }).catch(() => undefined);
      return other;
    };
    return await extractChunks(bb, samples, req, opt, at, byOther);
  } catch (err) {
    // Another process on the same key may have finished and removed the shared partial folder under us.
    const other = await finished(false);
    if (other) return other;
    throw err;
  }
}

type At = { key: string; dir: string; npyPath: string; sidePath: string };
/** A whole chunk as the join needs it: its file (none when no image of it was read), shape, rows and skips. */
type ChunkMeta = { start: number; file?: { path: string; sha256: string }; rows: number; cols: number; kept: number[]; skipped: Skipped[]; seconds?: number };

async function extractChunks(
  bb: Backbone,
  samples: readonly Sample[],
  req: CacheRequest & { shard?: ShardRequest['shard'] },
  opt: ExtractOptions,
  at: At,
  finishedByOther: () => Promise<CachedExtraction | undefined>,
): Promise<CachedExtraction | PendingEntry> {
  const { key, dir, sidePath } = at;
  const partial = join(dir, `${key}.partial`);
  await guard(() => mkdir(partial, { recursive: true }), dir);
  // 256 images: a kill loses at most that many (a few seconds of a heavy model), and the files stay few.
  const wanted = req.chunkSize ?? (Number(process.env.REPROBE_CHUNK_SIZE) || 256);
  const size = await guard(() => chunkLayout(partial, samples.length, Math.max(opt.batchSize, Math.ceil(wanted / opt.batchSize) * opt.batchSize)), dir);
  const total = Math.ceil(samples.length / size);
  const name = (c: number) => join(partial, `chunk-${String(c).padStart(6, '0')}`);
  const slice = (c: number) => samples.slice(c * size, (c + 1) * size);
  const shard = req.shard;
  const mine = Array.from({ length: total }, (_, c) => c).filter((c) => !shard || c % shard.count === shard.index);
  const myImages = mine.reduce((n, c) => n + slice(c).length, 0);
  let progressed = 0;
  const chunk = async (c: number, report: boolean): Promise<ChunkMeta> => {
    const base = progressed;
    const sl = slice(c);
    let got = await readChunk(name(c), sl);
    if (!got) {
      const onProgress = report && opt.onProgress ? (d: number) => opt.onProgress!(base + d, myImages) : undefined;
      const ext = await extractFeatures(bb, sl, { ...opt, onProgress });
      const { npy, json, sha256 } = chunkFiles(ext.features, ext.kept, ext.skipped, ext.seconds);
      await guard(() => writeFileAtomic(`${name(c)}.npy`, npy), dir);
      await guard(() => writeFileAtomic(`${name(c)}.json`, json), dir);
      got = { features: ext.features, kept: ext.kept, skipped: ext.skipped, sha256, seconds: ext.seconds };
    } else if (report) opt.onProgress?.(base + sl.length, myImages);
    const { rows, cols } = got.features;
    return { start: c * size, file: rows > 0 ? { path: `${name(c)}.npy`, sha256: got.sha256 } : undefined, rows, cols, kept: got.kept, skipped: got.skipped, seconds: got.seconds };
  };
  const metas = new Array<ChunkMeta | undefined>(total);
  for (const c of mine) {
    // Another run finished the entry meanwhile: nothing left to do.
    if (existsSync(sidePath)) {
      const other = await finishedByOther();
      if (other) return other;
    }
    metas[c] = await chunk(c, true);
    progressed += slice(c).length;
  }
  if (shard) {
    // A chunk's sidecar is its completion mark: count them before reading any (a pending task reads nothing more).
    let done = 0;
    for (let c = 0; c < total; c++) if (metas[c] || existsSync(`${name(c)}.json`)) done++;
    if (done < total) return (await finishedByOther()) ?? { pending: true, key, done, total };
    if (existsSync(sidePath)) {
      const other = await finishedByOther();
      if (other) return other;
    }
    // Every chunk is there: the others' are checked as they are read; one that fails its check is embedded again here.
    for (let c = 0; c < total; c++) metas[c] ??= await chunk(c, false);
  }
  return joinEntry(bb, samples, req, at, partial, metas as ChunkMeta[]);
}

/** Whole chunks → `<key>.npy` (a temp file of this run renamed into place), then `<key>.json`; the partial folder goes. */
async function joinEntry(bb: Backbone, samples: readonly Sample[], req: CacheRequest, at: At, partial: string, chunks: readonly ChunkMeta[]): Promise<CachedExtraction> {
  const { key, dir, npyPath, sidePath } = at;
  const files: { path: string; sha256: string }[] = [];
  const kept: number[] = [];
  const skipped: Skipped[] = [];
  let [seconds, timed, rows, cols] = [0, 0, 0, 0];
  for (const m of chunks) {
    if (m.file) {
      files.push(m.file);
      cols = m.cols;
    }
    rows += m.rows;
    kept.push(...m.kept.map((k) => m.start + k));
    skipped.push(...m.skipped);
    if (m.seconds !== undefined) [seconds, timed] = [seconds + m.seconds, timed + m.kept.length];
  }
  const tmp = `${npyPath}.tmp-${unique()}`;
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
    // Extraction time of every chunk, whichever run or task embedded it.
    seconds: round3(seconds),
    imagesPerSecond: round3(seconds > 0 ? timed / seconds : 0),
    versions: { node: process.versions.node, sharp: sharpVersion() },
    created: new Date().toISOString(),
  };
  await guard(() => renameInto(tmp, npyPath), dir);
  const sideTmp = join(dir, `.${key}.json.tmp-${unique()}`);
  await guard(async () => {
    const fh = await open(sideTmp, 'w');
    try {
      await fh.writeFile(JSON.stringify(side));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await renameInto(sideTmp, sidePath);
  }, dir);
  await rm(partial, { recursive: true, force: true }).catch(() => undefined);
  const features = req.keep === false ? matrix(0, cols) : (await readEntry(npyPath, sidePath, key, samples, true)).features;
  return { key, fromCache: false, path: npyPath, features, kept, skipped, seconds: side.seconds, imagesPerSecond: side.imagesPerSecond };
}

/** A temp-file suffix no other run, nor another extraction in this process, uses. */
const unique = () => `${process.pid}-${Date.now()}-${randomBytes(4).toString('hex')}`;

async function renameInto(tmp: string, path: string): Promise<void> {
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * The chunk size of a key's partial extraction: the first run writes it to `layout.json` (linked into place, so only
 * one run's layout lands), every later run or shard reads it. Chunk boundaries therefore never depend on which task
 * asks or with which --batch-size.
 */
async function chunkLayout(partial: string, images: number, proposed: number): Promise<number> {
  const path = join(partial, 'layout.json');
  const read = async (): Promise<number | undefined> => {
    try {
      const l = JSON.parse(await readFile(path, 'utf8')) as { images?: unknown; chunkSize?: unknown };
      return l.images === images && Number.isSafeInteger(l.chunkSize) && (l.chunkSize as number) >= 1 ? (l.chunkSize as number) : undefined;
    } catch {
      return undefined;
    }
  };
  const known = await read();
  if (known !== undefined) return known;
  const tmp = join(partial, `.layout.json.tmp-${unique()}`);
  await writeFile(tmp, JSON.stringify({ images, chunkSize: proposed }));
  try {
    await link(tmp, path);
  } catch (err) {
    const code = (err as { code?: string }).code;
    // EEXIST: another run's layout landed first (read below), unless it is broken (replaced). No hard links: rename.
    if (code === 'EEXIST' ? (await read()) === undefined : !existsSync(path)) await rename(tmp, path);
  } finally {
    await rm(tmp, { force: true });
  }
  return (await read()) ?? proposed;
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
    throw fsError(err, `Cannot write the feature cache in ${dir}`, 'Set REPROBE_HOME to a writable folder, or pass --no-cache.');
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

