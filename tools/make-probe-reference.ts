/**
 * Writes test/fixtures/probes/sklearn-reference.json: scikit-learn's answers (tools/sklearn_reference.py, Debian
 * python3-sklearn) on the generated datasets of test/fixtures/probe-data.ts. Rerun when those datasets change:
 *   node --import tsx tools/make-probe-reference.ts
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROBE_DEFAULTS } from '../src/config/defaults.ts';
import { writeNpy } from '../src/util/npy.ts';
import { metricCase, probeDatasets } from '../test/fixtures/probe-data.ts';
import { tempDir } from '../test/helpers.ts';

const dir = tempDir();
const sets = probeDatasets();
for (const d of sets) {
  for (const [part, m] of [['train', d.train], ['val', d.val], ['test', d.test]] as const) writeFileSync(join(dir, `${d.name}.${part}.npy`), writeNpy({ data: m.data, shape: [m.rows, m.cols] }));
  for (const [part, y] of [['train_labels', d.trainLabels], ['val_labels', d.valLabels], ['test_labels', d.testLabels]] as const) writeFileSync(join(dir, `${d.name}.${part}.npy`), writeNpy({ data: y, shape: [y.length] }));
}
const mc = metricCase();
const job = { dir, datasets: sets.map((d) => d.name), c_grid: PROBE_DEFAULTS.lr.cGrid, k: [1, 5, 20], metric_case: { truth: [...mc.truth], pred: [...mc.pred], num_classes: mc.numClasses } };
const out = execFileSync(process.env.REPROBE_PYTHON ?? '/usr/bin/python3', [join(import.meta.dirname, 'sklearn_reference.py')], { input: JSON.stringify(job), encoding: 'utf8' });
const path = join(import.meta.dirname, '..', 'test', 'fixtures', 'probes', 'sklearn-reference.json');
writeFileSync(path, JSON.stringify(JSON.parse(out), null, 1) + '\n');
console.log(`wrote ${path}`);
