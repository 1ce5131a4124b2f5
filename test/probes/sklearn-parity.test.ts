import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { PROBE_DEFAULTS } from '../../src/config/defaults.ts';
import { knnPredict } from '../../src/probes/knn.ts';
import { argmaxRows, runLogRegProbe } from '../../src/probes/logreg-probe.ts';
import { fitLogReg, predictProba } from '../../src/probes/logreg.ts';
import { accuracy, balancedAccuracy, confusionMatrix, macroF1, macroF1TrueClasses } from '../../src/probes/metrics.ts';
import { metricCase, probeDatasets } from '../fixtures/probe-data.ts';

/** scikit-learn's answers, made by tools/make-probe-reference.ts (tools/sklearn_reference.py). */
interface Reference {
  datasets: Record<string, { lr: { C: number; val_acc: number; test_acc: number; val_log_loss: number }[]; knn: Record<string, number[]> }>;
  metrics: { accuracy: number; balanced_accuracy: number; macro_f1: number; macro_f1_true_labels: number; confusion: number[][] };
}
const ref = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'probes', 'sklearn-reference.json'), 'utf8')) as Reference;
const sets = probeDatasets();

test('logistic regression: test accuracy within 0.5 points of scikit-learn at every C of the grid', async () => {
  const { maxIter, tol } = PROBE_DEFAULTS.lr;
  for (const d of sets) {
    for (const r of ref.datasets[d.name].lr) {
      const model = await fitLogReg(d.train, d.trainLabels, d.numClasses, { C: r.C, maxIter, tol });
      const acc = accuracy(d.testLabels, argmaxRows(await predictProba(model, d.test), d.numClasses));
      assert.ok(Math.abs(acc - r.test_acc) <= 0.005, `${d.name} C=${r.C}: ours ${acc.toFixed(4)}, sklearn ${r.test_acc.toFixed(4)}`);
    }
  }
});

test("the C sweep picks scikit-learn's C, or one whose val accuracy ties with it", async () => {
  for (const d of sets) {
    const lr = ref.datasets[d.name].lr;
    const bestAcc = Math.max(...lr.map((r) => r.val_acc));
    const out = await runLogRegProbe({ ...d, numClasses: d.numClasses });
    const mine = lr.find((r) => r.C === out.chosen.C)!;
    assert.ok(Math.abs(mine.val_acc - bestAcc) < 1e-12, `${d.name}: chose C=${out.chosen.C} (sklearn val acc ${mine.val_acc}), best sklearn val acc ${bestAcc}`);
  }
});

test("kNN (cosine, majority vote) predicts exactly what scikit-learn's brute-force KNeighborsClassifier does", async () => {
  for (const d of sets)
    for (const [k, preds] of Object.entries(ref.datasets[d.name].knn)) {
      const { pred } = await knnPredict(d.train, d.trainLabels, d.numClasses, d.test, { k: Number(k), vote: 'majority', temperature: 0.07 });
      assert.deepEqual([...pred], preds, `${d.name} k=${k}`);
    }
});

test('metrics equal scikit-learn to 1e-9: accuracy, balanced accuracy, macro-F1 (all labels and true labels), confusion matrix', () => {
  const { truth, pred, numClasses } = metricCase();
  const near = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} vs ${b}`);
  near(accuracy(truth, pred), ref.metrics.accuracy, 'accuracy');
  near(balancedAccuracy(truth, pred, numClasses), ref.metrics.balanced_accuracy, 'balanced accuracy');
  near(macroF1(truth, pred, numClasses), ref.metrics.macro_f1, 'macro-F1');
  near(macroF1TrueClasses(truth, pred, numClasses), ref.metrics.macro_f1_true_labels, 'macro-F1 over true labels');
  assert.deepEqual(confusionMatrix(truth, pred, numClasses), ref.metrics.confusion);
});
