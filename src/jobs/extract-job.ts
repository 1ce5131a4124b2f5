import { dirname, extname, join, basename } from 'node:path';
import { openBackbone, type OpenOptions } from '../backbones/registry.ts';
import { datasetEntry, loadDataset } from '../data/registry.ts';
import { ConfigError } from '../errors.ts';
import { extractCached, readSidecar } from '../features/cache.ts';
import { copyFile, rename } from 'node:fs/promises';
import { extractFeatures, type Skipped } from '../features/extract.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { writeNpy } from '../util/npy.ts';

export interface ExtractJob {
  backbone: string;
  dataset: string;
  dataRoot?: string;
  /** A named set of the dataset (`pool`, `train`, `id_test`, ...); default every image. */
  split?: string;
  out?: string;
  cache: boolean;
  batchSize: number;
  open: Omit<OpenOptions, 'onDownload'>;
}

export interface ExtractEvents {
  onStart?(images: number, runtime: string, layer: string): void;
  onProgress?(done: number, total: number): void;
  onDownload?(file: string, bytes: number, total: number | undefined): void;
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

/** Dataset (or one of its sets) → features, through the cache; optionally exported as .npy + labels + JSON for Python. */
export async function runExtractJob(job: ExtractJob, ev: ExtractEvents = {}): Promise<ExtractResult> {
  datasetEntry(job.dataset);
  const ds = await loadDataset(job.dataset, job.dataRoot);
  let idx = ds.samples.map((_, i) => i);
  if (job.split) {
    const set = ds.pools?.[job.split];
    if (!set) throw new ConfigError(`${ds.name} has no set "${job.split}"; it has ${Object.keys(ds.pools ?? {}).join(', ') || 'none (leave out --split)'}.`);
    idx = [...set].sort((a, b) => a - b);
  }
  const samples = idx.map((i) => ds.samples[i]);
  const bb = await openBackbone(job.backbone, { ...job.open, onDownload: ev.onDownload });
  ev.onStart?.(samples.length, bb.runtime, bb.tap);
  const opt = { batchSize: job.batchSize, onProgress: ev.onProgress };
  // Through the cache, features stay on disk (memory: one chunk), and -o copies the finished file.
  const cached = job.cache ? await extractCached(bb, samples, { backboneName: job.backbone, dataset: ds.name, classes: ds.classes, keep: false }, opt) : undefined;
  const ext = cached ?? (await extractFeatures(bb, samples, opt));
  await bb.dispose();
  const written: string[] = [];
  if (job.out) {
    const stem = extname(job.out) === '.npy' ? join(dirname(job.out), basename(job.out, '.npy')) : job.out;
    const kept = ext.kept.map((k) => samples[k]);
    if (cached) {
      await copyFile(cached.path, `${stem}.npy.tmp-${process.pid}`);
      await rename(`${stem}.npy.tmp-${process.pid}`, `${stem}.npy`);
    } else await writeFileAtomic(`${stem}.npy`, writeNpy({ data: ext.features.data, shape: [ext.features.rows, ext.features.cols] }));
    await writeFileAtomic(`${stem}.labels.npy`, writeNpy({ data: Int32Array.from(kept, (s) => s.label), shape: [kept.length] }));
    const meta = { backbone: job.backbone, layer: bb.tap, runtime: bb.runtime, dataset: ds.name, split: job.split ?? null, classes: ds.classes, ids: kept.map((s) => s.id), skipped: ext.skipped };
    await writeFileAtomic(`${stem}.json`, JSON.stringify(meta));
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
