import { UMAP } from 'umap-js';
import { seeded } from '../util/rng.ts';

export const UMAP_METRICS = ['euclidean', 'cosine'] as const;

export interface UmapSettings {
  neighbors: number;
  minDist: number;
  dims: number;
  metric: (typeof UMAP_METRICS)[number];
  seed: number;
}

const cosine = (a: number[], b: number[]) => {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return 1 - dot / (Math.sqrt(na * nb) || 1);
};

/** umap-js, its every random draw from `seed` (the same seed gives the same embedding, bit for bit). */
export function umapEmbed(points: number[][], s: UmapSettings): number[][] {
  const umap = new UMAP({ nNeighbors: s.neighbors, minDist: s.minDist, nComponents: s.dims, random: seeded(s.seed), ...(s.metric === 'cosine' ? { distanceFn: cosine } : {}) });
  return umap.fit(points);
}
