import { gemm } from '../util/gemm.ts';
import { centred, type Matrix } from '../util/matrix.ts';
import { seeded, type Rng } from '../util/rng.ts';

export interface KMeansFit {
  labels: Int32Array;
  /** Sum of squared distances of the points to their centres. */
  inertia: number;
  /** The restart that gave it (0-based). */
  restart: number;
}

const MAX_ITER = 300;
/** Stop when the centres move less than this fraction of the data's variance (scikit-learn's tol). */
const TOL = 1e-4;

/** Rows as a Matrix (the UMAP embedding comes as arrays). */
const asMatrix = (points: Matrix | number[][]): Matrix =>
  Array.isArray(points) ? { rows: points.length, cols: points[0]?.length ?? 0, data: Float32Array.from(points.flat()) } : points;

const sq = (a: Float32Array, i: number, b: Float64Array | Float32Array, j: number, d: number) => {
  let s = 0;
  for (let t = 0; t < d; t++) {
    const v = a[i * d + t] - b[j * d + t];
    s += v * v;
  }
  return s;
};

/** k-means++ (Arthur & Vassilvitskii): the first centre uniformly, each next one with probability ∝ squared distance. */
function plusPlus(x: Float32Array, n: number, d: number, k: number, rng: Rng): Float64Array {
  const centres = new Float64Array(k * d);
  const first = Math.floor(rng() * n);
  for (let t = 0; t < d; t++) centres[t] = x[first * d + t];
  const dist = new Float64Array(n);
  for (let i = 0; i < n; i++) dist[i] = sq(x, i, centres, 0, d);
  for (let c = 1; c < k; c++) {
    const total = dist.reduce((a, v) => a + v, 0);
    let pick = n - 1;
    if (total > 0) {
      let r = rng() * total;
      for (let i = 0; i < n; i++) {
        r -= dist[i];
        if (r < 0) {
          pick = i;
          break;
        }
      }
    } else pick = Math.floor(rng() * n);
    for (let t = 0; t < d; t++) centres[c * d + t] = x[pick * d + t];
    for (let i = 0; i < n; i++) dist[i] = Math.min(dist[i], sq(x, i, centres, c, d));
  }
  return centres;
}

/**
 * Lloyd's k-means from a k-means++ start, each assignment one matrix product on reprobe's GEMM kernels
 * (|x|² − 2 x·c + |c|²). By hand because ml-kmeans took about 3 s a restart on 2,100 x 576 features.
 */
async function lloyd(x: Float32Array, n: number, d: number, k: number, rng: Rng, variance: number): Promise<{ labels: Int32Array; inertia: number }> {
  let centres = plusPlus(x, n, d, k, rng);
  const labels = new Int32Array(n).fill(-1);
  const xx = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let t = 0; t < d; t++) xx[i] += x[i * d + t] * x[i * d + t];
  for (let iter = 0; iter < MAX_ITER; iter++) {
    const c32 = Float32Array.from(centres);
    const cc = new Float64Array(k);
    for (let c = 0; c < k; c++) for (let t = 0; t < d; t++) cc[c] += centres[c * d + t] * centres[c * d + t];
    const dots = await gemm(x, [n, d], c32, [k, d], { transB: true });
    let changed = 0;
    const far = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let best = 0;
      let bestD = Infinity;
      for (let c = 0; c < k; c++) {
        const dist = xx[i] - 2 * dots[i * k + c] + cc[c];
        if (dist < bestD) [best, bestD] = [c, dist];
      }
      if (labels[i] !== best) changed++;
      labels[i] = best;
      far[i] = bestD;
    }
    const next = new Float64Array(k * d);
    const count = new Int32Array(k);
    for (let i = 0; i < n; i++) {
      count[labels[i]]++;
      for (let t = 0; t < d; t++) next[labels[i] * d + t] += x[i * d + t];
    }
    for (let c = 0; c < k; c++) {
      if (count[c] === 0) {
        // An empty cluster takes the point farthest from its centre (scikit-learn relocates the same way).
        let worst = 0;
        for (let i = 1; i < n; i++) if (far[i] > far[worst]) worst = i;
        far[worst] = -1;
        for (let t = 0; t < d; t++) next[c * d + t] = x[worst * d + t];
      } else for (let t = 0; t < d; t++) next[c * d + t] /= count[c];
    }
    let shift = 0;
    for (let j = 0; j < next.length; j++) shift += (next[j] - centres[j]) ** 2;
    centres = next;
    if (changed === 0 || shift <= TOL * variance * d) break;
  }
  // The labels of the final centres, and their inertia in double precision.
  let inertia = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestD = Infinity;
    for (let c = 0; c < k; c++) {
      const dist = sq(x, i, centres, c, d);
      if (dist < bestD) [best, bestD] = [c, dist];
    }
    labels[i] = best;
    inertia += bestD;
  }
  return { labels, inertia };
}

/** k-means++ from `restarts` seeds derived from `seed`; the lowest inertia is kept (scikit-learn's n_init). */
export async function kmeansBest(points: Matrix | number[][], k: number, restarts: number, seed: number): Promise<KMeansFit> {
  const m = asMatrix(points);
  // k-means does not move with the data; centred, the products of the assignment step cancel less.
  const { data, sumSquares } = centred(m);
  const variance = sumSquares / Math.max(1, m.rows * m.cols);
  let best: KMeansFit | undefined;
  for (let r = 0; r < restarts; r++) {
    const fit = await lloyd(data, m.rows, m.cols, k, seeded((seed + Math.imul(r + 1, 0x9e3779b1)) >>> 0), variance);
    if (!best || fit.inertia < best.inertia) best = { ...fit, restart: r };
  }
  return best!;
}
