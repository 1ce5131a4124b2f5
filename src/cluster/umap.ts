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

/** Where a UMAP's time went (wall seconds), for bench:cluster's per-epoch comparison. */
export interface UmapTimings {
  /** Nearest neighbours and the fuzzy graph. */
  graph: number;
  /** The spectral start (0 for a random one). */
  start: number;
  /** The layout's epochs. */
  layout: number;
  epochs: number;
}

/** umap-learn's default epochs (simplicial_set_embedding). */
const umapLearnEpochs = (n: number) => (n <= 10_000 ? 500 : 200);

/**
 * UMAP as umap-learn runs it by default (a spectral start, its epoch rule), on umap-js's graph and layout code given
 * the exact nearest neighbours instead of its approximate NN-descent; with `init: 'random'` and umap-js's epochs, the
 * same kNN graph and generator give umap-js's embedding bit for bit (tested). Every random draw comes from `seed`.
 * Needs more points than neighbours. Returns the embedding [n][dims], when the spectral start could not be used
 * (several connected components) why, and where the time went.
 */
export async function umapLayout(x: Matrix, s: UmapSettings): Promise<{ points: number[][]; note?: string; seconds: UmapTimings }> {
  if (x.rows <= s.neighbors) throw new RangeError(`UMAP with ${s.neighbors} neighbours needs more than ${s.neighbors} points; it has ${x.rows}`);
  const t0 = performance.now();
  const graph = fuzzySimplicialSet(await exactKnn(x, s.neighbors, s.metric));
  const t1 = performance.now();
  const random = seeded(s.seed);
  const spectral = (s.init ?? 'spectral') === 'spectral' ? spectralStart(graph, s.dims, random) : {};
  const t2 = performance.now();
  const epochs = s.epochs || umapLearnEpochs(x.rows);
  const emb = optimizeLayout(graph, { dims: s.dims, minDist: s.minDist, epochs, start: spectral.start }, random);
  const t3 = performance.now();
  const points = Array.from({ length: x.rows }, (_, i) => Array.from(emb.subarray(i * s.dims, (i + 1) * s.dims)));
  const seconds = { graph: (t1 - t0) / 1000, start: (t2 - t1) / 1000, layout: (t3 - t2) / 1000, epochs };
  return { points, seconds, ...(spectral.reason ? { note: `random UMAP start: ${spectral.reason}` } : {}) };
}

/** umapLayout's points alone. */
export async function umapEmbed(x: Matrix, s: UmapSettings): Promise<number[][]> {
  return (await umapLayout(x, s)).points;
}
