import { gemm } from '../runtime/gemm.ts';
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
/**
 * Stop when the centres' squared shifts sum to at most this times the mean per-feature variance: scikit-learn's `tol`,
 * applied as its `_tolerance` does (not times the dimensions, which stopped reprobe d times earlier).
 */
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

/**
 * Greedy k-means++ (the variant Arthur & Vassilvitskii tried; scikit-learn's `_kmeans_plusplus`, ml-kmeans): the first
 * centre uniformly; for each next one, 2 + ⌊ln k⌋ candidates drawn with probability ∝ squared distance, and the one
 * that leaves the lowest total squared distance is kept. Plain k-means++ (one draw) started worse on real features.
 * Candidate distances are one matrix product each step (|x|² − 2 x·c + |c|²).
 */
async function greedyPlusPlus(x: Float32Array, xx: Float64Array, n: number, d: number, k: number, rng: Rng): Promise<Float64Array> {
  const trials = 2 + Math.floor(Math.log(k));
  const centres = new Float64Array(k * d);
  const first = Math.floor(rng() * n);
  for (let t = 0; t < d; t++) centres[t] = x[first * d + t];
  let closest: Float64Array = new Float64Array(n);
  for (let i = 0; i < n; i++) closest[i] = sq(x, i, centres, 0, d);
  let pot = closest.reduce((a, v) => a + v, 0);
  const cumsum = new Float64Array(n);
  for (let c = 1; c < k; c++) {
    let run = 0;
    for (let i = 0; i < n; i++) cumsum[i] = run += closest[i];
    // np.searchsorted(cumsum, r) (the first index with cumsum ≥ r), clipped to the last point.
    const ids = Array.from({ length: trials }, () => Math.min(n - 1, lowerBound(cumsum, rng() * pot)));
    const cand = new Float32Array(trials * d);
    ids.forEach((id, j) => cand.set(x.subarray(id * d, (id + 1) * d), j * d));
    // Below a few dimensions a loop beats the call into onnxruntime (UMAP's 2-D output).
    const dots = d > SMALL_D ? await gemm(x, [n, d], cand, [trials, d], { transB: true }) : loopDots(x, n, d, cand, trials);
    let best: { j: number; pot: number; dist: Float64Array } | undefined;
    for (let j = 0; j < trials; j++) {
      const id = ids[j];
      const dist = new Float64Array(n);
      let total = 0;
      for (let i = 0; i < n; i++) {
        dist[i] = Math.min(closest[i], Math.max(0, xx[i] - 2 * dots[i * trials + j] + xx[id]));
        total += dist[i];
      }
      if (!best || total < best.pot) best = { j, pot: total, dist };
    }
    [closest, pot] = [best!.dist, best!.pot];
    for (let t = 0; t < d; t++) centres[c * d + t] = x[ids[best!.j] * d + t];
  }
  return centres;
}

const SMALL_D = 8;

/** x [n,d] · cand [t,d]ᵀ → [n,t], in double precision. */
function loopDots(x: Float32Array, n: number, d: number, cand: Float32Array, t: number): Float64Array {
  const out = new Float64Array(n * t);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < t; j++) {
      let s = 0;
      for (let u = 0; u < d; u++) s += x[i * d + u] * cand[j * d + u];
      out[i * t + j] = s;
    }
  return out;
}

/** The first index whose value is ≥ v in an ascending array (its length when none is). */
function lowerBound(a: Float64Array, v: number): number {
  let [lo, hi] = [0, a.length];
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

interface Lloyd {
  labels: Int32Array;
  inertia: number;
  /** Assignment steps run, counted as scikit-learn's `n_iter_`. */
  iterations: number;
}

/**
 * Lloyd's k-means from the given centres [k,d], each assignment one matrix product on reprobe's GEMM kernels
 * (|x|² − 2 x·c + |c|²). By hand because ml-kmeans took about 3 s a restart on 2,100 x 576 features.
 */
async function lloyd(x: Float32Array, xx: Float64Array, n: number, d: number, k: number, init: Float64Array, variance: number): Promise<Lloyd> {
  let centres = init;
  const labels = new Int32Array(n).fill(-1);
  let iterations = 0;
  for (let iter = 0; iter < MAX_ITER; iter++) {
    iterations = iter + 1;
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
    if (changed === 0 || shift <= TOL * variance) break;
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
  return { labels, inertia, iterations };
}

/** |row|² of x [n,d], in double precision. */
function rowNorms(x: Float32Array, n: number, d: number): Float64Array {
  const xx = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let t = 0; t < d; t++) xx[i] += x[i * d + t] * x[i * d + t];
  return xx;
}

/** The data centred (k-means does not move with it, and centred products cancel less) and its mean per-feature variance. */
function prepared(m: Matrix): { x: Float32Array; xx: Float64Array; mean: Float64Array; variance: number } {
  const { data, sumSquares } = centred(m);
  const mean = new Float64Array(m.cols);
  for (let i = 0; i < m.rows; i++) for (let t = 0; t < m.cols; t++) mean[t] += m.data[i * m.cols + t] / m.rows;
  return { x: data, xx: rowNorms(data, m.rows, m.cols), mean, variance: sumSquares / Math.max(1, m.rows * m.cols) };
}

/** Lloyd's iterations from given centres init [k,d] (no k-means++), as scikit-learn's KMeans(init=array, n_init=1). */
export async function kmeansFrom(points: Matrix | number[][], init: Matrix): Promise<Lloyd> {
  const m = asMatrix(points);
  const { x, xx, mean, variance } = prepared(m);
  const start = Float64Array.from(init.data, (v, j) => v - mean[j % m.cols]);
  return lloyd(x, xx, m.rows, m.cols, init.rows, start, variance);
}

/** Greedy k-means++ then Lloyd's, from `restarts` seeds derived from `seed`; the lowest inertia is kept (scikit-learn's n_init). */
export async function kmeansBest(points: Matrix | number[][], k: number, restarts: number, seed: number): Promise<KMeansFit> {
  const m = asMatrix(points);
  const { x, xx, variance } = prepared(m);
  let best: KMeansFit | undefined;
  for (let r = 0; r < restarts; r++) {
    const start = await greedyPlusPlus(x, xx, m.rows, m.cols, k, seeded((seed + Math.imul(r + 1, 0x9e3779b1)) >>> 0));
    const { labels, inertia } = await lloyd(x, xx, m.rows, m.cols, k, start, variance);
    if (!best || inertia < best.inertia) best = { labels, inertia, restart: r };
  }
  return best!;
}
