import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../helpers.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'reprobe.mjs');

test('probe --seeds 0,1 repeats the split and the fit and prints mean ± std with n; --bootstrap adds a 95 % interval; every record holds its provenance', () => {
  const results = tempDir();
  const r = spawnSync(process.execPath, [bin, 'probe', '-b', 'mobilenet-v2', '-d', 'mnist', '--shots', '2', '--test-per-class', '6', '--probe', 'knn', '--seeds', '0,1', '--bootstrap', '200', '--results-dir', results], {
    encoding: 'utf8',
    env: { ...process.env, REPROBE_HOME: tempDir() },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /mean ± std\s+n\s+seeds/);
  assert.match(r.stdout, /mobilenet-v2\s+knn\s+2\s+test\s+accuracy\s+\d\.\d{4} ± \d\.\d{4}\s+2\s+0,1/);
  const recs = readdirSync(join(results, 'records')).flatMap((f) => readFileSync(join(results, 'records', f), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>));
  assert.deepEqual(recs.map((x) => x.seed).sort(), [0, 1]);
  assert.notEqual(recs[0].split_hash, recs[1].split_hash);
  for (const x of recs) {
    const ci = x.ci95 as { low: number; high: number; level: number; resamples: number };
    assert.ok(ci.low <= (x.value as number) && (x.value as number) <= ci.high && ci.resamples === 200 && ci.level === 0.95, JSON.stringify(ci));
    assert.match(String(x.weights_sha256), /^[0-9a-f]{64}$/);
    const pre = x.preprocess as { resize: string; interpolation: string; mean: number[]; input: { layout: string } };
    assert.ok(pre.resize && pre.interpolation && pre.mean.length === 3 && pre.input.layout, JSON.stringify(pre));
    assert.ok((x.threads as number) >= 1);
    const hw = x.hardware as { cpu: string; cores: number; features: string[] };
    assert.ok(hw.cpu.length > 0 && hw.cores >= 1 && Array.isArray(hw.features));
  }
});
