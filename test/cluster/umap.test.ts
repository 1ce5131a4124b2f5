import assert from 'node:assert/strict';
import test from 'node:test';
import { UMAP } from 'umap-js';
import { fuzzySimplicialSet } from '../../src/cluster/fuzzy-graph.ts';
import { exactKnn, type KnnMetric } from '../../src/cluster/knn-graph.ts';
import { optimizeLayout } from '../../src/cluster/layout.ts';
import { tableKernel, umapJsKernel } from '../../src/cluster/layout-kernel.ts';
import { umapEmbed } from '../../src/cluster/umap.ts';
import type { Matrix } from '../../src/util/matrix.ts';
import { seeded } from '../../src/util/rng.ts';
import { blobs } from '../helpers.ts';

const rowsOf = (x: Matrix) => Array.from({ length: x.rows }, (_, i) => Array.from(x.data.subarray(i * x.cols, (i + 1) * x.cols)));

/** Brute force in double precision: every distance, sorted, ties by index. */
function bruteKnn(x: Matrix, k: number, metric: KnnMetric): { idx: number[][]; dist: number[][] } {
  const r = rowsOf(x);
  const dist = (a: number[], b: number[]) => {
    if (metric === 'euclidean') return Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0));
    const dot = a.reduce((s, v, i) => s + v * b[i], 0);
    return 1 - dot / Math.sqrt(a.reduce((s, v) => s + v * v, 0) * b.reduce((s, v) => s + v * v, 0));
  };
  const out = r.map((p, i) => r.map((q, j) => ({ j, d: i === j ? -1 : dist(p, q) })).sort((u, v) => u.d - v.d || u.j - v.j).slice(0, k));
  return { idx: out.map((row) => row.map((e) => e.j)), dist: out.map((row) => row.map((e) => Math.max(0, e.d))) };
}

test('the exact kNN graph from the GEMM kernels equals brute force in double precision, each point first in its own row', async () => {
  const { x } = blobs(5, 40, 24, 3, 1.0);
  for (const metric of ['euclidean', 'cosine'] as const) {
    const g = await exactKnn(x, 12, metric);
    const ref = bruteKnn(x, 12, metric);
    for (let i = 0; i < x.rows; i++) {
      assert.deepEqual(Array.from(g.indices.subarray(i * 12, i * 12 + 12)), ref.idx[i], `${metric} row ${i}`);
      for (let t = 0; t < 12; t++) assert.ok(Math.abs(g.distances[i * 12 + t] - ref.dist[i][t]) <= 1e-6 * (1 + ref.dist[i][t]), `${metric} row ${i} neighbour ${t}`);
    }
  }
});

test('duplicate points: each still leads its own row, its copies follow at distance 0, and UMAP runs on them', async () => {
  const { x } = blobs(2, 20, 8, 4);
  // Rows 0..5 become six copies of row 0: more copies than the 4 neighbours.
  for (let r = 1; r < 6; r++) x.data.copyWithin(r * 8, 0, 8);
  const g = await exactKnn(x, 4, 'euclidean');
  for (let r = 0; r < 6; r++) {
    assert.equal(g.indices[r * 4], r);
    assert.deepEqual(Array.from(g.distances.subarray(r * 4, r * 4 + 4)), [0, 0, 0, 0]);
  }
  const emb = await umapEmbed(x, { neighbors: 4, minDist: 0.1, dims: 2, metric: 'euclidean', seed: 1, epochs: 50 });
  assert.ok(emb.flat().every(Number.isFinite));
});

test("with umap-js's arithmetic the fuzzy graph and layout equal umap-js's own, bit for bit, given the same kNN graph and seed", async () => {
  const { x } = blobs(4, 50, 16, 5, 0.8);
  for (const dims of [2, 3]) {
    const g = await exactKnn(x, 10, 'euclidean');
    const ours = optimizeLayout(fuzzySimplicialSet(g), { dims, minDist: 0.2, epochs: 60, kernel: umapJsKernel }, seeded(7));
    const ref = new UMAP({ nNeighbors: 10, minDist: 0.2, nComponents: dims, nEpochs: 60, random: seeded(7) });
    const rows = (a: ArrayLike<number>) => Array.from({ length: x.rows }, (_, i) => Array.from(a).slice(i * 10, i * 10 + 10));
    ref.setPrecomputedKNN(rows(g.indices), rows(g.distances));
    assert.deepEqual(Array.from(ours), ref.fit(rowsOf(x)).flat(), `${dims} dims`);
  }
});

test('the table kernel gives umap-js coefficients to 1e-7 (relative) from 1e-12 to 1e12, for several curves', () => {
  for (const [a, b] of [[1.577, 0.895], [1.929, 0.7915], [0.583, 1.334]]) {
    const fast = tableKernel(a, b);
    const exact = umapJsKernel(a, b);
    for (let d2 = 1e-12; d2 < 1e12; d2 *= 1.0007) {
      assert.ok(Math.abs(fast.attract(d2) / exact.attract(d2) - 1) < 1e-7, `attract(${d2})`);
      assert.ok(Math.abs(fast.repel(d2) / exact.repel(d2) - 1) < 1e-7, `repel(${d2})`);
    }
    // Subnormal squared distances (points 1e-160 apart) take the exact power.
    assert.equal(fast.repel(1e-320), exact.repel(1e-320));
  }
});

test('the same seed gives the same embedding bit for bit, another seed another one; cosine and 10 dims run', async () => {
  const { x } = blobs(3, 30, 12, 6);
  const s = { neighbors: 8, minDist: 0.1, dims: 2, metric: 'euclidean' as const, seed: 3, epochs: 80 };
  assert.deepEqual(await umapEmbed(x, s), await umapEmbed(x, s));
  assert.notDeepEqual(await umapEmbed(x, { ...s, seed: 4 }), await umapEmbed(x, s));
  const ten = await umapEmbed(x, { ...s, metric: 'cosine', dims: 10 });
  assert.equal(ten.length, 90);
  assert.ok(ten.every((p) => p.length === 10 && p.every(Number.isFinite)));
  await assert.rejects(umapEmbed(x, { ...s, neighbors: 90 }), /needs more than 90 points/);
});
