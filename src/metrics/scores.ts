import { accuracy, balancedAccuracy, f1, groupAccuracies, worstGroupAccuracy } from './classification.ts';

/** Metrics a dataset can name as its headline (the number in a record's `value` and in the study tables). */
const HEADLINE_METRICS = {
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
}

/** The scores a classification record holds: the headline metric in `value`, the others beside it. */
export function classificationScores(truth: ArrayLike<number>, pred: ArrayLike<number>, numClasses: number, headline: HeadlineMetric = 'accuracy', groups?: RowGroups): ClassificationScores {
  const scores: ClassificationScores = {
    metric: headline,
    value: HEADLINE_METRICS[headline](truth, pred, numClasses),
    accuracy: accuracy(truth, pred),
    balanced_accuracy: balancedAccuracy(truth, pred, numClasses),
    macro_f1: f1(truth, pred, numClasses),
  };
  if (groups) {
    const acc = groupAccuracies(truth, pred, groups.of, groups.names.length);
    Object.assign(scores, { group_field: groups.field, worst_group_accuracy: worstGroupAccuracy(acc, groups.names, groups.excludeFromWorst) });
  }
  return scores;
}
