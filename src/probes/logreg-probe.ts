import { PROBE_DEFAULTS } from '../config/defaults.ts';
import { vstack } from '../util/matrix.ts';
import { fitLogRegData, logRegData, predictProba, type LogRegModel } from './logreg.ts';
import { accuracy } from './metrics.ts';
import type { Probe, ProbeInput, ProbeOptions, ProbeOutput } from './types.ts';

type LogRegProbeOptions = Pick<ProbeOptions, 'lrC' | 'lrRefit'>;
const DEFAULTS: LogRegProbeOptions = { lrC: PROBE_DEFAULTS.lr.cGrid, lrRefit: PROBE_DEFAULTS.lr.refit };

/**
 * C swept over `lrC` (ascending, warm-started, features standardized once) on val: best accuracy, ties broken by
 * lower val log-loss. The final model is that fit, or with `lrRefit: 'train+val'` a refit at the chosen C on both.
 */
export async function runLogRegProbe(input: ProbeInput, opt: LogRegProbeOptions = DEFAULTS): Promise<ProbeOutput> {
  const { maxIter, tol } = PROBE_DEFAULTS.lr;
  const data = logRegData(input.train, input.trainLabels, input.numClasses);
  let best: { model: LogRegModel; acc: number; loss: number; C: number } | undefined;
  let prev: LogRegModel | undefined;
  const grid = input.val.rows > 0 ? [...new Set(opt.lrC)].sort((a, b) => a - b) : [opt.lrC.length === 1 ? opt.lrC[0] : PROBE_DEFAULTS.lr.defaultC];
  for (const C of grid) {
    const model = await fitLogRegData(data, { C, maxIter, tol }, prev);
    prev = model;
    if (input.val.rows === 0) {
      best = { model, acc: NaN, loss: NaN, C };
      break;
    }
    const proba = await predictProba(model, input.val);
    const acc = accuracy(input.valLabels, argmaxRows(proba, input.numClasses));
    const loss = logLoss(proba, input.valLabels, input.numClasses);
    if (!best || acc > best.acc || (acc === best.acc && loss < best.loss)) best = { model, acc, loss, C };
  }
  const chosen = best!;
  let final = chosen.model;
  const refit = opt.lrRefit === 'train+val' && input.val.rows > 0;
  if (refit) {
    const both = logRegData(vstack([input.train, input.val]), Int32Array.from([...input.trainLabels, ...input.valLabels]), input.numClasses);
    final = await fitLogRegData(both, { C: chosen.C, maxIter, tol });
  }
  const testScores = await predictProba(final, input.test);
  return {
    testPred: argmaxRows(testScores, input.numClasses),
    testScores,
    valAccuracy: chosen.acc,
    chosen: { C: chosen.C, iterations: final.iterations, fit_on: refit ? 'train+val' : 'train' },
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
  summary: 'multinomial L2 logistic regression (L-BFGS) on standardised features, C swept on val',
  run: runLogRegProbe,
};
