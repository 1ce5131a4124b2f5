import LogisticRegression from 'ml-logistic-regression';
import { Matrix as MlMatrix } from 'ml-matrix';
import type { Matrix } from '../util/matrix.ts';
import { columnStats, standardized } from './features.ts';
import { accuracy } from '../metrics/classification.ts';
import { z } from 'zod';
import { defineProbe, type ProbeInput, type ProbeOutput } from './types.ts';

/** The design's original package: one-vs-all logistic regression by gradient descent, no regularization sweep. */
const STEPS = 500;
const LEARNING_RATE = 5e-3;

function rows(m: Matrix, stats: { mean: Float64Array; std: Float64Array }): MlMatrix {
  const z = standardized(m, stats);
  return new MlMatrix(Array.from({ length: m.rows }, (_, r) => Array.from(z.subarray(r * m.cols, (r + 1) * m.cols))));
}

export function runLogRegMlProbe(input: ProbeInput): ProbeOutput {
  const stats = columnStats(input.train);
  const model = new LogisticRegression({ numSteps: STEPS, learningRate: LEARNING_RATE });
  model.train(rows(input.train, stats), MlMatrix.columnVector([...input.trainLabels]));
  const predict = (m: Matrix) => (m.rows === 0 ? new Int32Array(0) : Int32Array.from(model.predict(rows(m, stats)) as number[]));
  const testPred = predict(input.test);
  // The package gives labels only: scores are one-hot.
  const testScores = new Float32Array(testPred.length * input.numClasses);
  testPred.forEach((c, i) => (testScores[i * input.numClasses + c] = 1));
  return {
    testPred,
    testScores,
    valAccuracy: input.val.rows ? accuracy(input.valLabels, predict(input.val)) : NaN,
    chosen: { steps: STEPS, learningRate: LEARNING_RATE },
  };
}

export const logRegMlProbe = defineProbe({
  name: 'lr-ml',
  summary: 'baseline: ml-logistic-regression (one-vs-all, gradient descent, 500 steps) on standardised features',
  presentation: { column: 'lr-ml', order: 60, family: 'classification', shots: true },
  options: {},
  chosen: { steps: z.number().int().min(1).describe('gradient-descent steps (fixed)'), learningRate: z.number().describe('its learning rate (fixed)') },
  flags: {},
  run: async (input) => runLogRegMlProbe(input),
});
