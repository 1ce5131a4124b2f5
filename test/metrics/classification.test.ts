import assert from 'node:assert/strict';
import { test } from 'node:test';
import { accuracy, balancedAccuracy, confusionMatrix, f1, groupAccuracies, perClassRecall, topKAccuracy, worstGroupAccuracy } from '../../src/metrics/classification.ts';
import { classificationScores } from '../../src/metrics/scores.ts';

// Hand-computed example: 3 classes, 8 samples.
const truth = [0, 0, 0, 1, 1, 2, 2, 2];
const pred = [0, 0, 1, 1, 2, 2, 2, 0];

test('accuracy counts exact matches', () => {
  assert.equal(accuracy(truth, pred), 5 / 8);
});

test('confusion matrix has true classes as rows', () => {
  assert.deepEqual(confusionMatrix(truth, pred, 3), [
    [2, 1, 0],
    [0, 1, 1],
    [1, 0, 2],
  ]);
});

test('balanced accuracy is the mean per-class recall', () => {
  assert.deepEqual(perClassRecall(truth, pred, 3), [2 / 3, 1 / 2, 2 / 3]);
  assert.ok(Math.abs(balancedAccuracy(truth, pred, 3) - (2 / 3 + 1 / 2 + 2 / 3) / 3) < 1e-12);
});

test('macro F1 averages per-class F1 (precision and recall by hand)', () => {
  // class 0: P=2/3 R=2/3 F=2/3; class 1: P=1/2 R=1/2 F=1/2; class 2: P=2/3 R=2/3 F=2/3
  assert.ok(Math.abs(f1(truth, pred, 3) - (2 / 3 + 1 / 2 + 2 / 3) / 3) < 1e-12);
  // A class never true nor predicted is left out, as scikit-learn does with labels=None.
  assert.ok(Math.abs(f1([0, 1], [0, 1], 5) - 1) < 1e-12);
});

test('weighted F1 weighs each class by its true count (scikit-learn average="weighted")', () => {
  // supports 3, 2, 3: (3 * 2/3 + 2 * 1/2 + 3 * 2/3) / 8
  assert.ok(Math.abs(f1(truth, pred, 3, { average: 'weighted' }) - (3 * (2 / 3) + 2 * 0.5 + 3 * (2 / 3)) / 8) < 1e-12);
  // A class only predicted has no weight.
  assert.ok(Math.abs(f1([0, 0, 1], [0, 2, 1], 3, { average: 'weighted' }) - (2 * (2 / 3) + 1) / 3) < 1e-12);
});

test('length mismatch is an error', () => {
  assert.throws(() => accuracy([0, 1], [0]));
});

test('WILDS metrics: macro-F1 over the true classes only, per-group and worst-group accuracy', async () => {
  // Class 2 is only predicted, never true: sklearn's macro F1 over labels=unique(y_true) leaves it out.
  // Class 0: tp 1, support 2, predicted 1 → F1 2/3; class 1: tp 1, support 1, predicted 1 → 1.
  assert.ok(Math.abs(f1([0, 0, 1], [0, 2, 1], 3, { classes: 'true' }) - (2 / 3 + 1) / 2) < 1e-12);
  assert.ok(Math.abs(f1([0, 0, 1], [0, 2, 1], 3) - (2 / 3 + 1 + 0) / 3) < 1e-12);
  const acc = groupAccuracies([0, 1, 1, 0, 1], [0, 1, 0, 1, 1], [0, 0, 1, 1, 2], 4);
  assert.deepEqual(acc.slice(0, 3), [1, 0, 1]);
  assert.ok(Number.isNaN(acc[3]));
  assert.equal(worstGroupAccuracy(acc, ['Africa', 'Other', 'Asia', 'Europe'], ['Other']), 1);
  assert.equal(worstGroupAccuracy(acc, ['Africa', 'Americas', 'Asia', 'Europe']), 0);
});

test('top-k accuracy: hand-computed on 3 rows of 4 classes', async () => {
  const scores = [0.1, 0.5, 0.3, 0.1, /**/ 0.4, 0.3, 0.2, 0.1, /**/ 0.25, 0.25, 0.25, 0.25];
  // Row 0 (true 2) ranks 2nd; row 1 (true 3) ranks 4th; row 2 (true 1) ties with all, ranks 2nd by class id.
  assert.equal(topKAccuracy([2, 3, 1], scores, 4, 1), 0);
  assert.equal(topKAccuracy([2, 3, 1], scores, 4, 2), 2 / 3);
  assert.equal(topKAccuracy([2, 3, 1], scores, 4, 4), 1);
});

test('classification scores: the headline metric in value, worst group without the excluded ones', () => {
  const s = classificationScores([0, 0, 1], [0, 2, 1], 3, 'macro_f1', { field: 'region', names: ['Asia', 'Other'], of: [0, 1, 0], excludeFromWorst: ['Other'] });
  assert.equal(s.metric, 'macro_f1');
  assert.ok(Math.abs(s.value - 5 / 6) < 1e-12);
  assert.ok(Math.abs(s.macro_f1 - 5 / 9) < 1e-12);
  assert.equal(s.accuracy, 2 / 3);
  assert.equal(s.worst_group_accuracy, 1); // Asia: rows 0 and 2 right; Other (row 1, wrong) left out
  assert.equal(classificationScores([0, 1], [1, 1], 2).value, 0.5);
});

test('predictions collapsed to one class are flagged (not when the truth has one class too)', () => {
  assert.equal(classificationScores([0, 1, 2, 1], [1, 1, 1, 1], 3).collapsed, true);
  assert.equal(classificationScores([0, 1, 2, 1], [1, 1, 2, 1], 3).collapsed, false);
  assert.equal(classificationScores([1, 1, 1], [1, 1, 1], 3).collapsed, false);
});
