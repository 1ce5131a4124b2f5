import { gemm } from '../runtime/gemm.ts';
import { centred, l2Normalized, type Matrix } from '../util/matrix.ts';
import { topK } from '../util/topk.ts';

export type KnnMetric = 'euclidean' | 'cosine';

/** Each point's k nearest points, itself first: row-major [n, k] indices and distances (ascending). */
export interface KnnGraph {
  n: number;
  k: number;
  indices: Int32Array;
  distances: Float64Array;
}

/** Score blocks of about 16 MB (as the kNN probe). */
const BLOCK_BUDGET = 4 * 1024 * 1024;

/** The distance umap-js would compute, in double precision: Euclidean, or 1 − cosine similarity (0 between two zero rows, 1 with one). */
function distance(x: Float32Array, i: number, j: number, d: number, metric: KnnMetric): number {
  let s = 0;
  let ni = 0;
  let nj = 0;
  for (let a = i * d, b = j * d, end = a + d; a < end; a++, b++) {
    if (metric === 'euclidean') {
      const t = x[a] - x[b];
      s += t * t;
    } else {
      s += x[a] * x[b];
      ni += x[a] * x[a];
      nj += x[b] * x[b];
    }
  }
  if (metric === 'euclidean') return Math.sqrt(s);
  if (ni === 0 && nj === 0) return 0;
  return ni === 0 || nj === 0 ? 1 : 1 - s / Math.sqrt(ni * nj);
}

/**
 * The exact k-nearest-neighbour graph, candidates ranked by one matrix product per block on reprobe's GEMM kernels
 * (x·y − |y|²/2 for Euclidean, x̂·ŷ for cosine), their distances then recomputed in double precision. This is what
 * umap-js's approximate NN-descent costs most of its time on; umap-learn computes exact neighbours too on small data (below 4,096 points).
 */
export async function exactKnn(x: Matrix, k: number, metric: KnnMetric): Promise<KnnGraph> {
  const { rows: n, cols: d } = x;
  if (k < 1 || k > n) throw new RangeError(`exactKnn: k = ${k} with ${n} points`);
  // Euclidean ranks on centred features: distances do not change, and x·y − |y|²/2 in float32 cancels far less.
  const bank = metric === 'cosine' ? l2Normalized(x).data : centred(x).data;
  const bias = new Float32Array(n);
  if (metric === 'euclidean') {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let c = j * d; c < (j + 1) * d; c++) s += bank[c] * bank[c];
      bias[j] = -s / 2;
    }
  }
  const indices = new Int32Array(n * k);
  const distances = new Float64Array(n * k);
  const topVal = new Float32Array(k);
  const topIdx = new Int32Array(k);
  const order = Array.from({ length: k }, (_, t) => t);
  const dist = new Float64Array(k);
  const block = Math.max(1, Math.floor(BLOCK_BUDGET / n));
  for (let start = 0; start < n; start += block) {
    const end = Math.min(n, start + block);
    const scores = await gemm(bank.subarray(start * d, end * d), [end - start, d], bank, [n, d], { transB: true, ...(metric === 'euclidean' ? { bias } : {}) });
    for (let i = start; i < end; i++) {
      topK(scores, (i - start) * n, n, k, topVal, topIdx);
      // The point itself leads its row even among duplicates of it (UMAP's local connectivity skips the first entry).
      let self = topIdx.indexOf(i);
      if (self < 0) self = k - 1;
      topIdx[self] = i;
      for (let t = 0; t < k; t++) dist[t] = topIdx[t] === i ? 0 : distance(x.data, i, topIdx[t], d, metric);
      order.sort((a, b) => (a === self ? -1 : b === self ? 1 : dist[a] - dist[b] || topIdx[a] - topIdx[b]));
      for (let t = 0; t < k; t++) {
        indices[i * k + t] = topIdx[order[t]];
        distances[i * k + t] = dist[order[t]];
      }
    }
  }
  return { n, k, indices, distances };
}
