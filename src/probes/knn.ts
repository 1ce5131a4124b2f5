import type { Matrix } from '../util/matrix.ts';
import { l2Normalized } from './features.ts';

export interface KnnOptions {
  k: number;
  /** `weighted`: DINO's vote, sum of exp(sim / temperature) per class; `majority`: one vote per neighbour. */
  vote: 'weighted' | 'majority';
  temperature: number;
}

const QUERY_CHUNK = 256;

/**
 * sims[(i - start) * n + j] = <q_i, b_j> for queries start..end-1: four queries per pass over a bank row, so each
 * bank value is loaded once for four products (about 4x the plain loop in V8). Each sum runs over c in order, so the
 * values equal the plain loop's.
 */
function similarities(qd: Float32Array, bd: Float32Array, d: number, start: number, end: number, n: number, sims: Float32Array): void {
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const q0 = i * d;
    const q1 = q0 + d;
    const q2 = q1 + d;
    const q3 = q2 + d;
    const so = (i - start) * n;
    for (let j = 0; j < n; j++) {
      const bo = j * d;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let c = 0; c < d; c++) {
        const b = bd[bo + c];
        s0 += qd[q0 + c] * b;
        s1 += qd[q1 + c] * b;
        s2 += qd[q2 + c] * b;
        s3 += qd[q3 + c] * b;
      }
      sims[so + j] = s0;
      sims[so + n + j] = s1;
      sims[so + 2 * n + j] = s2;
      sims[so + 3 * n + j] = s3;
    }
  }
  for (; i < end; i++) {
    const qo = i * d;
    const so = (i - start) * n;
    for (let j = 0; j < n; j++) {
      const bo = j * d;
      let s = 0;
      for (let c = 0; c < d; c++) s += qd[qo + c] * bd[bo + c];
      sims[so + j] = s;
    }
  }
}

/**
 * Exact cosine kNN. train [n,d] with labels [n], queries [m,d] → predicted class [m] and class scores [m,C].
 * Ties go to the lower class id, as in scikit-learn's KNeighborsClassifier (its mode picks the smallest label).
 */
export function knnPredict(train: Matrix, labels: ArrayLike<number>, numClasses: number, queries: Matrix, opt: KnnOptions): { pred: Int32Array; scores: Float32Array } {
  const k = Math.min(opt.k, train.rows);
  const bank = l2Normalized(train);
  const q = l2Normalized(queries);
  const d = train.cols;
  const pred = new Int32Array(q.rows);
  const scores = new Float32Array(q.rows * numClasses);
  const sims = new Float32Array(QUERY_CHUNK * train.rows);
  const topSim = new Float32Array(k);
  const topIdx = new Int32Array(k);
  for (let start = 0; start < q.rows; start += QUERY_CHUNK) {
    const end = Math.min(q.rows, start + QUERY_CHUNK);
    similarities(q.data, bank.data, d, start, end, train.rows, sims);
    for (let i = start; i < end; i++) {
      const so = (i - start) * train.rows;
      let filled = 0;
      // Insertion into a sorted top-k: k is small (≤ 100), n can be large.
      for (let j = 0; j < train.rows; j++) {
        const s = sims[so + j];
        if (filled === k && s <= topSim[k - 1]) continue;
        let p = filled < k ? filled++ : k - 1;
        while (p > 0 && topSim[p - 1] < s) {
          topSim[p] = topSim[p - 1];
          topIdx[p] = topIdx[p - 1];
          p--;
        }
        topSim[p] = s;
        topIdx[p] = j;
      }
      const row = scores.subarray(i * numClasses, (i + 1) * numClasses);
      for (let t = 0; t < k; t++) row[labels[topIdx[t]]] += opt.vote === 'weighted' ? Math.exp(topSim[t] / opt.temperature) : 1;
      let best = 0;
      for (let c = 1; c < numClasses; c++) if (row[c] > row[best]) best = c;
      pred[i] = best;
      let total = 0;
      for (let c = 0; c < numClasses; c++) total += row[c];
      for (let c = 0; c < numClasses; c++) row[c] /= total;
    }
  }
  return { pred, scores };
}
