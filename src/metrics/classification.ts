/** Pure classification metrics over integer labels, as scikit-learn defines them. Example: accuracy([0,1,1],[0,1,0]) = 2/3. */

export function accuracy(truth: ArrayLike<number>, pred: ArrayLike<number>): number {
  checkSameLength(truth, pred);
  let hit = 0;
  for (let i = 0; i < truth.length; i++) if (truth[i] === pred[i]) hit++;
  return truth.length === 0 ? NaN : hit / truth.length;
}

/** [numClasses, numClasses] counts, rows = true class, columns = predicted class (scikit-learn's layout). */
export function confusionMatrix(truth: ArrayLike<number>, pred: ArrayLike<number>, numClasses: number): number[][] {
  checkSameLength(truth, pred);
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < truth.length; i++) m[truth[i]][pred[i]]++;
  return m;
}

/** Recall of each class present in `truth`; NaN for classes with no true samples. */
export function perClassRecall(truth: ArrayLike<number>, pred: ArrayLike<number>, numClasses: number): number[] {
  return confusionMatrix(truth, pred, numClasses).map((row, c) => {
    const n = row.reduce((a, b) => a + b, 0);
    return n === 0 ? NaN : row[c] / n;
  });
}

/** Mean recall over classes present in `truth` (scikit-learn's balanced_accuracy_score). */
export function balancedAccuracy(truth: ArrayLike<number>, pred: ArrayLike<number>, numClasses: number): number {
  const recalls = perClassRecall(truth, pred, numClasses).filter((r) => !Number.isNaN(r));
  return recalls.reduce((a, b) => a + b, 0) / recalls.length;
}

export interface F1Options {
  /** `macro`: unweighted mean over classes; `weighted`: mean weighted by each class's true count. */
  average?: 'macro' | 'weighted';
  /**
   * Which classes are averaged: `seen` = present in truth or predictions (scikit-learn's f1_score default);
   * `true` = present in truth only (scikit-learn with labels=unique(y_true), WILDS' macro-F1 for iWildCam).
   */
  classes?: 'seen' | 'true';
}

/**
 * F1 averaged over classes (scikit-learn's f1_score). Example: truth [0,0,1], pred [0,2,1], 3 classes: class 0 has
 * F1 2/3, class 1 has 1, class 2 (predicted, never true) 0; macro over seen classes 5/9, over true classes 5/6.
 */
export function f1(truth: ArrayLike<number>, pred: ArrayLike<number>, numClasses: number, opt: F1Options = {}): number {
  const cm = confusionMatrix(truth, pred, numClasses);
  let sum = 0;
  let weight = 0;
  for (let c = 0; c < numClasses; c++) {
    const support = cm[c].reduce((a, b) => a + b, 0);
    const predicted = cm.reduce((a, row) => a + row[c], 0);
    if (support === 0 && (opt.classes === 'true' || predicted === 0)) continue;
    const w = opt.average === 'weighted' ? support : 1;
    sum += w * (cm[c][c] === 0 ? 0 : (2 * cm[c][c]) / (support + predicted));
    weight += w;
  }
  return weight === 0 ? NaN : sum / weight;
}

/**
 * Share of rows whose true class is among the k highest scores ([n, K] row-major): top-1 and top-5 accuracy. Ties
 * rank the lower class first (so top-1 agrees with an argmax that keeps the first maximum); a NaN score counts as
 * −Infinity. Example: scores [0.25, 0.25, 0.5] with true class 1 rank it 3rd: 0 at k = 1 or 2, 1 at k = 3.
 */
export function topKAccuracy(truth: ArrayLike<number>, scores: ArrayLike<number>, numClasses: number, k: number): number {
  if (scores.length !== truth.length * numClasses) throw new RangeError(`scores hold ${scores.length} values, expected ${truth.length} rows x ${numClasses} classes`);
  const at = (i: number, c: number) => {
    const s = scores[i * numClasses + c];
    return Number.isNaN(s) ? -Infinity : s;
  };
  let hits = 0;
  for (let i = 0; i < truth.length; i++) {
    const own = at(i, truth[i]);
    let above = 0;
    for (let c = 0; c < numClasses; c++) {
      const s = at(i, c);
      if (s > own || (s === own && c < truth[i])) above++;
    }
    if (above < k) hits++;
  }
  return truth.length === 0 ? NaN : hits / truth.length;
}

/** Accuracy per group (NaN for a group with no samples): FMoW's per-region accuracy. */
export function groupAccuracies(truth: ArrayLike<number>, pred: ArrayLike<number>, group: ArrayLike<number>, numGroups: number): number[] {
  checkSameLength(truth, pred);
  checkSameLength(truth, group);
  const right = new Array<number>(numGroups).fill(0);
  const total = new Array<number>(numGroups).fill(0);
  for (let i = 0; i < truth.length; i++) {
    total[group[i]]++;
    if (truth[i] === pred[i]) right[group[i]]++;
  }
  return right.map((r, g) => (total[g] === 0 ? NaN : r / total[g]));
}

/** Lowest accuracy over the groups that have samples, leaving out `skip` (WILDS leaves out FMoW's "Other" region). */
export function worstGroupAccuracy(accuracies: readonly number[], names: readonly string[], skip: readonly string[] = []): number {
  const kept = accuracies.filter((a, g) => !Number.isNaN(a) && !skip.includes(names[g]));
  return kept.length ? Math.min(...kept) : NaN;
}

function checkSameLength(a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) throw new RangeError(`labels and predictions differ in length: ${a.length} vs ${b.length}`);
}
