import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import type { Dataset } from '../../src/data/types.ts';
import { clusterMethod, kmeansMethod } from '../../src/cluster/method.ts';
import type { FeatureCell } from '../../src/method/contract.ts';
import { takeRows } from '../../src/util/matrix.ts';
import { blobs, tempDir } from '../helpers.ts';

/** Four generated classes of 30 points in 16-d, split as a cell would be. */
function cell(seed = 0): FeatureCell {
  const { x, y } = blobs(4, 30, 16, 9);
  const part = (idx: number[]) => ({ x: takeRows(x, idx), y: Int32Array.from(idx, (i) => y[i]), idx });
  const all = [...Array(120).keys()];
  // Samples only need their ids here: the assignments name each point.
  const dataset = { name: 'blobs', classes: ['a', 'b', 'c', 'd'], samples: all.map((i) => ({ id: `p${i}`, label: y[i] })) } as unknown as Dataset;
  return { dataset, backbone: 'generated', seed, runDir: tempDir(), train: part(all.filter((i) => i % 3 === 0)), val: part(all.filter((i) => i % 3 === 1)), tests: [{ name: 'test', part: part(all.filter((i) => i % 3 === 2)) }] };
}
const DEFAULTS = { restarts: 5, clusters: 0, clusterSet: 'auto', neighbors: 15, minDist: 0.1, dims: 2, metric: 'euclidean' };

test('UMAP + k-means clusters the whole pool and finds separable classes; the same seed gives the same numbers, bit for bit', async () => {
  const [a] = await clusterMethod.run(cell(), DEFAULTS);
  assert.equal(a.eval_split, 'all');
  assert.equal(a.metric, 'ari');
  assert.equal(a.fields.n_points, 120);
  assert.ok(a.value > 0.9, `ARI ${a.value}`);
  const [b] = await clusterMethod.run(cell(), DEFAULTS);
  assert.equal(b.value, a.value);
  assert.equal(b.fields.inertia, a.fields.inertia);
  // The plot and the coordinates: a PNG, and one CSV row per point.
  assert.equal(readFileSync(String(a.fields.plot)).subarray(1, 4).toString(), 'PNG');
  assert.equal(readFileSync(String(a.fields.coordinates), 'utf8').trim().split('\n').length, 121);
  assert.match(readFileSync(String(a.fields.plot).replace(/png$/, 'svg'), 'utf8'), /<svg[^>]*>[\s\S]*>d</);
  const [base] = await kmeansMethod.run(cell(), { restarts: 5, clusters: 0, clusterSet: 'auto' });
  assert.ok(base.value > 0.9, `k-means baseline ARI ${base.value}`);
});

test('clustering refuses NaN features and more clusters than points; neighbours above the points are clamped and noted', async () => {
  const bad = cell();
  bad.train.x.data[3] = NaN;
  await assert.rejects(clusterMethod.run(bad, DEFAULTS), /NaN or Inf/);
  await assert.rejects(kmeansMethod.run(cell(), { restarts: 1, clusters: 500, clusterSet: 'auto' }), /--clusters 500 is more than the 120 images/);
  const [r] = await clusterMethod.run(cell(), { ...DEFAULTS, neighbors: 500 });
  assert.equal(r.fields.umap_neighbors, 119);
  assert.match(String(r.fields.note), /clamped to 119/);
  // More classes than points: k is clamped to the points, and the record says so.
  const many = cell();
  many.dataset = { ...many.dataset, classes: Array.from({ length: 50 }, (_, i) => `c${i}`) };
  const [t] = await kmeansMethod.run(many, { restarts: 1, clusters: 0, clusterSet: 'test' });
  assert.equal(t.fields.k, 40);
  assert.match(String(t.fields.note), /k clamped to 40 \(the points; the dataset has 50 classes\)/);
});

test('--cluster-set picks what is clustered: one test set, or a test set the dataset lacks is one line', async () => {
  const [t] = await kmeansMethod.run(cell(), { restarts: 2, clusters: 0, clusterSet: 'test' });
  assert.equal(t.eval_split, 'test');
  assert.equal(t.fields.n_points, 40);
  await assert.rejects(kmeansMethod.run(cell(), { restarts: 2, clusters: 0, clusterSet: 'ood_test' }), /--cluster-set ood_test: blobs has no such test set; it has test\./);
});
