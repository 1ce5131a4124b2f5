import { PROBE_DEFAULTS } from '../config/defaults.ts';
import { fitLogReg, predictProba, type LogRegModel } from './logreg.ts';
import { accuracy } from './metrics.ts';
import type { Probe, ProbeInput, ProbeOutput } from './types.ts';

/** C swept over `cGrid` (ascending, warm-started) on val: best accuracy, ties broken by lower val log-loss. */
export function runLogRegProbe(input: ProbeInput, cGrid: readonly number[] = PROBE_DEFAULTS.lr.cGrid): ProbeOutput {
  const { maxIter, tol } = PROBE_DEFAULTS.lr;
  let best: { model: LogRegModel; acc: number; loss: number; C: number } | undefined;
  let prev: LogRegModel | undefined;
  const grid = input.val.rows > 0 ? [...cGrid].sort((a, b) => a - b) : [PROBE_DEFAULTS.lr.defaultC];
  for (const C of grid) {
    const model = fitLogReg(input.train, input.trainLabels, input.numClasses, { C, maxIter, tol }, prev);
    prev = model;
    if (input.val.rows === 0) {
      best = { model, acc: NaN, loss: NaN, C };
      break;
    }
    const proba = predictProba(model, input.val);
    const acc = accuracy(input.valLabels, argmaxRows(proba, input.numClasses));
    const loss = logLoss(proba, input.valLabels, input.numClasses);
    if (!best || acc > best.acc || (acc === best.acc && loss < best.loss)) best = { model, acc, loss, C };
  }
  const chosen = best!;
  const testScores = predictProba(chosen.model, input.test);
  return {
    testPred: argmaxRows(testScores, input.numClasses),
    testScores,
    valAccuracy: chosen.acc,
    chosen: { C: chosen.C, iterations: chosen.model.iterations },
  };
}

/** [m,K] scores → [m] argmax (first max wins). */
export function argmaxRows(scores: ArrayLike<number>, K: number): Int32Array {
  const out = new Int32Array(scores.length / K);
  for (let i = 0; i < out.length; i++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (scores[i * K + k] > scores[i * K + best]) best = k;
    out[i] = best;
  }
  return out;
}

function logLoss(proba: Float64Array, labels: Int32Array, K: number): number {
  let s = 0;
  for (let i = 0; i < labels.length; i++) s -= Math.log(Math.max(proba[i * K + labels[i]], 1e-15));
  return s / labels.length;
}

export const logRegProbe: Probe = {
  name: 'lr',
  summary: 'multinomial L2 logistic regression (L-BFGS) on standardised features, C chosen on val',
  run: (input) => runLogRegProbe(input),
};
