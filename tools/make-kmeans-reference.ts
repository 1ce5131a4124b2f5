/**
 * Writes scikit-learn's KMeans inertia (tools/sklearn_kmeans_reference.py; REPROBE_PYTHON names the interpreter, the
 * reference venv of tools/make-venv.sh) to test/fixtures/cluster/sklearn-kmeans.json, on:
 * - the hard synthetic cases of test/fixtures/kmeans-cases.ts, and Lloyd's alone from a fixed start on each;
 * - real UC Merced MobileNetV2 features (test/fixtures/ucmerced-features.ts, 30 images a class), when ../shared is
 *   present; the fixture records a hash of the features;
 * - those features' 2-D UMAP (reprobe's, seed 0, the `cluster` defaults), which k-means clusters in `cluster`; the
 *   coordinates are written to test/fixtures/cluster/ucmerced-umap2d.json so the test needs no ../shared for them.
 * Rerun when the cases change:   REPROBE_PYTHON=/work/main/.venv-ref/bin/python node --import tsx tools/make-kmeans-reference.ts
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { umapEmbed } from '../src/cluster/umap.ts';
import { vstack, type Matrix } from '../src/util/matrix.ts';
import { writeNpy } from '../src/util/npy.ts';
import { ucmercedPresent, ucmercedProbeData } from '../test/fixtures/ucmerced-features.ts';
import { initRows, kmeansCases } from '../test/fixtures/kmeans-cases.ts';
import { tempDir } from '../test/helpers.ts';

const fixtures = join(import.meta.dirname, '..', 'test', 'fixtures', 'cluster');
const dir = tempDir();
const cases: { name: string; file: string; k: number; init_rows?: number[] }[] = [];
const add = (name: string, k: number, x: Matrix, initRows?: number[]) => {
  const file = `case${cases.length}.npy`;
  writeFileSync(join(dir, file), writeNpy({ data: x.data, shape: [x.rows, x.cols] }));
  cases.push({ name, file, k, ...(initRows ? { init_rows: initRows } : {}) });
};
for (const c of kmeansCases()) add(c.name, c.k, c.x, initRows(c.x.rows, c.k));

let featureHash: string | undefined;
const umapPath = join(fixtures, 'ucmerced-umap2d.json');
if (ucmercedPresent()) {
  const uc = await ucmercedProbeData();
  featureHash = uc.featureHash;
  const x = vstack([uc.train, uc.val, uc.test]);
  add('ucmerced-mobilenet-v2 features', uc.numClasses, x);
  const emb = await umapEmbed(x, { neighbors: 15, minDist: 0.1, dims: 2, metric: 'euclidean', seed: 0 });
  const labels = [...uc.trainLabels, ...uc.valLabels, ...uc.testLabels];
  writeFileSync(umapPath, JSON.stringify({ made_by: 'tools/make-kmeans-reference.ts: reprobe umapEmbed (neighbors 15, min-dist 0.1, euclidean, seed 0) of the features below', feature_hash: featureHash, labels, points: emb.map((p) => p.map((v) => Number(v.toPrecision(7)))) }) + '\n');
  console.log(`wrote ${umapPath}`);
} else console.log('../shared missing: the UC Merced cases are left out');
const umap = JSON.parse(readFileSync(umapPath, 'utf8')) as { points: number[][]; labels: number[] };
add('ucmerced-mobilenet-v2 UMAP 2-D', 21, { rows: umap.points.length, cols: 2, data: Float32Array.from(umap.points.flat()) }, initRows(umap.points.length, 21));

const job = { dir, cases, seeds: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], n_init: 10 };
const out = execFileSync(process.env.REPROBE_PYTHON ?? '/usr/bin/python3', [join(import.meta.dirname, 'sklearn_kmeans_reference.py')], { input: JSON.stringify(job), encoding: 'utf8', maxBuffer: 1 << 26 });
const doc = { made_by: 'tools/make-kmeans-reference.ts', feature_hash: featureHash, ...JSON.parse(out) };
writeFileSync(join(fixtures, 'sklearn-kmeans.json'), JSON.stringify(doc, null, 1) + '\n');
console.log(`wrote ${join(fixtures, 'sklearn-kmeans.json')}`);
