import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readCsv } from '../../src/data/csv.ts';
import { writeReport } from '../../src/report/write-report.ts';
import { tempDir } from '../helpers.ts';
import { REF, writePredictionStore } from './prediction-store.ts';

test('report: per column, adjacent ranks marked from McNemar with Holm as scipy, rank intervals, and one line for what has no predictions', async () => {
  const results = tempDir();
  const { dataset } = await writePredictionStore(results);
  const out = tempDir();
  const { markdown, notes } = await writeReport(results, ['md', 'csv', 'html'], out);
  const name = `significance_${dataset.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '')}_study_lr_10`;
  const rows = await readCsv(join(out, 'csv', `${name}.csv`));
  // The reference's order (accuracies 0.95, 0.867, 0.75, 0.383); its Holm-adjusted p over the 3 adjacent pairs.
  assert.deepEqual(rows.map((r) => r.model), REF.ranks.order.map((i) => `m${i}`));
  assert.deepEqual(rows.map((r) => Number(r.accuracy)), [57 / 60, 52 / 60, 45 / 60, 23 / 60].map((x) => Number(x.toPrecision(12))));
  REF.ranks.adjacent_holm.forEach((p, i) => assert.equal(Number(rows[i]['p vs next (Holm)']), Number(p.toPrecision(4)), `row ${i}`));
  assert.equal(rows[3]['p vs next (Holm)'], '');
  assert.deepEqual(rows.map((r) => r['vs next']), ['≈ (not significant)', '≈ (not significant)', '> (significant)', '']);
  // m3 (23 of 60) is below m2 (45 of 60) in every resample: rank 4 exactly; m0 can never be last.
  assert.equal(rows[3]['rank 95%'], '4');
  assert.match(rows[0]['rank 95%'], /^1(–[23])?$/);
  // `old` has no predictions, m1's knn_10 ran on other images: one line each, nothing guessed.
  assert.ok(notes.some((n) => /lr_10 \(seed 0\): ranked without old \(its record keeps no predictions\)\.$/.test(n)), notes.join('\n'));
  assert.ok(notes.some((n) => /knn_10 \(seed 0\): no significance ranking; no predictions to compare for m1 \(50 test images, not 60 than m0\)\.$/.test(n)), notes.join('\n'));
  assert.match(markdown, /### .* lr_10: ranks on the same 60 test images \(seed 0\), 95% rank interval, McNemar vs the next rank \(Holm over 3 pairs\)/);
  assert.match(readFileSync(join(out, 'report.html'), 'utf8'), /id="t-significance_.*_lr_10"/);
});
