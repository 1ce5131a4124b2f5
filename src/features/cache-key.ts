import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Backbone } from '../backbones/types.ts';
import type { Sample } from '../data/types.ts';

/** Files stat'ed at once while keying: enough to hide latency, few enough not to exhaust file handles. */
const STAT_CONCURRENCY = 64;

/**
 * One key per (card, layer, runtime, weights, and each image's id and identity). A file's identity is its absolute
 * path, size and modification time, so another folder with the same layout, or an image edited in place, gets another
 * entry; raw pixels (MNIST) are identified by a hash of their bytes. The name the dataset was typed as plays no part.
 */
export async function featureKey(bb: Backbone, samples: readonly Sample[]): Promise<string> {
  const h = createHash('sha256');
  h.update(JSON.stringify({ v: 2, card: bb.card, layer: bb.tap, runtime: bb.runtime, weights: bb.weights }));
  const ids = await identities(samples);
  samples.forEach((s, i) => h.update(`${s.id}\0${ids[i]}\n`));
  return h.digest('hex').slice(0, 20);
}

async function identities(samples: readonly Sample[]): Promise<string[]> {
  const out = new Array<string>(samples.length);
  for (let start = 0; start < samples.length; start += STAT_CONCURRENCY) {
    await Promise.all(
      samples.slice(start, start + STAT_CONCURRENCY).map(async (s, j) => {
        out[start + j] = await identity(s);
      }),
    );
  }
  return out;
}

async function identity(s: Sample): Promise<string> {
  const src = s.source;
  if (src.kind === 'raw') return `raw:${src.width}x${src.height}x${src.channels}:${createHash('sha256').update(src.data).digest('hex')}`;
  const path = resolve(src.path);
  try {
    const st = await stat(path);
    return `file:${path}\0${st.size}\0${st.mtimeMs}`;
  } catch (err) {
    // Unreadable now (it will be skipped and listed); once it is fixed the key changes and it is read again.
    return `file:${path}\0${(err as { code?: string }).code ?? 'error'}`;
  }
}
