import { gemm } from '../runtime/gemm.ts';
import { l2Normalized, type Matrix } from '../util/matrix.ts';
import { topK } from '../util/topk.ts';

export interface KnnOptions {
  k: number;
  /** `weighted`: DINO's vote, sum of exp(sim / temperature) per class; `majority`: one vote per neighbour. */
  vote: 'weighted' | 'majority';
  temperature: number;
}

/** Similarities are computed for as many queries at a time as fit in about 16 MB (faster than larger blocks). */
const SIM_BUDGET = 4 * 1024 * 1024;

/**
 * Exact cosine kNN. train [n,d] with labels [n], queries [m,d] → predicted class [m] and class scores [m,C].
 * Ties go to the lower class id, as in scikit-learn's KNeighborsClassifier (its mode picks the smallest label).
 */
export async function knnPredict(train: Matrix, labels: ArrayLike<number>, numClasses: number, queries: Matrix, opt: KnnOptions): Promise<{ pred: Int32Array; scores: Float32Array }> {
  const k = Math.min(opt.k, train.rows);
  const bank = l2Normalized(train);
  const q = l2Normalized(queries);
  const d = train.cols;
  const pred = new Int32Array(q.rows);
  const scores = new Float32Array(q.rows * numClasses);
  const topSim = new Float32Array(k);
  const topIdx = new Int32Array(k);
  const chunk = Math.max(1, Math.floor(SIM_BUDGET / Math.max(1, train.rows)));
  for (let start = 0; start < q.rows; start += chunk) {
    const end = Math.min(q.rows, start + chunk);
    // sims [end - start, n] = Q Bᵀ
    const sims = await gemm(q.data.subarray(start * d, end * d), [end - start, d], bank.data, [train.rows, d], { transB: true });
    for (let i = start; i < end; i++) {
      topK(sims, (i - start) * train.rows, train.rows, k, topSim, topIdx);
      const row = scores.subarray(i * numClasses, (i + 1) * numClasses);
      vote(topSim, topIdx, labels, opt, row);
      pred[i] = argmax(row);
      normalize(row);
    }
  }
  return { pred, scores };
}

/** The neighbours' votes per class into `row`. */
function vote(topSim: Float32Array, topIdx: Int32Array, labels: ArrayLike<number>, opt: KnnOptions, row: Float32Array): void {
  for (let t = 0; t < topSim.length; t++) row[labels[topIdx[t]]] += opt.vote === 'weighted' ? Math.exp(topSim[t] / opt.temperature) : 1;
}

/** Votes → shares summing to 1. */
function normalize(row: Float32Array): void {
  let total = 0;
  for (let c = 0; c < row.length; c++) total += row[c];
  for (let c = 0; c < row.length; c++) row[c] /= total;
}

/** Index of the first maximum: vote ties go to the lower class id. */
function argmax(row: Float32Array): number {
  let best = 0;
  for (let c = 1; c < row.length; c++) if (row[c] > row[best]) best = c;
  return best;
}
