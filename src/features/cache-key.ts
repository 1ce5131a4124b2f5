import { createHash } from 'node:crypto';
import type { Backbone } from '../backbones/types.ts';
import { sampleDigests } from '../data/content-digest.ts';
import type { Sample } from '../data/types.ts';

/**
 * One key per (card, layer, runtime, weights, and each image's id and content). A file's content is the sha256 of its
 * bytes (kept per file by size, mtime, ctime and inode: content-digest.ts), so an image replaced in place, even with
 * its size and mtime restored, gets another entry, and the same images in another folder share one; raw pixels
 * (MNIST) are identified by a hash of their bytes. The name the dataset was typed as plays no part.
 */
export async function featureKey(bb: Backbone, samples: readonly Sample[]): Promise<string> {
  const h = createHash('sha256');
  h.update(JSON.stringify({ v: 3, card: bb.card, layer: bb.tap, runtime: bb.runtime, weights: bb.weights }));
  const ids = await sampleDigests(samples);
  samples.forEach((s, i) => h.update(`${s.id}\0${ids[i]}\n`));
  return h.digest('hex').slice(0, 20);
}
