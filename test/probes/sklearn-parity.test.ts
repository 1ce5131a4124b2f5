import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { knnPredict } from '../../src/probes/knn.ts';
import { LR_MAX_ITER, LR_TOL, runLogRegProbe } from '../../src/probes/logreg-probe.ts';
import { argmaxRows } from '../../src/util/matrix.ts';
import { fitLogReg, predictProba } from '../../src/probes/logreg.ts';
import { accuracy, balancedAccuracy, confusionMatrix, f1 } from '../../src/metrics/classification.ts';
import { metricCase, probeDatasets, type ProbeData } from '../fixtures/probe-data.ts';
import { ucmercedPresent, ucmercedProbeData } from '../fixtures/ucmerced-features.ts';

/** scikit-learn's answers, made by tools/make-probe-reference.ts (tools/sklearn_reference.py). */
interface Reference {
  datasets: Record<string, { lr: { C: number; val_acc: number; test_acc: number; val_log_loss: number }[]; knn: Record<string, number[]> }>;
  metrics: { accuracy: number; balanced_accuracy: number; macro_f1: number; macro_f1_true_labels: number; confusion: number[][] };
}
const fixture = (name: string) => JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'probes', name), 'utf8'));
const ref = fixture('sklearn-reference.json') as Reference;
/** The same answers from the newest scikit-learn on the machine's package index (REPROBE_SKLEARN_TAG=newest). */
const newest = fixture('sklearn-reference-newest.json') as Reference & { sklearn: string };
const sets = probeDatasets();

async function lrWithinHalfPoint(d: ProbeData, lr: Reference['datasets'][string]['lr']): Promise<void> {
  const [maxIter, tol] = [LR_MAX_ITER, LR_TOL];
  for (const r of lr) {
    const model = await fitLogReg(d.train, d.trainLabels, d.numClasses, { C: r.C, maxIter, tol });
    const acc = accuracy(d.testLabels, argmaxRows(await predictProba(model, d.test), d.numClasses));
    assert.ok(Math.abs(acc - r.test_acc) <= 0.005, `${d.name} C=${r.C}: ours ${acc.toFixed(4)}, sklearn ${r.test_acc.toFixed(4)}`);
  }
}

async function sweepPicksSklearnC(d: ProbeData, lr: Reference['datasets'][string]['lr']): Promise<void> {
  const bestAcc = Math.max(...lr.map((r) => r.val_acc));
  const out = await runLogRegProbe(d);
  const mine = lr.find((r) => r.C === out.chosen.C)!;
  assert.ok(Math.abs(mine.val_acc - bestAcc) < 1e-12, `${d.name}: chose C=${out.chosen.C} (sklearn val acc ${mine.val_acc}), best sklearn val acc ${bestAcc}`);
}

async function knnMatches(d: ProbeData, knn: Record<string, number[]>, note = ''): Promise<void> {
  for (const [k, preds] of Object.entries(knn)) {
    const { pred } = await knnPredict(d.train, d.trainLabels, d.numClasses, d.test, { k: Number(k), vote: 'majority', temperature: 0.07 });
    assert.deepEqual([...pred], preds, `${d.name} k=${k}${note}`);
  }
}

test('logistic regression: test accuracy within 0.5 points of scikit-learn at every C of the grid', async () => {
  for (const d of sets) await lrWithinHalfPoint(d, ref.datasets[d.name].lr);
});

test("the C sweep picks scikit-learn's C, or one whose val accuracy ties with it", async () => {
  for (const d of sets) await sweepPicksSklearnC(d, ref.datasets[d.name].lr);
});

test("kNN (cosine, majority vote) predicts exactly what scikit-learn's brute-force KNeighborsClassifier does", async () => {
  for (const d of sets) await knnMatches(d, ref.datasets[d.name].knn);
});

test('on real UC Merced MobileNetV2 features: LR within 0.5 points at every C, the same C, kNN identical', { skip: ucmercedPresent() ? false : 'needs ../shared/data/ucmerced (not on a fresh machine)' }, async () => {
  const uc = fixture('sklearn-ucmerced.json') as { feature_hash: string; datasets: Reference['datasets'] };
  const d = await ucmercedProbeData();
  const r = uc.datasets[d.name];
  await lrWithinHalfPoint(d, r.lr);
  await sweepPicksSklearnC(d, r.lr);
  // Features from another CPU or onnxruntime build may differ in the last bits, which can flip near-tied neighbours.
  await knnMatches(d, r.knn, d.featureHash === uc.feature_hash ? '' : ` (features differ from the reference's: hash ${d.featureHash} vs ${uc.feature_hash})`);
});

test("the newest scikit-learn too (its objective is the mean loss, its minimiser the same): LR within 0.5 points at every C, the same C, kNN identical", async () => {
  assert.notEqual(newest.sklearn, (ref as Reference & { sklearn: string }).sklearn, 'the two fixtures come from the same scikit-learn');
  for (const d of sets) {
    await lrWithinHalfPoint(d, newest.datasets[d.name].lr);
    await sweepPicksSklearnC(d, newest.datasets[d.name].lr);
    await knnMatches(d, newest.datasets[d.name].knn);
  }
});

test('on real UC Merced features against the newest scikit-learn: LR within 0.5 points at every C, the same C', { skip: ucmercedPresent() ? false : 'needs ../shared/data/ucmerced (not on a fresh machine)' }, async () => {
  const uc = fixture('sklearn-ucmerced-newest.json') as { datasets: Reference['datasets'] };
  const d = await ucmercedProbeData();
  await lrWithinHalfPoint(d, uc.datasets[d.name].lr);
  await sweepPicksSklearnC(d, uc.datasets[d.name].lr);
});

test('metrics equal scikit-learn to 1e-9: accuracy, balanced accuracy, macro-F1 (all labels and true labels), confusion matrix', () => {
  const { truth, pred, numClasses } = metricCase();
  const near = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} vs ${b}`);
  near(accuracy(truth, pred), ref.metrics.accuracy, 'accuracy');
  near(balancedAccuracy(truth, pred, numClasses), ref.metrics.balanced_accuracy, 'balanced accuracy');
  near(f1(truth, pred, numClasses), ref.metrics.macro_f1, 'macro-F1');
  near(f1(truth, pred, numClasses, { classes: 'true' }), ref.metrics.macro_f1_true_labels, 'macro-F1 over true labels');
  assert.deepEqual(confusionMatrix(truth, pred, numClasses), ref.metrics.confusion);
});
