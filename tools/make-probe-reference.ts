/**
 * Writes scikit-learn's answers (tools/sklearn_reference.py, Debian python3-sklearn) as test fixtures:
 * - test/fixtures/probes/sklearn-reference.json on the generated datasets of test/fixtures/probe-data.ts, plus metrics;
 * - test/fixtures/probes/sklearn-ucmerced.json on real UC Merced MobileNetV2 features (test/fixtures/ucmerced-features.ts),
 *   when ../shared is present; it records a hash of the features the answers were computed on.
 * Rerun when those datasets change:   node --import tsx tools/make-probe-reference.ts
 * With REPROBE_PYTHON naming another interpreter (the reference venv of tools/make-venv.sh, the newest scikit-learn on
 * the machine's package index) and REPROBE_SKLEARN_TAG=newest, the same answers go to sklearn-reference-newest.json
 * and sklearn-ucmerced-newest.json.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LR_OPTIONS } from '../src/probes/logreg-probe.ts';
import { defaultsOf } from '../src/util/options.ts';
import { writeNpy } from '../src/util/npy.ts';
import { metricCase, probeDatasets, type ProbeData } from '../test/fixtures/probe-data.ts';
import { ucmercedPresent, ucmercedProbeData } from '../test/fixtures/ucmerced-features.ts';
import { tempDir } from '../test/helpers.ts';

const fixtures = join(import.meta.dirname, '..', 'test', 'fixtures', 'probes');

function sklearnAnswers(sets: ProbeData[]): Record<string, unknown> {
  const dir = tempDir();
  for (const d of sets) {
    for (const [part, m] of [['train', d.train], ['val', d.val], ['test', d.test]] as const) writeFileSync(join(dir, `${d.name}.${part}.npy`), writeNpy({ data: m.data, shape: [m.rows, m.cols] }));
    for (const [part, y] of [['train_labels', d.trainLabels], ['val_labels', d.valLabels], ['test_labels', d.testLabels]] as const) writeFileSync(join(dir, `${d.name}.${part}.npy`), writeNpy({ data: y, shape: [y.length] }));
  }
  const mc = metricCase();
  const job = { dir, datasets: sets.map((d) => d.name), c_grid: defaultsOf(LR_OPTIONS).lrC, k: [1, 5, 20], metric_case: { truth: [...mc.truth], pred: [...mc.pred], num_classes: mc.numClasses } };
  const out = execFileSync(process.env.REPROBE_PYTHON ?? '/usr/bin/python3', [join(import.meta.dirname, 'sklearn_reference.py')], { input: JSON.stringify(job), encoding: 'utf8', maxBuffer: 1 << 26 });
  return JSON.parse(out);
}

const tag = process.env.REPROBE_SKLEARN_TAG ? `-${process.env.REPROBE_SKLEARN_TAG}` : '';

function write(name: string, doc: unknown): void {
  const path = join(fixtures, name.replace(/\.json$/, `${tag}.json`));
  writeFileSync(path, JSON.stringify(doc, null, 1) + '\n');
  console.log(`wrote ${path}`);
}

write('sklearn-reference.json', sklearnAnswers(probeDatasets()));
if (ucmercedPresent()) {
  const uc = await ucmercedProbeData();
  const { sklearn, datasets } = sklearnAnswers([uc]) as { sklearn: string; datasets: unknown };
  write('sklearn-ucmerced.json', { sklearn, feature_hash: uc.featureHash, datasets });
} else console.log('../shared missing: sklearn-ucmerced.json left as it is');
