import { decodeForCard, packBatch } from '../backbones/preprocess.ts';
import type { Card } from '../backbones/types.ts';
import type { ImageSource } from '../data/types.ts';

export interface Skipped {
  id: string;
  reason: string;
}

/** What a batch needs to be prepared: plain data, so it can cross to a worker thread. */
export interface BatchItem {
  id: string;
  source: ImageSource;
}

export interface PreparedBatch {
  /** The decoded images packed in the card's layout, [kept.length, ...input]. */
  input: Float32Array;
  /** Positions (in the given items) of the images that decoded, in order. */
  kept: number[];
  skipped: Skipped[];
}

/** Decode + resize + crop every item (sharp's thread pool), then pack the ones that decoded. Unreadable images are listed, never fatal. */
export async function prepareBatch(items: readonly BatchItem[], card: Card): Promise<PreparedBatch> {
  const decoded = await Promise.allSettled(items.map((s) => decodeForCard(s.source, card)));
  const images: Uint8Array[] = [];
  const kept: number[] = [];
  const skipped: Skipped[] = [];
  decoded.forEach((d, i) => {
    if (d.status === 'fulfilled') {
      images.push(d.value);
      kept.push(i);
    } else skipped.push({ id: items[i].id, reason: String((d.reason as Error)?.message ?? d.reason).split('\n')[0] });
  });
  return { input: packBatch(images, card), kept, skipped };
}
