/** Classes kept per image with their scores. */
const TOP_K = 5;

/** One evaluated set's test predictions, per image: its id, true and predicted class, the top classes and their scores ([n, k] row-major). */
export interface Predictions {
  ids: string[];
  truth: ArrayLike<number>;
  pred: ArrayLike<number>;
  k: number;
  topClasses: ArrayLike<number>;
  topScores: ArrayLike<number>;
}

/** A clustering's assignments: per point its id, true class and cluster. */
export interface Assignments {
  ids: string[];
  truth: ArrayLike<number>;
  cluster: ArrayLike<number>;
}

/** [n, K] scores → the k best classes and their scores per row, best first. */
export function topOf(scores: ArrayLike<number>, K: number, k = Math.min(TOP_K, K)): { k: number; topClasses: Int32Array; topScores: Float32Array } {
  const n = scores.length / K;
  const topClasses = new Int32Array(n * k);
  const topScores = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    const order = Array.from({ length: K }, (_, c) => c).sort((a, b) => scores[i * K + b] - scores[i * K + a] || a - b);
    for (let j = 0; j < k; j++) {
      topClasses[i * k + j] = order[j];
      topScores[i * k + j] = scores[i * K + order[j]];
    }
  }
  return { k, topClasses, topScores };
}
