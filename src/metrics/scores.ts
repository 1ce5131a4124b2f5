import { accuracy, balancedAccuracy, f1, groupAccuracies, worstGroupAccuracy } from './classification.ts';

/** Metrics a dataset can name as its headline (the number in a record's `value` and in the study tables). */
export const HEADLINE_METRICS = {
  accuracy: (truth: ArrayLike<number>, pred: ArrayLike<number>) => accuracy(truth, pred),
  /** WILDS' iWildCam metric: F1 averaged over the classes present in the evaluated set. */
  macro_f1: (truth: ArrayLike<number>, pred: ArrayLike<number>, numClasses: number) => f1(truth, pred, numClasses, { classes: 'true' }),
} as const;
export type HeadlineMetric = keyof typeof HEADLINE_METRICS;

/** Per-row groups of an evaluated set (FMoW regions): names[of[i]] is row i's group. */
export interface RowGroups {
  field: string;
  names: readonly string[];
  of: ArrayLike<number>;
  /** Groups left out of the worst-group accuracy (WILDS leaves out FMoW's "Other" region). */
  excludeFromWorst?: readonly string[];
}

export interface ClassificationScores {
  metric: HeadlineMetric;
  value: number;
  accuracy: number;
  balanced_accuracy: number;
  /** Macro-F1 over the classes in truth or predictions (scikit-learn's default). */
  macro_f1: number;
  group_field?: string;
  worst_group_accuracy?: number;
  /** Every prediction is one class while the truth holds several: a degenerate model, flagged (CoOp-style seed collapse). */
  collapsed: boolean;
}

/** Whether all predictions are one class although the truth has at least two. */
function collapsedPredictions(truth: ArrayLike<number>, pred: ArrayLike<number>): boolean {
  if (pred.length < 2) return false;
  let one = true;
  let several = false;
  for (let i = 1; i < pred.length; i++) {
    if (pred[i] !== pred[0]) one = false;
    if (truth[i] !== truth[0]) several = true;
  }
  return one && several;
}

/** The scores a classification record holds: the headline metric in `value`, the others beside it. */
export function classificationScores(truth: ArrayLike<number>, pred: ArrayLike<number>, numClasses: number, headline: HeadlineMetric = 'accuracy', groups?: RowGroups): ClassificationScores {
  const scores: ClassificationScores = {
    metric: headline,
    value: HEADLINE_METRICS[headline](truth, pred, numClasses),
    accuracy: accuracy(truth, pred),
    balanced_accuracy: balancedAccuracy(truth, pred, numClasses),
    macro_f1: f1(truth, pred, numClasses),
    collapsed: collapsedPredictions(truth, pred),
  };
  if (groups) {
    const acc = groupAccuracies(truth, pred, groups.of, groups.names.length);
    Object.assign(scores, { group_field: groups.field, worst_group_accuracy: worstGroupAccuracy(acc, groups.names, groups.excludeFromWorst) });
  }
  return scores;
}
