import assert from 'node:assert/strict';
import { test } from 'node:test';
import { knnPredict } from '../../src/probes/knn.ts';
import { runKnnProbe } from '../../src/probes/knn-probe.ts';
import { matrix } from '../../src/util/matrix.ts';
import { blobs } from '../helpers.ts';

test('cosine kNN: nearest by angle, not by length', async () => {
  // Train: class 0 along x (long vector), class 1 along y (short vector).
  const train = matrix(2, 2, new Float32Array([10, 0, 0, 0.1]));
  const q = matrix(2, 2, new Float32Array([0.1, 0.2, 5, 1]));
  const { pred } = await knnPredict(train, [0, 1], 2, q, { k: 1, vote: 'majority', temperature: 0.07 });
  assert.deepEqual([...pred], [1, 0]);
});

test('majority vote ties go to the lower class id, as in scikit-learn, even when the other class is closer', async () => {
  const train = matrix(4, 2, new Float32Array([1, 0, 1, 0.1, 0, 1, 0.2, 1]));
  const q = matrix(1, 2, new Float32Array([0.05, 1])); // right next to class 1's points
  const { pred } = await knnPredict(train, [0, 0, 1, 1], 2, q, { k: 4, vote: 'majority', temperature: 0.07 });
  assert.equal(pred[0], 0);
});

test('k larger than the training set is clamped, scores sum to 1', async () => {
  const { x, y } = blobs(3, 4, 5, 1);
  const { pred, scores } = await knnPredict(x, y, 3, x, { k: 100, vote: 'weighted', temperature: 0.07 });
  assert.equal(pred.length, 12);
  for (let i = 0; i < 12; i++) assert.ok(Math.abs(scores.subarray(i * 3, i * 3 + 3).reduce((a, b) => a + b, 0) - 1) < 1e-5);
});

test('kNN probe separates generated blobs and picks k on val when given a grid', async () => {
  const tr = blobs(4, 10, 16, 5);
  const va = blobs(4, 5, 16, 5);
  const te = blobs(4, 20, 16, 5);
  const out = await runKnnProbe({ train: tr.x, trainLabels: tr.y, val: va.x, valLabels: va.y, test: te.x, testLabels: te.y, numClasses: 4 }, { knnK: [1, 3, 5, 10], knnVote: 'weighted' });
  const acc = out.testPred.filter((p, i) => p === te.y[i]).length / te.y.length;
  assert.ok(acc > 0.95, `accuracy ${acc}`);
  assert.ok([1, 3, 5, 10].includes(out.chosen.k as number));
});
