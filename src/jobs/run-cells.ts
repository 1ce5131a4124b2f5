import { createHash, randomBytes } from 'node:crypto';
import { openResolved, type OpenOptions } from '../backbones/registry.ts';
import type { Card } from '../backbones/types.ts';
import { drawSplit, hashSplit, splitIndices, splitSource, type Split, type SplitSpec } from '../data/split.ts';
import type { Dataset } from '../data/types.ts';
import { DataError } from '../errors.ts';
import type { Skipped } from '../features/extract.ts';
import type { CellRecord } from '../results/record.ts';
import { saveSplit } from '../results/splits.ts';
import { appendRecords, ensureResultsDir } from '../results/store.ts';
import { versions } from '../results/versions.ts';
import { takeRows } from '../util/matrix.ts';
import { cellFeatures, type CellFeatures } from './cell-features.ts';
import type { CellPart, FeatureCell, Method } from './method.ts';
import { openInputs } from './open.ts';

/** Cells to run: every backbone x every method on one dataset and split. */
export interface CellJob {
  backbones: readonly string[];
  dataset: string;
  dataRoot?: string;
  split: SplitSpec;
  methods: readonly Method[];
  /** The job's option values; each method picks its own keys. */
  options: Record<string, unknown>;
  open: Omit<OpenOptions, 'onDownload'>;
  batchSize: number;
  cache: boolean;
  resultsDir: string;
  /** File in resultsDir the records are appended to. */
  resultsFile: string;
}

/** Callbacks the CLI turns into progress bars and notes; the library itself never prints. */
export interface CellEvents {
  onDataset?(ds: Dataset, split: Split): void;
  /** Images that could not be read had been drawn for train or val: the split was drawn again without them. */
  onRedrawn?(unreadable: number, split: Split): void;
  onDownload?(file: string, bytes: number, total: number | undefined): void;
  onBackbone?(backbone: string, runtime: string, layer: string, images: number, warnings: string[]): void;
  onProgress?(done: number, total: number): void;
  onExtracted?(backbone: string, imagesPerSecond: number, skipped: Skipped[], fromCache: boolean): void;
  onCacheInvalid?(reason: string): void;
  /** A torn last line of the results file (an earlier crash) was moved to this file. */
  onResultsRepaired?(isolated: string): void;
}

export interface CellRunResult {
  runId: string;
  records: CellRecord[];
  resultsPath: string;
}

/**
 * The cell runner: opens the dataset, draws the split, gets each backbone's cached features, hands them to every
 * method and appends one record per (backbone, method, evaluated set). Images that cannot be read are found by the
 * first extraction; if any was drawn for train or val, the split is drawn again without them, so a split trains on
 * exactly the images it names. Records are written per backbone: a run killed later keeps the finished ones.
 */
