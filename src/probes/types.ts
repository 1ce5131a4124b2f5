import type { Matrix } from '../util/matrix.ts';

/** Features and labels of the three split parts; labels are class ids < numClasses. */
export interface ProbeInput {
  train: Matrix;
  trainLabels: Int32Array;
  val: Matrix;
  valLabels: Int32Array;
  test: Matrix;
  testLabels: Int32Array;
  numClasses: number;
}

export interface ProbeOutput {
  /** Predicted class per test row. */
  testPred: Int32Array;
  /** [test rows, numClasses] class scores (probabilities for lr, vote shares for knn). */
  testScores: Float32Array | Float64Array;
  /** Accuracy on the validation split at the chosen hyper-parameters (NaN when val is empty). */
  valAccuracy: number;
  /** Hyper-parameters chosen on val, e.g. { k: 10 } or { C: 0.1 }. */
  chosen: Record<string, number | string>;
}

/** Probe hyper-parameters a job can set; defaults in PROBE_DEFAULTS. */
export interface ProbeOptions {
  /** One k: used as is; several: the one with the best val accuracy. k above the training size is clamped to it. */
  knnK: readonly number[];
  knnVote: 'weighted' | 'majority';
  /** Inverse regularization strengths swept on val (one: no sweep). */
  lrC: readonly number[];
  /** Final LR model: the sweep's fit on train, or a refit at the chosen C on train + val. */
  lrRefit: 'train' | 'train+val';
}

/** A registered probe: a function of features (async: its matrix products run on onnxruntime). */
export interface Probe {
  name: string;
  summary: string;
  run(input: ProbeInput, options: ProbeOptions): Promise<ProbeOutput>;
}
