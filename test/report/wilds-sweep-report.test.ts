import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { generatedFmow } from '../fixtures/generated-fmow.ts';
import { tempDir } from '../helpers.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'reprobe.mjs');

test('a 3-seed WILDS clustering sweep: 3 cells per test set, and the report shows their mean ± std with n = 3', async () => {
  const dir = tempDir();
  const env = { ...process.env, REPROBE_HOME: tempDir() };
  const results = join(dir, 'results');
  const file = join(dir, 'fmow.yaml');
  // Clustering on WILDS scores each official test set: nothing is drawn, so only the seed tells the three runs apart.
  writeFileSync(file, stringify({ backbones: ['mobilenet-v2'], datasets: ['fmow'], dataRoot: await generatedFmow(), shots: [1], seeds: [0, 1, 2], methods: { cluster: { neighbors: 5 } }, resultsDir: results }));
  const sweep = spawnSync(process.execPath, [bin, 'sweep', file], { encoding: 'utf8', env });
  assert.equal(sweep.status, 0, sweep.stderr);
  const records = readdirSync(join(results, 'records')).flatMap((f) => readFileSync(join(results, 'records', f), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { cell_id: string; eval_split: string; value: number; seed: number }));
  assert.equal(records.length, 6);
  assert.equal(new Set(records.map((r) => r.cell_id)).size, 6, 'one cell per (seed, test set)');
  const report = spawnSync(process.execPath, [bin, 'report', results, '--out', join(dir, 'report')], { encoding: 'utf8', env });
  assert.equal(report.status, 0, report.stderr);
  for (const set of ['id_test', 'ood_test']) {
    const v = records.filter((r) => r.eval_split === set).map((r) => r.value);
    const mean = (v[0] + v[1] + v[2]) / 3;
    const std = Math.sqrt(((v[0] - mean) ** 2 + (v[1] - mean) ** 2 + (v[2] - mean) ** 2) / 2);
    assert.match(report.stdout, new RegExp(`\\| fmow \\| ${set} \\| cluster \\| 1 \\| mobilenet-v2 \\| \\**${mean.toFixed(4)} ± ${std.toFixed(4)} \\(n=3\\)`), `${set}: ${v.join(', ')}\n${report.stdout}`);
  }
});
