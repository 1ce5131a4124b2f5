import type { Backbone } from '../backbones/types.ts';
import type { Sample } from '../data/types.ts';
import { matrix, type Matrix } from '../util/matrix.ts';
import type { PreparedBatch, Skipped } from './prepare-batch.ts';
import { prepareOffThread } from './preparer.ts';

export type { Skipped } from './prepare-batch.ts';

export interface Extraction {
  /** [kept.length, featureDim], row i = samples[kept[i]]. */
  features: Matrix;
  /** Indices into the given samples that decoded and were embedded, in order. */
  kept: number[];
  skipped: Skipped[];
  seconds: number;
  imagesPerSecond: number;
}

export interface ExtractOptions {
  batchSize: number;
  onProgress?: (done: number, total: number) => void;
}

/** Batches prepared ahead of the one in the backbone: two absorb the jitter of decode times; memory stays bounded. */
const AHEAD = 2;

/**
 * Embed samples in batches. Upcoming batches are decoded and packed on a worker thread (sharp's pool) while the
 * current one runs in the backbone, so preprocessing hides behind inference. Unreadable images are skipped and
 * listed, never fatal.
 */
export async function extractFeatures(backbone: Backbone, samples: readonly Sample[], opt: ExtractOptions): Promise<Extraction> {
  const t0 = performance.now();
  const queue: { start: number; batch: Promise<PreparedBatch> }[] = [];
  let nextStart = 0;
  const fill = () => {
    while (queue.length < AHEAD && nextStart < samples.length) {
      const batch = prepareOffThread(samples.slice(nextStart, nextStart + opt.batchSize), backbone.card);
      batch.catch(() => {}); // rejections surface when the batch's turn comes, not as unhandled ones
      queue.push({ start: nextStart, batch });
      nextStart += opt.batchSize;
    }
  };
  const rows: Matrix[] = [];
  const kept: number[] = [];
  const skipped: Skipped[] = [];
  let done = 0;
  fill();
  while (queue.length > 0) {
    const { start, batch: pending } = queue.shift()!;
    const batch = await pending;
    fill();
    if (batch.kept.length > 0) {
      rows.push(await backbone.embed(batch.input, batch.kept.length));
      kept.push(...batch.kept.map((k) => start + k));
    }
    skipped.push(...batch.skipped);
    done += batch.kept.length + batch.skipped.length;
    opt.onProgress?.(done, samples.length);
  }
  const cols = rows[0]?.cols ?? 0;
  const data = new Float32Array(kept.length * cols);
  let off = 0;
  for (const r of rows) {
    data.set(r.data, off);
    off += r.data.length;
  }
  const seconds = (performance.now() - t0) / 1000;
  return { features: matrix(kept.length, cols, data), kept, skipped, seconds, imagesPerSecond: kept.length / seconds };
}