export async function runCells(job: CellJob, events: CellEvents = {}): Promise<CellRunResult> {
  await ensureResultsDir(job.resultsDir);
  const { backbones, dataset: ds } = await openInputs({ backbones: job.backbones, card: job.open.card, dataset: job.dataset, dataRoot: job.dataRoot }, events.onDownload);
  const src = splitSource(ds);
  const unreadable = new Map<number, string>();
  let split = drawSplit(src, job.split);
  events.onDataset?.(ds, split);
  const runId = `${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${randomBytes(3).toString('hex')}`;
  const records: CellRecord[] = [];
  let resultsPath = '';
  let saved: { hash: string; file: string } | undefined;
  for (const [b, resolved] of backbones.entries()) {
    const bb = await openResolved(resolved, job.open);
    let feats: CellFeatures;
    try {
      for (let first = true; ; first = false) {
        // Known unreadable images stay in the list, so the extraction is the same cache entry as the first one.
        const order = [...new Set([...splitIndices(split), ...unreadable.keys()])].sort((x, y) => x - y);
        if (first) events.onBackbone?.(resolved.name, bb.runtime, bb.tap, order.length, bb.warnings ?? []);
        feats = await cellFeatures(bb, resolved.name, ds, order, { cache: job.cache, batchSize: job.batchSize, onProgress: events.onProgress, onCacheInvalid: events.onCacheInvalid });
        const fresh = [...feats.unreadable].filter(([i]) => !unreadable.has(i));
        if (b > 0 && fresh.length > 0) {
          const [i, why] = fresh[0];
          throw new DataError(`${ds.samples[i].id} was read for ${backbones[0].name} but not for ${resolved.name} (${why}); the split cannot be the same for both.`);
        }
        for (const [i, why] of fresh) unreadable.set(i, why);
        const drawn = new Set([...split.train, ...split.val]);
        if (!fresh.some(([i]) => drawn.has(i))) break;
        split = drawSplit(src, job.split, { exclude: new Set(unreadable.keys()) });
        events.onRedrawn?.(unreadable.size, split);
      }
    } finally {
      await bb.dispose();
    }
    events.onExtracted?.(resolved.name, feats.imagesPerSecond, feats.skipped, feats.fromCache);
    // Unreadable test images are left out of the sets they were in; the split file lists them.
    split = { ...split, tests: Object.fromEntries(Object.entries(split.tests).map(([k, v]) => [k, v.filter((i) => !unreadable.has(i))])) };
    if (!saved) {
      const hash = hashSplit(ds, split);
      const meta = { dataset: job.dataset, protocol: job.split.protocol, shots: job.split.shots, seed: job.split.seed };
      saved = { hash, file: await saveSplit(job.resultsDir, hash, ds, split, meta, [...unreadable.keys()].sort((x, y) => x - y)) };
    }
    const cell = featureCell(ds, split, feats);
    const shared = {
      run_id: runId,
      backbone: resolved.name,
      model: modelSource(bb.card),
      layer: bb.tap,
      runtime: bb.runtime,
      dataset: job.dataset,
      protocol: job.split.protocol,
      shots: job.split.shots,
      seed: job.split.seed,
      split_hash: saved.hash,
      split_file: saved.file,
      n_train: cell.train.y.length,
      n_val: cell.val.y.length,
      n_classes: ds.classes.length,
      skipped_images: feats.skipped.length,
      features_key: feats.key,
      features_from_cache: feats.fromCache,
      extract_seconds: round(feats.seconds),
      images_per_second: round(feats.imagesPerSecond),
    };
    const done: CellRecord[] = [];
    for (const method of job.methods) {
      const options = Object.fromEntries(Object.keys(method.options).map((k) => [k, job.options[k]]));
      for (const r of await method.run(cell, options)) {
        const n_test = cell.tests.find((t) => t.name === r.eval_split)?.part.y.length ?? 0;
        const id = { dataset: job.dataset, split: saved.hash, model: shared.model, layer: shared.layer, runtime: shared.runtime, method: method.name, options, eval: r.eval_split };
        done.push({
          ...shared,
          cell_id: createHash('sha256').update(JSON.stringify(id)).digest('hex').slice(0, 16),
          task: method.task,
          method: method.name,
          eval_split: r.eval_split,
          metric: r.metric,
          value: r.value,
          n_test,
          ...r.fields,
          fit_seconds: r.fit_seconds,
          versions: versions(),
          time: new Date().toISOString(),
        });
      }
    }
    const appended = await appendRecords(job.resultsDir, done, job.resultsFile);
    if (appended.isolated) events.onResultsRepaired?.(appended.isolated);
    resultsPath = appended.path;
    records.push(...done);
  }
  return { runId, records, resultsPath };
}

/** The cell a method sees: features and labels of train, val and each evaluated set, rows in split order. */
function featureCell(ds: Dataset, split: Split, feats: CellFeatures): FeatureCell {
  const part = (idx: readonly number[]): CellPart => {
    const kept = idx.filter((i) => feats.rowOf.has(i));
    return { x: takeRows(feats.features, kept.map((i) => feats.rowOf.get(i)!)), y: Int32Array.from(kept, (i) => ds.samples[i].label), idx: kept };
  };
  return { dataset: ds, train: part(split.train), val: part(split.val), tests: Object.entries(split.tests).map(([name, idx]) => ({ name, part: part(idx) })) };
}

function modelSource(card: Card): string {
  const s = card.source;
  if (s.kind === 'hub') return `hub:${s.repo}/${s.file}@${s.revision ?? 'main'}`;
  return s.kind === 'file' ? `file:${s.path}` : `nsfwjs:${s.model}`;
}

const round = (x: number) => Math.round(x * 1000) / 1000;
