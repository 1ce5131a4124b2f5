import { z } from 'zod';
import { accuracy } from '../metrics/classification.ts';
import { argmaxRows, vstack } from '../util/matrix.ts';
import { defaultsOf } from '../util/options.ts';
import { fitLogRegData, logRegData, predictProba, type LogRegModel } from './logreg.ts';
import { CHOSEN_FROM, defineProbe, type ProbeInput, type ProbeOutput } from './types.ts';

export const LR_OPTIONS = {
  /** C log grid swept on val, as CLIP-style linear probes do. */
  lrC: z.array(z.number().positive().finite()).min(1).default([1e-3, 1e-2, 1e-1, 1, 10, 100]),
  /** Final model: the sweep's fit on train, or a refit at the chosen C on train + val. */
  lrRefit: z.enum(['train', 'train+val']).default('train'),
};
type LogRegProbeOptions = z.infer<z.ZodObject<typeof LR_OPTIONS>>;
/** L-BFGS limits (scikit-learn's max_iter is 100; the C sweep's large-C fits need more) and tolerance (scikit-learn 1.2's, whose objective is the summed loss; 1.9 minimises the mean). */
export const LR_MAX_ITER = 500;
export const LR_TOL = 1e-4;
/** C when there is no val split to choose on: scikit-learn's default. */
const DEFAULT_C = 1;

/**
 * C swept over `lrC` (ascending, warm-started, features standardized once) on val: best accuracy, ties broken by
 * lower val log-loss. The final model is that fit, or with `lrRefit: 'train+val'` a refit at the chosen C on both.
 */
export async function runLogRegProbe(input: ProbeInput, opt: LogRegProbeOptions = defaultsOf(LR_OPTIONS)): Promise<ProbeOutput> {
  const [maxIter, tol] = [LR_MAX_ITER, LR_TOL];
  const data = logRegData(input.train, input.trainLabels, input.numClasses);
  let best: { model: LogRegModel; acc: number; loss: number; C: number } | undefined;
  let prev: LogRegModel | undefined;
  const grid = input.val.rows > 0 ? [...new Set(opt.lrC)].sort((a, b) => a - b) : [opt.lrC.length === 1 ? opt.lrC[0] : DEFAULT_C];
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
    chosen: { C: chosen.C, iterations: final.iterations, fit_on: refit ? 'train+val' : 'train', ...(input.val.rows === 0 && opt.lrC.length > 1 ? { from: `C=${DEFAULT_C} (no val images)` } : {}) },
  };
}

function logLoss(proba: Float64Array, labels: Int32Array, K: number): number {
  let s = 0;
  for (let i = 0; i < labels.length; i++) s -= Math.log(Math.max(proba[i * K + labels[i]], 1e-15));
  return s / labels.length;
}

export const logRegProbe = defineProbe({
  name: 'lr',
  summary: 'multinomial L2 logistic regression (L-BFGS) on standardised features, C swept on val',
  // Without fine-tuning the study orders its rows by this column of the most shots; on CLIP it is the k-shot curve's LITE.
  presentation: { column: 'lr', order: 30, family: 'classification', shots: true, ranks: 'column', kshot: { label: 'LITE (lr)', order: 1 } },
  options: LR_OPTIONS,
  chosen: {
    C: z.number().positive().describe('the inverse L2 strength chosen on val (lower val log-loss)'),
    iterations: z.number().int().nonnegative().describe("L-BFGS iterations of the final model's fit"),
    fit_on: z.enum(['train', 'train+val']).describe('what the final model was fit on (`--lr-refit`)'),
    ...CHOSEN_FROM,
  },
  flags: {
    lrC: { flag: 'lr-c', cli: 'numbers', describe: 'logistic-regression C values swept on val (inverse L2 strength, as scikit-learn)' },
    lrRefit: { flag: 'lr-refit', cli: { choices: ['train', 'train+val'] }, describe: "final LR model: the sweep's fit on train, or a refit at the chosen C on train + val" },
  },
  run: runLogRegProbe,
});
