import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DataError } from '../../src/errors.ts';
import { alignPredictions, comparePair, type PredictionRow } from '../../src/report/compare.ts';
import { writeJobRecords } from '../../src/results/job-store.ts';
import { tempDir } from '../helpers.ts';
import { REF as RANKS, writePredictionStore } from './prediction-store.ts';

/** tools/paired_reference.py: 60 images, A and B's predictions, groups, and scipy/scikit-learn's numbers on them. */
const REF = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'paired', 'paired-reference.json'), 'utf8')) as {
  paired: { truth: number[]; a: number[]; b: number[]; groups: number[]; b_count: number; c_count: number; mcnemar_p: number; bootstrap: Record<string, { diff: number }> };
};
const { truth, a, b, groups } = REF.paired;
const REF_PREDS = RANKS.ranks.preds;
/** A's rows in image order, B's reversed and with class names as text: alignment is by id, not by position. */
const rowsA: PredictionRow[] = truth.map((t, i) => ({ id: `img${i}`, true: `c${t}`, pred: `c${a[i]}`, group: `g${groups[i]}` }));
const rowsB: PredictionRow[] = truth.map((t, i) => ({ id: `img${i}`, true: `c${t}`, pred: `c${b[i]}`, group: `g${groups[i]}` })).reverse();

test('compare: McNemar and the A − B of accuracy, macro-F1 and worst-group accuracy agree with scipy and scikit-learn', () => {
  const r = comparePair(alignPredictions(rowsA, rowsB, ['A', 'B']), 300, 1);
  assert.deepEqual([r.n, r.b, r.c], [60, REF.paired.b_count, REF.paired.c_count]);
  assert.ok(Math.abs(r.mcnemarP - REF.paired.mcnemar_p) < 1e-12, `${r.mcnemarP} ≠ ${REF.paired.mcnemar_p}`);
  assert.deepEqual(r.metrics.map((m) => m.name), ['accuracy', 'macro_f1', 'worst_group_accuracy']);
  for (const m of r.metrics) {
    assert.ok(Math.abs(m.diff - REF.paired.bootstrap[m.name].diff) < 1e-12, `${m.name}: ${m.diff}`);
    assert.ok(Math.abs(m.a - m.b - m.diff) < 1e-12 && m.low <= m.diff && m.diff <= m.high, `${m.name}: [${m.low}, ${m.high}]`);
  }
  assert.deepEqual(comparePair(alignPredictions(rowsA, rowsB, ['A', 'B']), 300, 1), r, 'the same seed, the same intervals');
});

test('compare refuses different images, repeated ids and disagreeing true labels', () => {
  assert.throws(() => alignPredictions(rowsA, rowsB.slice(1), ['a.csv', 'b.csv']), (e: Error) => e instanceof DataError && /1 ids only in the first \(e\.g\. "img59"\), 0 only in the second/.test(e.message));
  assert.throws(() => alignPredictions([...rowsA, rowsA[0]], rowsB, ['a.csv', 'b.csv']), /a\.csv: image id "img0" appears twice/);
  const wrong = rowsB.map((r) => (r.id === 'img3' ? { ...r, true: 'other' } : r));
  assert.throws(() => alignPredictions(rowsA, wrong, ['a.csv', 'b.csv']), /Image "img3": true label "c\d" in a\.csv but "other" in b\.csv/);
  // Without groups, no worst-group accuracy.
  const r = comparePair(alignPredictions(rowsA.map(({ group: _, ...x }) => x), rowsB, ['A', 'B']), 10, 0);
  assert.deepEqual(r.metrics.map((m) => m.name), ['accuracy', 'macro_f1']);
  // Nor when some images have no group.
  const some = comparePair(alignPredictions(rowsA.map((x, i) => (i === 5 ? { ...x, group: '' } : x)), rowsB, ['A', 'B']), 10, 0);
  assert.deepEqual(some.metrics.map((m) => m.name), ['accuracy', 'macro_f1']);
});

test('reprobe compare A.csv B.jsonl prints the pair', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'a.csv'), ['id,true,pred,group', ...rowsA.map((r) => `${r.id},${r.true},${r.pred},${r.group}`)].join('\n') + '\n');
  writeFileSync(join(dir, 'b.jsonl'), rowsB.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const bin = join(import.meta.dirname, '..', '..', 'bin', 'reprobe.mjs');
  const r = spawnSync(process.execPath, [bin, 'compare', join(dir, 'a.csv'), join(dir, 'b.jsonl'), '--resamples', '200'], { encoding: 'utf8', env: { ...process.env, REPROBE_HOME: tempDir() } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`A right and B wrong ${REF.paired.b_count}, A wrong and B right ${REF.paired.c_count}, p = ${REF.paired.mcnemar_p.toPrecision(4)}`));
  assert.match(r.stdout, new RegExp(`accuracy: A .* A − B ${REF.paired.bootstrap.accuracy.diff.toFixed(4)} \\[`));
  assert.match(r.stdout, /worst_group_accuracy: /);
  writeFileSync(join(dir, 'bad.csv'), 'id,truth,pred\nimg0,c1,c1\n');
  const bad = spawnSync(process.execPath, [bin, 'compare', join(dir, 'a.csv'), join(dir, 'bad.csv')], { encoding: 'utf8' });
  assert.match(bad.stderr, /bad\.csv: row 1 has no "true"; each row needs id, true, pred/);
});

