import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kmeans } from 'ml-kmeans';
import { kmeansBest } from '../../src/cluster/kmeans.ts';
import { adjustedRandIndex } from '../../src/metrics/clustering.ts';
import { blobs } from '../helpers.ts';

const inertiaOf = (rows: number[][], labels: ArrayLike<number>, k: number) => {
  const d = rows[0].length;
  const c = Array.from({ length: k }, () => new Float64Array(d));
  const n = new Float64Array(k);
  rows.forEach((r, i) => (n[labels[i]]++, r.forEach((v, j) => (c[labels[i]][j] += v))));
  return rows.reduce((a, r, i) => a + r.reduce((s, v, j) => s + (v - c[labels[i]][j] / n[labels[i]]) ** 2, 0), 0);
};

test('k-means finds separable classes, its inertia is the sum of squared distances to the means, and it is no worse than ml-kmeans', async () => {
  const { x, y } = blobs(6, 40, 32, 2, 0.8);
  const rows = Array.from({ length: x.rows }, (_, i) => Array.from(x.data.subarray(i * 32, (i + 1) * 32)));
  const fit = await kmeansBest(x, 6, 5, 0);
  assert.equal(adjustedRandIndex(y, fit.labels), 1);
  assert.ok(Math.abs(fit.inertia - inertiaOf(rows, fit.labels, 6)) < 1e-6 * fit.inertia);
  // The well-kept library as a reference on overlapping data: the best of the same number of restarts, no worse.
  const hard = blobs(5, 60, 16, 3, 2.5);
  const hardRows = Array.from({ length: hard.x.rows }, (_, i) => Array.from(hard.x.data.subarray(i * 16, (i + 1) * 16)));
  const ours = await kmeansBest(hard.x, 5, 10, 1);
  const ref = Math.min(...Array.from({ length: 10 }, (_, r) => inertiaOf(hardRows, kmeans(hardRows, 5, { initialization: 'kmeans++', seed: r + 1 }).clusters, 5)));
  assert.ok(ours.inertia <= ref * 1.01, `inertia ${ours.inertia} vs ml-kmeans ${ref}`);
});

test('the same seed gives the same clusters bit for bit; k = the points gives each point its own cluster', async () => {
  const { x } = blobs(3, 20, 8, 4);
  assert.deepEqual(await kmeansBest(x, 3, 3, 7), await kmeansBest(x, 3, 3, 7));
  const few = { rows: 4, cols: 2, data: Float32Array.from([0, 0, 1, 0, 0, 1, 5, 5]) };
  const fit = await kmeansBest(few, 4, 2, 0);
  assert.equal(new Set(fit.labels).size, 4);
  assert.equal(fit.inertia, 0);
});
