import assert from 'node:assert/strict';
import { test } from 'node:test';
import { accuracy, balancedAccuracy, confusionMatrix, topKAccuracy } from '../../src/metrics/classification.ts';
import { chanceAdjustedAccuracy, confusedPairs, perClassTable } from '../../src/metrics/confusion.ts';

// Hand-worked: 4 classes, 30 images (rows = true class, columns = predicted class).
const CM = [
  [5, 3, 0, 2], // n0 = 10
  [1, 6, 1, 0], // n1 = 8
  [0, 4, 4, 0], // n2 = 8
  [0, 0, 0, 4], // n3 = 4
];
/** The label pairs a confusion matrix counts, row by row. */
function labelsOf(cm: number[][]): { truth: number[]; pred: number[] } {
  const truth: number[] = [];
  const pred: number[] = [];
  cm.forEach((row, t) => row.forEach((m, p) => Array.from({ length: m }, () => (truth.push(t), pred.push(p)))));
  return { truth, pred };
}
const near = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

test('per-class table: support, predictions, recall and precision by hand; its mean recall is balanced accuracy', () => {
  const rows = perClassTable(CM);
  assert.deepEqual(
    rows.map((r) => [r.label, r.support, r.predicted, r.correct]),
    [
      [0, 10, 6, 5],
      [1, 8, 13, 6],
      [2, 8, 5, 4],
      [3, 4, 6, 4],
    ],
  );
  assert.deepEqual(rows.map((r) => r.recall), [0.5, 0.75, 0.5, 1]);
  assert.deepEqual(rows.map((r) => r.precision), [5 / 6, 6 / 13, 4 / 5, 4 / 6]);
  const { truth, pred } = labelsOf(CM);
  assert.deepEqual(confusionMatrix(truth, pred, 4), CM);
  // Mean per-class recall is balancedAccuracy (scikit-learn's balanced_accuracy_score): (0.5 + 0.75 + 0.5 + 1) / 4.
  assert.equal(balancedAccuracy(truth, pred, 4), 0.6875);
  // A class never true has no recall, one never predicted no precision.
  const empty = perClassTable([
    [2, 0, 0],
    [1, 0, 0],
    [0, 0, 0],
  ]);
  assert.ok(Number.isNaN(empty[2].recall) && Number.isNaN(empty[1].precision) && Number.isNaN(empty[2].precision));
  assert.equal(empty[1].recall, 0);
  assert.throws(() => perClassTable([[1, 2], [3]]), RangeError);
});

test('chance-adjusted accuracy: acc1 − 1/N', () => {
  const { truth, pred } = labelsOf(CM);
  assert.equal(accuracy(truth, pred), 19 / 30);
  near(chanceAdjustedAccuracy(19 / 30, 4), 19 / 30 - 0.25, '4 classes');
  // The study's Fruits 360: 131 classes, so a random or constant classifier sits near 0.0076 (its "~0.01").
  near(chanceAdjustedAccuracy(0.238, 131), 0.238 - 1 / 131, '131 classes');
  assert.equal(chanceAdjustedAccuracy(0.5, 2), 0);
  assert.throws(() => chanceAdjustedAccuracy(0.5, 0), RangeError);
});

test('confused pairs: IoU = (m_ab + m_ba) / (n_a + n_b) by hand, highest first, never-confused pairs left out', () => {
  // (1,2): (1 + 4) / (8 + 8) = 5/16; (0,1): (3 + 1) / (10 + 8) = 2/9; (0,3): (2 + 0) / (10 + 4) = 1/7; the rest 0.
  assert.deepEqual(confusedPairs(CM, 10), [
    { a: 1, b: 2, iou: 5 / 16, m_ab: 1, m_ba: 4, n_a: 8, n_b: 8 },
    { a: 0, b: 1, iou: 4 / 18, m_ab: 3, m_ba: 1, n_a: 10, n_b: 8 },
    { a: 0, b: 3, iou: 2 / 14, m_ab: 2, m_ba: 0, n_a: 10, n_b: 4 },
  ]);
  assert.deepEqual(confusedPairs(CM, 2).map((p) => [p.a, p.b]), [[1, 2], [0, 1]]);
  assert.deepEqual(confusedPairs(CM, 0), []);
  assert.equal(confusedPairs(CM, Infinity).length, 3);
  // No mistakes, no pairs.
  assert.deepEqual(confusedPairs([[3, 0], [0, 2]], 5), []);
  assert.throws(() => confusedPairs(CM, -1), RangeError);
  assert.throws(() => confusedPairs(CM, 1.5), RangeError);
  assert.throws(() => confusedPairs([[1, 0, 0], [0, 1, 0]], 1), RangeError);
});

test('confused pairs: equal IoUs rank by the first class, then the second', () => {
  const cm = [
    [7, 2, 0, 1], // n0 = 10
    [1, 9, 0, 0], // n1 = 10
    [0, 0, 15, 5], // n2 = 20
    [0, 0, 1, 19], // n3 = 20
  ];
  // (0,1): 3/20 and (2,3): 6/40 are the same number; (0,3): 1/30.
  assert.deepEqual(confusedPairs(cm, 5).map((p) => [p.a, p.b, p.iou]), [[0, 1, 0.15], [2, 3, 0.15], [0, 3, 1 / 30]]);
  // The doc comment's example: (0,1) and (1,2) both 3/20, (0,2) never confused.
  assert.deepEqual(confusedPairs([[8, 2, 0], [1, 9, 0], [0, 3, 7]], 5).map((p) => [p.a, p.b]), [[0, 1], [1, 2]]);
  // Ties rank by class index whatever the counts: here (0,1) = 6/40 holds the larger classes and still comes before (2,3) = 3/20.
  assert.deepEqual(confusedPairs([[19, 1, 0, 0], [5, 15, 0, 0], [0, 0, 9, 1], [1, 0, 2, 7]], 2).map((p) => [p.a, p.b]), [[0, 1], [2, 3]]);
});

test('top-1 and top-5 accuracy on a hand-ranked score matrix: ties to the lower class, NaN as −Infinity', () => {
  const scores = [
    [0.9, 0.1, 0, 0, 0, 0], // true 0: 1st
    [0.3, 0.2, 0.2, 0.1, 0.1, 0.1], // true 5: three higher, classes 3 and 4 tie lower → 6th
    [0.1, 0.5, 0.1, 0.1, 0.2, 0], // true 3: 0.5 and 0.2 higher, classes 0 and 2 tie lower → 5th
    [NaN, 0.4, 0.4, 0, 0, 0], // true 1: NaN below, class 2 ties higher → 1st
    [0.2, 0.2, 0.2, 0.2, 0.1, 0.1], // true 2: classes 0 and 1 tie lower → 3rd
  ].flat();
  const truth = [0, 5, 3, 1, 2];
  assert.equal(topKAccuracy(truth, scores, 6, 1), 2 / 5);
  assert.equal(topKAccuracy(truth, scores, 6, 3), 3 / 5);
  assert.equal(topKAccuracy(truth, scores, 6, 5), 4 / 5);
  assert.equal(topKAccuracy(truth, scores, 6, 6), 1);
  assert.equal(topKAccuracy(truth, Float32Array.from(scores), 6, 5), 4 / 5, 'typed arrays too');
  // The doc comment's example.
  assert.deepEqual([1, 2, 3].map((k) => topKAccuracy([1], [0.25, 0.25, 0.5], 3, k)), [0, 0, 1]);
  assert.ok(Number.isNaN(topKAccuracy([], [], 6, 1)));
  assert.throws(() => topKAccuracy([0, 1], [0.5, 0.5, 1], 2, 1), RangeError);
});
