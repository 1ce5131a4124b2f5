/**
 * Writes DINO's weighted kNN predictions (tools/dino_knn_reference.py, its knn_classifier transcribed in numpy) to
 * test/fixtures/probes/dino-knn.json, on the generated datasets of test/fixtures/probe-data.ts and, when ../shared is
 * present, on real UC Merced MobileNetV2 features (test/fixtures/ucmerced-features.ts; the hash of the features is
 * recorded). REPROBE_PYTHON names an interpreter with numpy (e.g. the reference venv of tools/make-venv.sh).
 * Rerun when those datasets change:   node --import tsx tools/make-knn-vote-reference.ts
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeNpy } from '../src/util/npy.ts';
import { probeDatasets, type ProbeData } from '../test/fixtures/probe-data.ts';
import { ucmercedPresent, ucmercedProbeData } from '../test/fixtures/ucmerced-features.ts';
import { tempDir } from '../test/helpers.ts';

const dir = tempDir();
const sets: ProbeData[] = probeDatasets();
let featureHash: string | undefined;
if (ucmercedPresent()) {
  const uc = await ucmercedProbeData();
  featureHash = uc.featureHash;
  sets.push(uc);
} else console.log('../shared missing: the UC Merced predictions are left out');
for (const d of sets) {
  writeFileSync(join(dir, `${d.name}.train.npy`), writeNpy({ data: d.train.data, shape: [d.train.rows, d.train.cols] }));
  writeFileSync(join(dir, `${d.name}.test.npy`), writeNpy({ data: d.test.data, shape: [d.test.rows, d.test.cols] }));
  writeFileSync(join(dir, `${d.name}.train_labels.npy`), writeNpy({ data: Int32Array.from(d.trainLabels), shape: [d.trainLabels.length] }));
}
// DINO's eval_knn defaults: nb_knn 10, 20, 100, 200 and temperature 0.07.
const job = { dir, datasets: sets.map((d) => d.name), k: [10, 20, 100, 200], T: 0.07 };
const out = execFileSync(process.env.REPROBE_PYTHON ?? '/usr/bin/python3', [join(import.meta.dirname, 'dino_knn_reference.py')], { input: JSON.stringify(job), encoding: 'utf8', maxBuffer: 1 << 26 });
const path = join(import.meta.dirname, '..', 'test', 'fixtures', 'probes', 'dino-knn.json');
writeFileSync(path, JSON.stringify({ made_by: 'tools/make-knn-vote-reference.ts (DINO eval_knn.knn_classifier in numpy)', feature_hash: featureHash, ...JSON.parse(out) }) + '\n');
console.log(`wrote ${path}`);
