import { kmeans } from 'ml-kmeans';

export interface KMeansFit {
  labels: Int32Array;
  /** Sum of squared distances of the points to their centres. */
  inertia: number;
  /** The restart that gave it (0-based). */
  restart: number;
}

/** k-means++ from `restarts` seeds derived from `seed`; the lowest inertia is kept (scikit-learn's n_init). */
export function kmeansBest(points: number[][], k: number, restarts: number, seed: number): KMeansFit {
  let best: KMeansFit | undefined;
  for (let r = 0; r < restarts; r++) {
    const fit = kmeans(points, k, { initialization: 'kmeans++', seed: (seed + Math.imul(r + 1, 0x9e3779b1)) >>> 0, maxIterations: 300, tolerance: 1e-6 });
    let inertia = 0;
    points.forEach((p, i) => {
      const c = fit.centroids[fit.clusters[i]];
      for (let j = 0; j < p.length; j++) inertia += (p[j] - c[j]) ** 2;
    });
    if (!best || inertia < best.inertia) best = { labels: Int32Array.from(fit.clusters), inertia, restart: r };
  }
  return best!;
}
