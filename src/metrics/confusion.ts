/**
 * Pure metrics read off a confusion matrix ([K, K] counts, rows = true class, columns = predicted class, as
 * confusionMatrix() builds it). Mean per-class recall is balancedAccuracy() in classification.ts (scikit-learn's
 * balanced_accuracy_score: the mean recall over the classes present in truth); top-k accuracy is topKAccuracy() there.
 */

/** One class's row of the per-class table. */
export interface PerClassRow {
  /** Class index (row of the confusion matrix). */
  label: number;
  /** True images of the class: its row sum. */
  support: number;
  /** Images predicted as the class: its column sum. */
  predicted: number;
  /** Images of the class predicted as it: the diagonal. */
  correct: number;
  /** correct / support; NaN for a class with no true images. */
  recall: number;
  /** correct / predicted; NaN for a class never predicted (scikit-learn reports 0 there, with a warning). */
  precision: number;
}

/**
 * [K, K] confusion → one row per class: support, predictions, recall and precision. Example: [[2, 1], [0, 3]] gives
 * class 0 support 3, predicted 2, recall 2/3, precision 1; class 1 support 3, predicted 4, recall 1, precision 3/4.
 */
export function perClassTable(confusion: readonly (readonly number[])[]): PerClassRow[] {
  const K = checkSquare(confusion);
  return confusion.map((row, c) => {
    const support = row.reduce((a, b) => a + b, 0);
    let predicted = 0;
    for (let t = 0; t < K; t++) predicted += confusion[t][c];
    const correct = row[c];
    return { label: c, support, predicted, correct, recall: support === 0 ? NaN : correct / support, precision: predicted === 0 ? NaN : correct / predicted };
  });
}

/** Accuracy above chance: acc1 − 1/N for N classes (0 for a uniform random or constant classifier on balanced data). */
export function chanceAdjustedAccuracy(acc1: number, numClasses: number): number {
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new RangeError(`numClasses must be a whole number >= 1, got ${numClasses}`);
  return acc1 - 1 / numClasses;
}

/** Two classes mistaken for each other, with the counts their IoU is made of. */
export interface ConfusedPair {
  /** Class indices, a < b. */
  a: number;
  b: number;
  /** (m_ab + m_ba) / (n_a + n_b). */
  iou: number;
  /** Images of a predicted as b, and of b predicted as a. */
  m_ab: number;
  m_ba: number;
  /** True images of a and of b (row sums). */
  n_a: number;
  n_b: number;
}

/**
 * [K, K] confusion → the `top` class pairs (a < b) most mistaken for each other, by IoU(a, b) = (m_ab + m_ba) / (n_a + n_b)
 * (the study's "common mistakes" table), highest first; equal IoUs rank by a, then b. Pairs never confused (IoU 0)
 * are left out, so fewer than `top` may come back. Example: [[8, 2, 0], [1, 9, 0], [0, 3, 7]] gives (0, 1) with IoU
 * 3/20 = 0.15, then (1, 2) with 3/20 = 0.15 ranked after it by a, and no (0, 2).
 */
export function confusedPairs(confusion: readonly (readonly number[])[], top: number): ConfusedPair[] {
  const K = checkSquare(confusion);
  if (!(Number.isInteger(top) || top === Infinity) || top < 0) throw new RangeError(`top must be a whole number >= 0, got ${top}`);
  const n = confusion.map((row) => row.reduce((s, v) => s + v, 0));
  const pairs: ConfusedPair[] = [];
  for (let a = 0; a < K; a++)
    for (let b = a + 1; b < K; b++) {
      const [m_ab, m_ba] = [confusion[a][b], confusion[b][a]];
      if (m_ab + m_ba === 0) continue;
      pairs.push({ a, b, iou: (m_ab + m_ba) / (n[a] + n[b]), m_ab, m_ba, n_a: n[a], n_b: n[b] });
    }
  // Generated in (a, b) order and sorted stably: equal IoUs keep that order.
  return pairs.sort((p, q) => q.iou - p.iou).slice(0, top);
}

function checkSquare(confusion: readonly (readonly number[])[]): number {
  const K = confusion.length;
  const bad = confusion.findIndex((row) => row.length !== K);
  if (bad >= 0) throw new RangeError(`the confusion matrix must be square: row ${bad} has ${confusion[bad].length} entries, expected ${K}`);
  return K;
}
