import { decodeForCard, packBatch } from '../backbones/preprocess.ts';
import type { Backbone } from '../backbones/types.ts';
import type { Sample } from '../data/types.ts';
import { matrix, type Matrix } from '../util/matrix.ts';

export interface Skipped {
  id: string;
  reason: string;
}

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

interface PreparedBatch {
  images: Uint8Array[];
  indices: number[];
  skipped: Skipped[];
}

/**
 * Embed samples in batches. The next batch is decoded (sharp's thread pool) while the current one runs in the
 * backbone, so preprocessing hides behind inference. Unreadable images are skipped and listed, never fatal.
 */
export async function extractFeatures(backbone: Backbone, samples: readonly Sample[], opt: ExtractOptions): Promise<Extraction> {
  const t0 = performance.now();
  const starts: number[] = [];
  for (let s = 0; s < samples.length; s += opt.batchSize) starts.push(s);
  const prepare = async (start: number): Promise<PreparedBatch> => {
    const slice = samples.slice(start, start + opt.batchSize);
    const decoded = await Promise.allSettled(slice.map((s) => decodeForCard(s.source, backbone.card)));
    const batch: PreparedBatch = { images: [], indices: [], skipped: [] };
    decoded.forEach((d, i) => {
      if (d.status === 'fulfilled') {
        batch.images.push(d.value);
        batch.indices.push(start + i);
      } else batch.skipped.push({ id: slice[i].id, reason: String((d.reason as Error)?.message ?? d.reason).split('\n')[0] });
    });
    return batch;
  };
  const rows: Matrix[] = [];
  const kept: number[] = [];
  const skipped: Skipped[] = [];
  let done = 0;
  let next = starts.length > 0 ? prepare(starts[0]) : undefined;
  for (let b = 0; b < starts.length; b++) {
    const batch = await next!;
    next = b + 1 < starts.length ? prepare(starts[b + 1]) : undefined;
    if (batch.images.length > 0) {
      rows.push(await backbone.embed(packBatch(batch.images, backbone.card), batch.images.length));
      kept.push(...batch.indices);
    }
    skipped.push(...batch.skipped);
    done += batch.images.length + batch.skipped.length;
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
