import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../helpers.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'reprobe.mjs');
const reprobe = (args: string[], home: string) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, REPROBE_HOME: home } });

/** The store's records, read as plain JSON. */
const stored = (results: string) => readdirSync(join(results, 'records')).flatMap((f) => readFileSync(join(results, 'records', f), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>));

test("results predictions prints a probe cell's per-image predictions as CSV that recompute its accuracy exactly; clustering keeps its assignments", () => {
  const [results, home] = [tempDir(), tempDir()];
  const probe = reprobe(['probe', '-b', 'mobilenet-v2', '-d', 'mnist', '--shots', '2', '--test-per-class', '5', '--probe', 'knn,lr', '--results-dir', results], home);
  assert.equal(probe.status, 0, probe.stderr);
  for (const rec of stored(results)) {
    const r = reprobe(['results', 'predictions', String(rec.cell_id).slice(0, 10), '--results-dir', results], home);
    assert.equal(r.status, 0, r.stderr);
    const [head, ...rows] = r.stdout.trim().split('\n').map((l) => l.split(','));
    assert.deepEqual(head, ['id', 'true', 'pred', ...[1, 2, 3, 4, 5].flatMap((k) => [`top${k}`, `top${k}_score`])]);
    // The images are the split file's test images, in its order; right answers / images = the record's accuracy.
    const split = JSON.parse(readFileSync(String(rec.split_file), 'utf8')) as { tests: { test: string[] }; labels: Record<string, number> };
    assert.deepEqual(rows.map((x) => x[0]), split.tests.test);
    assert.deepEqual(rows.map((x) => x[1]), split.tests.test.map((id) => String(split.labels[id])), 'mnist class names are the digits');
    assert.equal(rows.length, rec.n_test);
    assert.equal(rows.filter((x) => x[1] === x[2]).length / rows.length, rec.value, `${String(rec.method)}: accuracy from the CSV`);
    // Top-5: five distinct classes, scores not increasing, the first the prediction.
    for (const x of rows) {
      const scores = [4, 6, 8, 10, 12].map((j) => Number(x[j]));
      assert.equal(new Set([3, 5, 7, 9, 11].map((j) => x[j])).size, 5);
      assert.ok(scores.every((s, j) => j === 0 || s <= scores[j - 1]), x.join(','));
      if (rec.method === 'lr') assert.equal(x[3], x[2]);
    }
  }
  const clusters = tempDir();
  const c = reprobe(['cluster', '-b', 'mobilenet-v2', '-d', 'mnist', '--shots', '1', '--test-per-class', '3', '--neighbors', '5', '--results-dir', clusters], home);
  assert.equal(c.status, 0, c.stderr);
  for (const rec of stored(clusters)) {
    const r = reprobe(['results', 'predictions', String(rec.cell_id), '--results-dir', clusters], home);
    assert.equal(r.status, 0, r.stderr);
    const [head, ...rows] = r.stdout.trim().split('\n').map((l) => l.split(','));
    assert.deepEqual(head, ['id', 'true', 'cluster']);
    assert.equal(rows.length, rec.n_points);
    assert.equal(new Set(rows.map((x) => x[0])).size, rows.length);
    assert.ok(rows.every((x) => Number(x[2]) >= 0 && Number(x[2]) < Number(rec.k)));
  }
  const none = reprobe(['results', 'predictions', 'ffffffffffff', '--results-dir', results], home);
  assert.equal(none.status, 2);
  assert.match(none.stderr, /No record of cell "ffffffffffff"/);
});
