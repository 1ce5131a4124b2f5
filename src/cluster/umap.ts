import type { Matrix } from '../util/matrix.ts';
import { seeded } from '../util/rng.ts';
import { fuzzySimplicialSet } from './fuzzy-graph.ts';
import { exactKnn } from './knn-graph.ts';
import { optimizeLayout } from './layout.ts';
import { spectralStart } from './spectral.ts';

export const UMAP_METRICS = ['euclidean', 'cosine'] as const;
export const UMAP_INITS = ['spectral', 'random'] as const;

export interface UmapSettings {
  neighbors: number;
  minDist: number;
  dims: number;
  metric: (typeof UMAP_METRICS)[number];
  seed: number;
  /** Layout epochs; 0 or absent = umap-learn's rule: 500 up to 10,000 points, 200 above. */
  epochs?: number;
  /** The layout's start: umap-learn's spectral one (the default) or umap-js's random one. */
  init?: (typeof UMAP_INITS)[number];
}

/** umap-learn's default epochs (simplicial_set_embedding). */
const umapLearnEpochs = (n: number) => (n <= 10_000 ? 500 : 200);

/**
 * UMAP as umap-learn runs it by default (a spectral start, its epoch rule), on umap-js's graph and layout code given
 * the exact nearest neighbours instead of its approximate NN-descent; with `init: 'random'` and umap-js's epochs, the
 * same kNN graph and generator give umap-js's embedding bit for bit (tested). Every random draw comes from `seed`.
 * Needs more points than neighbours. Returns the embedding [n][dims] and, when the spectral start could not be used
 * (several connected components), why.
 */
export async function umapLayout(x: Matrix, s: UmapSettings): Promise<{ points: number[][]; note?: string }> {
  if (x.rows <= s.neighbors) throw new RangeError(`UMAP with ${s.neighbors} neighbours needs more than ${s.neighbors} points; it has ${x.rows}`);
  const graph = fuzzySimplicialSet(await exactKnn(x, s.neighbors, s.metric));
  const random = seeded(s.seed);
  const spectral = (s.init ?? 'spectral') === 'spectral' ? spectralStart(graph, s.dims, random) : {};
  const emb = optimizeLayout(graph, { dims: s.dims, minDist: s.minDist, epochs: s.epochs || umapLearnEpochs(x.rows), start: spectral.start }, random);
  const points = Array.from({ length: x.rows }, (_, i) => Array.from(emb.subarray(i * s.dims, (i + 1) * s.dims)));
  return { points, ...(spectral.reason ? { note: `random UMAP start: ${spectral.reason}` } : {}) };
}

/** umapLayout's points alone. */
export async function umapEmbed(x: Matrix, s: UmapSettings): Promise<number[][]> {
  return (await umapLayout(x, s)).points;
}
