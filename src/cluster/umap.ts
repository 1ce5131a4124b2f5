import type { Matrix } from '../util/matrix.ts';
import { seeded } from '../util/rng.ts';
import { fuzzySimplicialSet } from './fuzzy-graph.ts';
import { exactKnn } from './knn-graph.ts';
import { optimizeLayout } from './layout.ts';

export const UMAP_METRICS = ['euclidean', 'cosine'] as const;

export interface UmapSettings {
  neighbors: number;
  minDist: number;
  dims: number;
  metric: (typeof UMAP_METRICS)[number];
  seed: number;
  /** Layout epochs; 0 or absent = umap-js's rule by the number of points. */
  epochs?: number;
}

/**
 * UMAP as umap-js computes it, given the exact nearest neighbours instead of its approximate NN-descent: with the
 * same kNN graph and generator the embedding equals umap-js's bit for bit (tested). Every random draw comes from
 * `seed`. Needs more points than neighbours. Returns [n][dims].
 */
export async function umapEmbed(x: Matrix, s: UmapSettings): Promise<number[][]> {
  if (x.rows <= s.neighbors) throw new RangeError(`UMAP with ${s.neighbors} neighbours needs more than ${s.neighbors} points; it has ${x.rows}`);
  const graph = fuzzySimplicialSet(await exactKnn(x, s.neighbors, s.metric));
  const emb = optimizeLayout(graph, { dims: s.dims, minDist: s.minDist, epochs: s.epochs }, seeded(s.seed));
  return Array.from({ length: x.rows }, (_, i) => Array.from(emb.subarray(i * s.dims, (i + 1) * s.dims)));
}
