import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { attentionBackbone } from '../fixtures/onnx-vit-attention.ts';
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

test('store content printed to a terminal has its control characters escaped: results predictions (to a pipe: the data as is), compare, explain\'s listing; cluster plots such names', { skip: spawnSync('script', ['--version']).status === 0 ? false : 'script (util-linux) is not on PATH' }, async () => {
  const [results, home, dir] = [tempDir(), tempDir(), tempDir()];
  attentionBackbone(dir, { size: 16, patch: 4, width: 8, heads: 2, layers: 3, seed: 9 });
  // Class folders whose names set the terminal title, clear the screen and reverse the text (bidi override).
  const data = join(tempDir(), 'ds\x1b[31m');
  const classes = ['a\x1b]0;pwn\x07', 'b\u202eevil', 'c\x1b[2J'];
  for (const [k, c] of classes.entries())
    for (let i = 0; i < 3; i++) {
      mkdirSync(join(data, c), { recursive: true });
      await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 60 * k + 20 * i, g: 90 * i, b: 90 } } }).png().toFile(join(data, c, `${i}.png`));
    }
  const b = ['-b', join(dir, 'model.onnx'), '--card', join(dir, 'card.json')];
  const probe = reprobe(['probe', ...b, '-d', `folder:${data}`, '--shots', '1', '--val-per-class', '0', '--probe', 'knn', '--results-dir', results], home);
  assert.equal(probe.status, 0, probe.stderr);
  const cell = String(stored(results)[0].cell_id);
  const raw = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202e]/;
  // Through a pseudo-terminal (script): stdout is a TTY there.
  const tty = (args: string[]) => {
    const line = [process.execPath, bin, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    return spawnSync('script', ['-qefc', line, '/dev/null'], { encoding: 'utf8', env: { ...process.env, REPROBE_HOME: home } });
  };
  const shown = tty(['results', 'predictions', cell, '--results-dir', results]);
  assert.equal(shown.status, 0, shown.stdout);
  assert.doesNotMatch(shown.stdout, raw);
  for (const c of ['a\\u001b]0;pwn\\u0007', 'b\\u202eevil', 'c\\u001b[2J']) assert.ok(shown.stdout.includes(`${c}/`), `${c} shown escaped in an id`);
  const piped = reprobe(['results', 'predictions', cell, '--results-dir', results], home);
  assert.equal(piped.status, 0, piped.stderr);
  assert.deepEqual(new Set(piped.stdout.trim().split('\n').slice(1).map((l) => l.split(',')[1])), new Set(classes), 'to a pipe, the class names as data');
  const compare = tty(['compare', cell, cell, '--results-dir', results]);
  assert.equal(compare.status, 0, compare.stdout);
  assert.doesNotMatch(compare.stdout, raw);
  assert.match(compare.stdout, /ds\\u001b\[31m/);
  // explain lists its files under --out as typed; cluster's UMAP plot carries the class names into SVG (a BEL is no XML).
  const out = join(tempDir(), 'o\x1b[2Jut');
  const explain = reprobe(['explain', ...b, '--method', 'rollout', '--image', join(data, classes[0], '0.png'), '--out', out], home);
  assert.equal(explain.status, 0, explain.stderr);
  assert.doesNotMatch(explain.stdout, raw);
  assert.ok(explain.stdout.includes('o\\u001b[2Jut'), explain.stdout);
  const cluster = reprobe(['cluster', ...b, '-d', `folder:${data}`, '--shots', '1', '--val-per-class', '0', '--results-dir', tempDir()], home);
  assert.equal(cluster.status, 0, cluster.stderr);
  assert.doesNotMatch(cluster.stdout, raw, 'its ranking table has the dataset as a column header');
  assert.match(cluster.stdout, /ds\\u001b\[31m/);
});
