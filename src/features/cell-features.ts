import type { Backbone, Card } from '../backbones/types.ts';
import type { Split } from '../data/split.ts';
import type { Dataset } from '../data/types.ts';
import { extractCached } from './cache.ts';
import { extractFeatures, type Skipped } from './extract.ts';
import { unreadableImages } from './readable.ts';
import { assertFinite } from '../method/finite-features.ts';
import { matrix, takeRows, vstack, type Matrix } from '../util/matrix.ts';
import type { CellPart, FeatureCell } from '../method/contract.ts';

export interface ExtractRowsOptions {
  cache: boolean;
  batchSize: number;
  onProgress?: (done: number, total: number) => void;
  /** A cache entry failed its checks and is extracted again (why, in one line). */
  onCacheInvalid?: (reason: string) => void;
  /** Extract (or read) every image of the dataset once and serve any split from it (sweeps: one extraction per backbone and dataset). */
  whole?: boolean;
}

export interface ExtractedRows {
  /** Rows for the images that were read ([0, 0] when only readability was checked). */
  features: Matrix;
  /** Dataset index → row of `features`, for the images that were read. */
  rowOf: Map<number, number>;
  /** Dataset indices of the images that could not be read, and why. */
  unreadable: Map<number, string>;
  skipped: Skipped[];
  /** Cache keys of the matrices read ('+'-joined when a redrawn split read more), null without the cache. */
  key: string | null;
  /** True when every row came from the cache. */
  fromCache: boolean;
  seconds: number;
  imagesPerSecond: number;
}

/** Features of the dataset images at `indices` (ascending), through the feature cache unless it is off. */
export async function extractRows(bb: Backbone, name: string, ds: Dataset, indices: readonly number[], opt: ExtractRowsOptions): Promise<ExtractedRows> {
  if (opt.whole && opt.cache) return subset(await extractRows(bb, name, ds, ds.samples.map((_, i) => i), { ...opt, whole: false }), ds, indices);
  const samples = indices.map((i) => ds.samples[i]);
  const x = { batchSize: opt.batchSize, onProgress: opt.onProgress };
  const cached = opt.cache ? await extractCached(bb, samples, { backboneName: name, dataset: ds.name, classes: ds.classes, onInvalid: opt.onCacheInvalid }, x) : undefined;
  const ext = cached ?? (await extractFeatures(bb, samples, x));
  // NaN or Inf would train and score silently (fine-tuning's head) or fail late: refused here, naming the image.
  assertFinite(ext.features, `The ${name}`, (row) => samples[ext.kept[row]].id);
  return {
    features: ext.features,
    rowOf: new Map(ext.kept.map((k, row) => [indices[k], row])),
    unreadable: unreadableAt(ds, indices, ext.skipped),
    skipped: ext.skipped,
    key: cached?.key ?? null,
    fromCache: cached?.fromCache ?? false,
    seconds: ext.seconds,
    imagesPerSecond: ext.imagesPerSecond,
  };
}

/** The rows of `indices` out of features read for more images (the whole dataset). */
function subset(all: ExtractedRows, ds: Dataset, indices: readonly number[]): ExtractedRows {
  const ids = new Set(indices.map((i) => ds.samples[i].id));
  const kept = indices.filter((i) => all.rowOf.has(i));
  return {
    ...all,
    features: takeRows(all.features, kept.map((i) => all.rowOf.get(i)!)),
    rowOf: new Map(kept.map((i, row) => [i, row])),
    unreadable: new Map(indices.filter((i) => all.unreadable.has(i)).map((i) => [i, all.unreadable.get(i)!])),
    skipped: all.skipped.filter((s) => ids.has(s.id)),
  };
}

/** For methods that read images themselves: which of `indices` decode for the card (no features; rowOf marks the readable). */
export async function imagesReadable(card: Card, ds: Dataset, indices: readonly number[], opt: ExtractRowsOptions): Promise<ExtractedRows> {
  const t0 = performance.now();
  const skipped = await unreadableImages(indices.map((i) => ds.samples[i]), card, opt);
  const unreadable = unreadableAt(ds, indices, skipped);
  const seconds = (performance.now() - t0) / 1000;
  return {
    features: matrix(0, 0),
    rowOf: new Map(indices.filter((i) => !unreadable.has(i)).map((i) => [i, -1])),
    unreadable,
    skipped,
    key: null,
    fromCache: false,
    seconds,
    imagesPerSecond: seconds > 0 ? (indices.length - skipped.length) / seconds : 0,
  };
}

/** Skipped images (by id) → their dataset indices, with why. */
function unreadableAt(ds: Dataset, indices: readonly number[], skipped: readonly Skipped[]): Map<number, string> {
  const indexOf = new Map(indices.map((i) => [ds.samples[i].id, i]));
  return new Map(skipped.map((s) => [indexOf.get(s.id)!, s.reason]));
}

/** What two reads of one backbone hold together (a redrawn split reads only its new images). */
export function mergeFeatures(a: ExtractedRows, b: ExtractedRows): ExtractedRows {
  const offset = a.features.rows;
  const seconds = a.seconds + b.seconds;
  const rows = a.rowOf.size + b.rowOf.size;
  return {
    features: b.features.rows === 0 ? a.features : a.features.rows === 0 ? b.features : vstack([a.features, b.features]),
    rowOf: new Map([...a.rowOf, ...[...b.rowOf].map(([i, r]): [number, number] => [i, r < 0 ? r : r + offset])]),
    unreadable: new Map([...a.unreadable, ...b.unreadable]),
    skipped: [...a.skipped, ...b.skipped],
    key: a.key && b.key ? `${a.key}+${b.key}` : (a.key ?? b.key),
    fromCache: a.fromCache && b.fromCache,
    seconds,
    imagesPerSecond: seconds > 0 ? rows / seconds : 0,
  };
}

/** The cell a features method sees: features and labels of train, val and each evaluated set, rows in split order. */
export function buildFeatureCell(ds: Dataset, backbone: string, split: Split, feats: ExtractedRows, seed: number, runDir: string): FeatureCell {
  const part = (idx: readonly number[]): CellPart => {
    const kept = idx.filter((i) => feats.rowOf.has(i));
    return { x: takeRows(feats.features, kept.map((i) => feats.rowOf.get(i)!)), y: Int32Array.from(kept, (i) => ds.samples[i].label), idx: kept };
  };
  return { dataset: ds, backbone, seed, runDir, train: part(split.train), val: part(split.val), tests: Object.entries(split.tests).map(([name, idx]) => ({ name, part: part(idx) })) };
}
