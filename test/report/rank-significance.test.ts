import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { rankSignificance } from '../../src/report/rank-significance.ts';

/** tools/paired_reference.py: 4 models on 60 images, 200 resamples; McNemar by scipy's binomtest, Holm from its definition, numpy percentiles. */
const REF = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'paired', 'paired-reference.json'), 'utf8')) as {
  paired: { truth: number[]; indices: number[][] };
  ranks: { preds: number[][]; order: number[]; adjacent_holm: number[]; intervals: { low: number; high: number }[] };
};
const I = (xs: number[]) => Int32Array.from(xs);

test("a table's ranking: rows best first, Holm-adjusted McNemar between adjacent rows and rank intervals, as scipy and numpy", () => {
  // Given in reverse, so the order is the function's.
  const models = REF.ranks.preds.map((p, i) => ({ name: `m${i}`, pred: I(p) })).reverse();
  const rows = rankSignificance(I(REF.paired.truth), models, REF.paired.indices.map(I));
  assert.deepEqual(rows.map((r) => r.name), REF.ranks.order.map((i) => `m${i}`));
  rows.slice(0, -1).forEach((r, i) => assert.ok(Math.abs(r.pNext! - REF.ranks.adjacent_holm[i]) < 1e-10, `${r.name} vs next: ${r.pNext} ≠ ${REF.ranks.adjacent_holm[i]}`));
  assert.equal(rows.at(-1)!.pNext, null);
  assert.deepEqual(rows.map((r) => r.significantNext), [...REF.ranks.adjacent_holm.map((p) => p < 0.05), false]);
  assert.deepEqual(rows.map((r) => ({ low: r.rankLow, high: r.rankHigh })), REF.ranks.order.map((i) => REF.ranks.intervals[i]));
});

test('adjacent rows are significant only after Holm: two raw p of 1/32 each become 1/16 (by hand)', () => {
  // 20 images of class 0: A right on all, B wrong on images 0-5, C wrong on 0-11. A vs B and B vs C: 6 discordant images
  // all one way, exact p = 2 / 2^6 = 1/32 each; Holm over the 2 pairs: 2/32 = 0.0625 > 0.05.
  const truth = new Int32Array(20);
  const wrong = (k: number) => Int32Array.from({ length: 20 }, (_, i) => (i < k ? 1 : 0));
  const rows = rankSignificance(truth, [{ name: 'C', pred: wrong(12) }, { name: 'A', pred: wrong(0) }, { name: 'B', pred: wrong(6) }], [Int32Array.from({ length: 20 }, (_, i) => i)]);
  assert.deepEqual(rows.map((r) => [r.name, r.score, r.pNext === null ? null : Number(r.pNext.toFixed(12)), r.significantNext]), [['A', 1, 1 / 16, false], ['B', 0.7, 1 / 16, false], ['C', 0.4, null, false]]);
  assert.deepEqual(rows.map((r) => [r.rankLow, r.rankHigh]), [[1, 1], [2, 2], [3, 3]]);
});
