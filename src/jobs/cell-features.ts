import type { Backbone } from '../backbones/types.ts';
import type { Dataset } from '../data/types.ts';
import { extractCached } from '../features/cache.ts';
import { extractFeatures, type Skipped } from '../features/extract.ts';
import type { Matrix } from '../util/matrix.ts';

export interface CellFeatureOptions {
  cache: boolean;
  batchSize: number;
  onProgress?: (done: number, total: number) => void;
  /** A cache entry failed its checks and is extracted again (why, in one line). */
  onCacheInvalid?: (reason: string) => void;
}

export interface CellFeatures {
  features: Matrix;
  /** Dataset index → row of `features`, for the images that were read. */
  rowOf: Map<number, number>;
  /** Dataset indices of the images that could not be read, and why. */
  unreadable: Map<number, string>;
  skipped: Skipped[];
  key: string | null;
  fromCache: boolean;
  seconds: number;
  imagesPerSecond: number;
}

/** Features of the dataset images at `indices` (ascending), through the feature cache unless it is off. */
export async function cellFeatures(bb: Backbone, name: string, ds: Dataset, indices: readonly number[], opt: CellFeatureOptions): Promise<CellFeatures> {
  const samples = indices.map((i) => ds.samples[i]);
  const x = { batchSize: opt.batchSize, onProgress: opt.onProgress };
  const cached = opt.cache ? await extractCached(bb, samples, { backboneName: name, dataset: ds.name, classes: ds.classes, onInvalid: opt.onCacheInvalid }, x) : undefined;
  const ext = cached ?? (await extractFeatures(bb, samples, x));
  const indexOf = new Map(indices.map((i) => [ds.samples[i].id, i]));
  return {
    features: ext.features,
    rowOf: new Map(ext.kept.map((k, row) => [indices[k], row])),
    unreadable: new Map(ext.skipped.map((s) => [indexOf.get(s.id)!, s.reason])),
    skipped: ext.skipped,
    key: cached?.key ?? null,
    fromCache: cached?.fromCache ?? false,
    seconds: ext.seconds,
    imagesPerSecond: ext.imagesPerSecond,
  };
}