test('reprobe compare CELL CELL: store cells by id or unique prefix, the same numbers as their predictions files; other images refused in one line', async () => {
  const results = tempDir();
  const { records } = await writePredictionStore(results);
  const cell = (backbone: string, method: string) => records.find((r) => r.backbone === backbone && r.method === method)!.cell_id;
  const bin = join(import.meta.dirname, '..', '..', 'bin', 'reprobe.mjs');
  const run = (...args: string[]) => spawnSync(process.execPath, [bin, 'compare', ...args, '--results', results, '--resamples', '200'], { encoding: 'utf8', env: { ...process.env, REPROBE_HOME: tempDir() } });
  const [m0, m1] = [cell('m0', 'lr'), cell('m1', 'lr')];
  const byCell = run(m0.slice(0, -1), m1);
  assert.equal(byCell.status, 0, byCell.stderr);
  // By hand from the reference's predictions: images m0 gets right and m1 wrong, and the reverse.
  const [p0, p1] = REF_PREDS;
  const b = truth.filter((t, i) => p0[i] === t && p1[i] !== t).length;
  const c = truth.filter((t, i) => p1[i] === t && p0[i] !== t).length;
  assert.match(byCell.stdout, new RegExp(`^A = m0 lr_10 on folder:.* \\(test, seed 0, cell .{8}\\), B = m1 lr_10 .*: 60 images\\nMcNemar \\(exact, two-sided\\): A right and B wrong ${b}, A wrong and B right ${c}, p = `));
  // The same predictions as files (what `results predictions` prints): the same lines after the names.
  const dir = tempDir();
  for (const [name, id] of [['a.csv', m0], ['b.csv', m1]]) {
    const csv = spawnSync(process.execPath, [bin, 'results', 'predictions', id, '--results-dir', results], { encoding: 'utf8' });
    assert.equal(csv.status, 0, csv.stderr);
    writeFileSync(join(dir, name), csv.stdout);
  }
  const byFile = run(join(dir, 'a.csv'), join(dir, 'b.csv'));
  assert.equal(byFile.status, 0, byFile.stderr);
  assert.equal(byCell.stdout.split('\n').slice(1).join('\n'), byFile.stdout.split('\n').slice(1).join('\n'));
  // m1's knn_10 ran on 50 of the 60 images.
  const other = run(cell('m0', 'knn'), cell('m1', 'knn'));
  assert.equal(other.status, 2);
  assert.match(other.stderr, /^reprobe: .* are not the same test images: 10 ids only in the first \(e\.g\. "[^"]+"\), 0 only in the second .*\n$/);
  const ambiguous = run('folder', m1);
  assert.equal(ambiguous.status, 2);
  assert.match(ambiguous.stderr, /^reprobe: \d+ cells start with "folder" .*; give more of its cell_id\.\n$/);
  const old = run(cell('old', 'lr'), m1);
  assert.match(old.stderr, /^reprobe: The record of cell .* \(old lr on .*\) keeps no predictions; .*\n$/);
});

test('reprobe compare CELL CELL refuses cells of two datasets whose image ids coincide (0.png in both is not one image)', async () => {
  const results = tempDir();
  const { records } = await writePredictionStore(results);
  const m1 = records.find((r) => r.backbone === 'm1' && r.method === 'lr')!;
  const m0 = records.find((r) => r.backbone === 'm0' && r.method === 'lr')!;
  // m1's record and predictions, as if run on another folder with the same file names.
  await writeJobRecords(results, 'elsewhere', [{ ...m1, dataset: 'folder:/elsewhere', cell_id: `${m1.cell_id}x`, run_id: `${m1.run_id}x` }]);
  const bin = join(import.meta.dirname, '..', '..', 'bin', 'reprobe.mjs');
  const r = spawnSync(process.execPath, [bin, 'compare', m0.cell_id, `${m1.cell_id}x`, '--results', results], { encoding: 'utf8', env: { ...process.env, REPROBE_HOME: tempDir() } });
  assert.equal(r.status, 2, r.stdout);
  assert.match(r.stderr, /^reprobe: A and B are cells of two datasets \(folder:.*images.* and folder:\/elsewhere.*\): compare needs the same test images\.\n$/);
});
