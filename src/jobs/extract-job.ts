import { statSync } from 'node:fs';
import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { openResolved, type OpenOptions } from '../backbones/registry.ts';
import { outsideDataset } from '../data/outside-dataset.ts';
import { ConfigError, DataError, fsError } from '../errors.ts';
import { extractCached, isPending, readSidecar, type PendingEntry } from '../features/cache.ts';
import { extractFeatures, type Skipped } from '../features/extract.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { writeNpy } from '../util/npy.ts';
import { openInputs } from './open.ts';
import type { Shard } from './shard.ts';

export interface ExtractJob {
  backbone: string;
  dataset: string;
  dataRoot?: string;
  /** A named set of the dataset (`pool`, `train`, `id_test`, ...); default every image. */
  split?: string;
  out?: string;
  cache: boolean;
  batchSize: number;
  /**
   * This task's part of an extraction split over several (needs the cache): it embeds its chunks, and the task that
   * finds every chunk done joins them into the cache entry (and writes `out`); the others return pending.
   */
  shard?: Shard;
  open: Omit<OpenOptions, 'onDownload'>;
}

export interface ExtractEvents {
  onStart?(images: number, runtime: string, layer: string): void;
  onProgress?(done: number, total: number): void;
  onDownload?(file: string, bytes: number, total: number | undefined): void;
  onCacheInvalid?(reason: string): void;
}

export interface ExtractResult {
  rows: number;
  cols: number;
  skipped: Skipped[];
  imagesPerSecond: number;
  fromCache: boolean;
  cachePath?: string;
  written: string[];
}

/**
 * Dataset (or one of its sets) → features, through the cache; optionally exported as .npy + labels + JSON for Python.
 * A shard whose entry other tasks have not finished yet returns the cache's PendingEntry (nothing is exported).
 */
export async function runExtractJob(job: ExtractJob, ev: ExtractEvents = {}): Promise<ExtractResult | PendingEntry> {
  if (job.shard && !job.cache) throw new ConfigError('--shard splits the work through the feature cache, which tasks share; leave out --no-cache.');
  if (job.out !== undefined) {
    checkOut(job.out);
    outsideDataset(job.out, '-o', [job.dataset]);
  }
  const { backbones, dataset: ds } = await openInputs({ backbones: [job.backbone], card: job.open.card, dataset: job.dataset, dataRoot: job.dataRoot }, ev.onDownload);
  let idx = ds.samples.map((_, i) => i);
  if (job.split) {
    const set = ds.pools?.[job.split];
    if (!set) throw new ConfigError(`${ds.name} has no set "${job.split}"; it has ${Object.keys(ds.pools ?? {}).join(', ') || 'none (leave out --split)'}.`);
    idx = [...set].sort((a, b) => a - b);
  }
  const samples = idx.map((i) => ds.samples[i]);
  const bb = await openResolved(backbones[0], job.open);
  ev.onStart?.(samples.length, bb.runtime, bb.tap);
  const opt = { batchSize: job.batchSize, onProgress: ev.onProgress };
  let cached, ext;
  try {
    // Through the cache, features stay on disk (memory: one chunk), and -o copies the finished file.
    const req = { backboneName: job.backbone, dataset: ds.name, classes: ds.classes, keep: false, onInvalid: ev.onCacheInvalid, shard: job.shard };
    const got = job.cache ? await extractCached(bb, samples, req, opt) : undefined;
    if (got && isPending(got)) return got;
    cached = got;
    ext = cached ?? (await extractFeatures(bb, samples, opt));
  } finally {
    await bb.dispose();
  }
  if (ext.kept.length === 0) {
    const first = ext.skipped[0];
    throw new DataError(`None of the ${samples.length} images could be read${first ? ` (first: ${first.id}: ${first.reason})` : ''}; nothing to extract.`);
  }
  const written: string[] = [];
  if (job.out) {
    const stem = extname(job.out) === '.npy' ? join(dirname(job.out), basename(job.out, '.npy')) : job.out;
    const kept = ext.kept.map((k) => samples[k]);
    const meta = { backbone: job.backbone, layer: bb.tap, runtime: bb.runtime, dataset: ds.name, split: job.split ?? null, classes: ds.classes, ids: kept.map((s) => s.id), skipped: ext.skipped };
    try {
      await mkdir(dirname(stem), { recursive: true });
      if (cached) {
        const tmp = `${stem}.npy.tmp-${process.pid}`;
        await copyFile(cached.path, tmp);
        await rename(tmp, `${stem}.npy`).catch(async (err) => {
          await rm(tmp, { force: true });
          throw err;
        });
      } else await writeFileAtomic(`${stem}.npy`, writeNpy({ data: ext.features.data, shape: [ext.features.rows, ext.features.cols] }));
      await writeFileAtomic(`${stem}.labels.npy`, writeNpy({ data: Int32Array.from(kept, (s) => s.label), shape: [kept.length] }));
      await writeFileAtomic(`${stem}.json`, JSON.stringify(meta));
    } catch (err) {
      throw fsError(err, `Cannot write ${stem}.npy`, 'Give -o a writable path such as ./features/mnist (the folder is made).');
    }
    written.push(`${stem}.npy`, `${stem}.labels.npy`, `${stem}.json`);
  }
  const side = cached ? await readSidecar(cached.path) : undefined;
  return {
    rows: side?.rows ?? ext.features.rows,
    cols: side?.cols ?? ext.features.cols,
    skipped: ext.skipped,
    imagesPerSecond: ext.imagesPerSecond,
    fromCache: cached?.fromCache ?? false,
    cachePath: cached?.path,
    written,
  };
}

/** -o names files (<out>.npy, .labels.npy, .json): not empty, not a folder. */
function checkOut(out: string): void {
  if (!out.trim()) throw new ConfigError('-o needs a path, e.g. -o features/mnist (writes features/mnist.npy, .labels.npy, .json).');
  if (/[\\/]$/.test(out) || statSync(out, { throwIfNoEntry: false })?.isDirectory()) {
    throw new ConfigError(`-o ${out} is a folder; -o names the files: -o ${join(out, 'features')} writes ${join(out, 'features.npy')}, .labels.npy and .json.`);
  }
}
