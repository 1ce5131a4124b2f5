import { decodeForCard, imagePacker } from './preprocess.ts';
import type { Card } from '../backbones/types.ts';
import type { ImageSource } from '../data/types.ts';
import { firstLine } from '../errors.ts';

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

/**
 * Decode + resize + crop every item (sharp's thread pool), packing each image into the batch as soon as it is
 * decoded, while its pixels are still in cache (packing the whole batch afterwards cost twice as much CPU).
 * Unreadable images are listed, never fatal.
 */
export async function prepareBatch(items: readonly BatchItem[], card: Card): Promise<PreparedBatch> {
  const per = card.input.height * card.input.width * 3;
  const pack = imagePacker(card);
  const input = new Float32Array(items.length * per);
  const decoded = await Promise.allSettled(items.map((s, i) => decodeForCard(s.source, card).then((img) => pack(img, input, i * per))));
  const kept: number[] = [];
  const skipped: Skipped[] = [];
  decoded.forEach((d, i) => {
    if (d.status === 'fulfilled') {
      if (kept.length < i) input.copyWithin(kept.length * per, i * per, (i + 1) * per);
      kept.push(i);
    } else skipped.push({ id: items[i].id, reason: firstLine(d.reason) });
  });
  return { input: kept.length === items.length ? input : input.slice(0, kept.length * per), kept, skipped };
}
