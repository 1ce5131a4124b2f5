import type { Card } from '../backbones/types.ts';
import type { Sample } from '../data/types.ts';
import type { Skipped } from './prepare-batch.ts';
import { prepareOffThread } from './preparer.ts';

/**
 * The images that cannot be decoded and preprocessed for `card`, found without running a model: what methods that
 * read images themselves (fine-tuning, explanation maps) need to know before a split is drawn.
 */
export async function unreadableImages(samples: readonly Sample[], card: Card, opt: { batchSize: number; onProgress?: (done: number, total: number) => void }): Promise<Skipped[]> {
  const skipped: Skipped[] = [];
  for (let start = 0; start < samples.length; start += opt.batchSize) {
    const batch = await prepareOffThread(samples.slice(start, start + opt.batchSize), card);
    skipped.push(...batch.skipped);
    opt.onProgress?.(Math.min(start + opt.batchSize, samples.length), samples.length);
  }
  return skipped;
}
