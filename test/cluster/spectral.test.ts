import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fuzzySimplicialSet } from '../../src/cluster/fuzzy-graph.ts';
import { kmeansBest } from '../../src/cluster/kmeans.ts';
import { exactKnn } from '../../src/cluster/knn-graph.ts';
import { spectralStart } from '../../src/cluster/spectral.ts';
import { umapEmbed, umapLayout } from '../../src/cluster/umap.ts';
import { adjustedRandIndex } from '../../src/metrics/clustering.ts';
import { vstack } from '../../src/util/matrix.ts';
import { seeded } from '../../src/util/rng.ts';
import { spectralCase } from '../fixtures/spectral-case.ts';
import { ucmercedPresent, ucmercedProbeData } from '../fixtures/ucmerced-features.ts';
import { storedUmapJs, umapJsEmbedding } from '../fixtures/umapjs-embedding.ts';
import { blobs } from '../helpers.ts';

/** numpy's dense eigh of the case's normalised Laplacian (tools/make-spectral-reference.ts). */
const ref = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'cluster', 'spectral-numpy.json'), 'utf8')) as { eigenvalues: number[]; vectors: number[][] };

/** Pearson correlation: blind to the scaling, shift and sign the start applies to an eigenvector. */
function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  const ma = Array.from(a).reduce((s, v) => s + v, 0) / n;
  const mb = Array.from(b).reduce((s, v) => s + v, 0) / n;
  let [ab, aa, bb] = [0, 0, 0];
  for (let i = 0; i < n; i++) [ab, aa, bb] = [ab + (a[i] - ma) * (b[i] - mb), aa + (a[i] - ma) ** 2, bb + (b[i] - mb) ** 2];
  return ab / Math.sqrt(aa * bb);
}

test("the spectral start is the normalised Laplacian's eigenvectors 1..dims (numpy's eigh), each dimension spanning [0, 10]", async () => {
  const { graph, dims } = await spectralCase();
  const { start, reason } = spectralStart(graph, dims, seeded(0));
  assert.ok(start, reason);
  for (let c = 0; c < dims; c++) {
    const column = Array.from({ length: graph.n }, (_, i) => start[i * dims + c]);
    const r = Math.abs(correlation(column, ref.vectors[c]));
    assert.ok(r > 1 - 1e-6, `dimension ${c}: |correlation| with numpy's eigenvector ${c + 1} is ${r}`);
    assert.ok(Math.abs(Math.min(...column)) < 1e-12 && Math.abs(Math.max(...column) - 10) < 1e-12, `dimension ${c} spans [${Math.min(...column)}, ${Math.max(...column)}]`);
  }
});

test("at 2,400 points each start dimension is an eigenvector of D^-½ W D^-½ to a residual of 3e-4, as eigsh's tol 1e-4 allows (Rayleigh quotient by hand)", async () => {
  const { x } = blobs(4, 600, 12, 11, 2);
  const graph = fuzzySimplicialSet(await exactKnn(x, 15, 'euclidean'));
  const dims = 6;
  const { start, reason } = spectralStart(graph, dims, seeded(0));
  assert.ok(start, reason);
  const n = graph.n;
  const deg = new Float64Array(n);
  graph.rows.forEach((r, e) => (deg[r] += graph.weights[e]));
  const sqrtDeg = Float64Array.from(deg, Math.sqrt);
  const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, v, i) => s + v * b[i], 0);
  for (let c = 0; c < dims; c++) {
    // The column is s·v + t·1 (+ 1e-4 noise) with v ⟂ √deg: take off the multiple of 1 that makes it ⟂ √deg.
    const col = Float64Array.from({ length: n }, (_, i) => start[i * dims + c]);
    const t = dot(col, sqrtDeg) / sqrtDeg.reduce((s, v) => s + v, 0);
    const z = col.map((v) => v - t);
    const az = new Float64Array(n);
    graph.rows.forEach((r, e) => (az[r] += (graph.weights[e] * z[graph.cols[e]]) / Math.sqrt(deg[r] * deg[graph.cols[e]])));
    const lambda = dot(z, az) / dot(z, z);
    const residual = Math.sqrt(az.reduce((s, v, i) => s + (v - lambda * z[i]) ** 2, 0) / dot(z, z));
    assert.ok(residual < 3e-4, `dimension ${c}: eigenvalue ${lambda}, residual ${residual}`);
  }
});

test('a graph of several components starts at random, and says so', async () => {
  const { x } = blobs(3, 30, 8, 2, 0.1);
  const out = await umapLayout(x, { neighbors: 5, minDist: 0.1, dims: 2, metric: 'euclidean', seed: 0, epochs: 20 });
  assert.match(out.note ?? '', /random UMAP start: the neighbour graph has 3 connected components/);
  assert.deepEqual(out.points, await umapEmbed(x, { neighbors: 5, minDist: 0.1, dims: 2, metric: 'euclidean', seed: 0, epochs: 20, init: 'random' }));
});

test("the default epochs are umap-learn's: 500 up to 10,000 points (umap-js would run 400 on 2,600)", async () => {
  const { x } = blobs(2, 1300, 3, 3, 3);
  const s = { neighbors: 5, minDist: 0.1, dims: 2, metric: 'euclidean' as const, seed: 1 };
  const dflt = await umapEmbed(x, s);
  assert.deepEqual(dflt, await umapEmbed(x, { ...s, epochs: 500 }));
  assert.notDeepEqual(dflt, await umapEmbed(x, { ...s, epochs: 400 }));
});

test("on real UC Merced features the default UMAP's ARI (after the same k-means) is within 0.02 of umap-js's, mean of seeds 0, 1, 2", { skip: ucmercedPresent() ? false : 'needs ../shared/data/ucmerced (not on a fresh machine)' }, async () => {
  const uc = await ucmercedProbeData();
  const x = vstack([uc.train, uc.val, uc.test]);
  const y = Int32Array.from([...uc.trainLabels, ...uc.valLabels, ...uc.testLabels]);
  // umap-js's embeddings as stored for these features and this umap-js (tools/make-umapjs-reference.ts), else run now.
  const stored = storedUmapJs(uc.featureHash);
  const [ours, theirs] = [[] as number[], [] as number[]];
  for (const seed of [0, 1, 2]) {
    const js = stored?.[String(seed)] ?? umapJsEmbedding(x, seed);
    theirs.push(adjustedRandIndex(y, (await kmeansBest(js, 21, 10, seed)).labels));
    const emb = await umapEmbed(x, { neighbors: 15, minDist: 0.1, dims: 2, metric: 'euclidean', seed });
    ours.push(adjustedRandIndex(y, (await kmeansBest(emb, 21, 10, seed)).labels));
  }
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  assert.ok(mean(ours) >= mean(theirs) - 0.02, `ARI ${ours.map((v) => v.toFixed(3))} vs umap-js ${theirs.map((v) => v.toFixed(3))}`);
});
