import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ConfusedPair } from '../../src/results/record.ts';
import { tempDir } from '../helpers.ts';

const home = tempDir();
const bin = join(import.meta.dirname, '..', '..', 'bin', 'reprobe.mjs');

function reprobe(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, REPROBE_HOME: home } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

type Rec = Record<string, unknown> & { method: string; value: number; n_test: number; cell_id: string; confused_pairs?: ConfusedPair[] };
const readJsonl = (path: string) => readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Rec);
/** 3 training digits per class, 10 test digits per class: n_a = n_b = 10 in every pair. */
const CELL = ['-b', 'mobilenet-v2', '-d', 'mnist', '--shots', '3', '--test-per-class', '10'];

/** Pairs as the records must hold them: a before b in class order, IoU from the counts, ranked by IoU then classes. */
function checkPairs(pairs: ConfusedPair[], classes: string[], top: number, what: string): void {
  assert.ok(pairs.length <= top, `${what}: at most ${top}`);
  for (const p of pairs) {
    assert.ok(classes.indexOf(p.a) < classes.indexOf(p.b), `${what}: ${p.a} before ${p.b}`);
    assert.deepEqual([p.n_a, p.n_b], [10, 10], `${what}: n_a and n_b are the test images of each class`);
    assert.ok(p.m_ab <= p.n_a && p.m_ba <= p.n_b && p.m_ab + p.m_ba > 0, what);
    assert.equal(p.iou, (p.m_ab + p.m_ba) / (p.n_a + p.n_b), what);
  }
  const key = (p: ConfusedPair) => [-p.iou, classes.indexOf(p.a), classes.indexOf(p.b)];
  for (let i = 1; i < pairs.length; i++) {
    const [x, y] = [key(pairs[i - 1]), key(pairs[i])];
    assert.ok(x[0] < y[0] || (x[0] === y[0] && (x[1] < y[1] || (x[1] === y[1] && x[2] < y[2]))), `${what}: ranked`);
  }
}

test('probe --top-pairs: a most-confused-pairs table per (backbone, method, test set), records carry confused_pairs with consistent counts', () => {
  const classes = Array.from({ length: 10 }, (_, i) => String(i));
  const results = tempDir();
  const r = reprobe('probe', ...CELL, '--top-pairs', '3', '--results-dir', results);
  assert.equal(r.code, 0, r.err);
  for (const m of ['knn', 'lr']) assert.match(r.out, new RegExp(`most confused pairs: mobilenet-v2 ${m} on test\\nclass_a\\s+class_b\\s+iou\\s+m_ab\\s+m_ba\\s+n_a\\s+n_b\\n`));
  const recs = readJsonl(join(results, 'probe.jsonl'));
  assert.deepEqual(recs.map((x) => x.method), ['knn', 'lr']);
  for (const rec of recs) {
    assert.equal(rec.n_test, 100);
    assert.ok(rec.confused_pairs!.length > 0, `${rec.method} at ${rec.value} makes mistakes`);
    checkPairs(rec.confused_pairs!, classes, 3, rec.method);
    // The table shows each pair's row as the record holds it.
    const p = rec.confused_pairs![0];
    assert.match(r.out, new RegExp(`\\n${p.a}\\s+${p.b}\\s+${p.iou.toFixed(4)}\\s+${p.m_ab}\\s+${p.m_ba}\\s+10\\s+10\\n`));
  }

  // Every pair (45 of 10 classes): their mistakes add up to every wrong test image. Without the flag: no field, no table.
  const all = reprobe('probe', ...CELL, '--top-pairs', '45', '--results-dir', results);
  assert.equal(all.code, 0, all.err);
  const off = reprobe('probe', ...CELL, '--results-dir', results);
  assert.equal(off.code, 0, off.err);
  assert.doesNotMatch(off.out, /most confused pairs/);
  const [full, plain] = [readJsonl(join(results, 'probe.jsonl')).slice(2, 4), readJsonl(join(results, 'probe.jsonl')).slice(4, 6)];
  for (const [i, rec] of full.entries()) {
    checkPairs(rec.confused_pairs!, classes, 45, `${rec.method} (all pairs)`);
    const wrong = rec.confused_pairs!.reduce((s, p) => s + p.m_ab + p.m_ba, 0);
    assert.equal(wrong, Math.round(rec.n_test * (1 - rec.value)), `${rec.method}: the pairs hold every mistake`);
    assert.deepEqual(rec.confused_pairs!.slice(0, 3), recs[i].confused_pairs, `${rec.method}: the top 3 are the first 3 of all`);
    assert.equal(plain[i].value, rec.value);
    assert.equal(plain[i].confused_pairs, undefined);
  }
});

test('finetune --top-pairs: the fine-tuned head lists its confused pairs in the terminal and the record', () => {
  const results = tempDir();
  const r = reprobe('finetune', ...CELL, '--train', 'head', '--lr', '0.01', '--max-epochs', '10', '--top-pairs', '2', '--results-dir', results);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /most confused pairs: mobilenet-v2 finetune \(train head\) on test\n/);
  const [rec] = readJsonl(join(results, 'finetune.jsonl'));
  assert.ok(rec.confused_pairs!.length > 0);
  checkPairs(rec.confused_pairs!, Array.from({ length: 10 }, (_, i) => String(i)), 2, 'finetune');
});

test('--top-pairs takes a whole number >= 0: anything else is one line', () => {
  const r = reprobe('probe', ...CELL, '--top-pairs', 'many');
  assert.equal(r.code, 2);
  assert.equal(r.err.trim().split('\n').length, 1);
  assert.match(r.err, /Invalid --top-pairs/);
});
