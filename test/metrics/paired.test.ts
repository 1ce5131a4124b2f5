import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { accuracy, f1, groupAccuracies, worstGroupAccuracy } from '../../src/metrics/classification.ts';
import { discordant, holm, mcnemarExact, pairedBootstrap, rankIntervals, resampleIndices, type PairedMetric } from '../../src/metrics/paired.ts';
import { spearman } from '../../src/metrics/rank.ts';
import { seeded } from '../../src/util/rng.ts';

/** Made by tools/paired_reference.py (scipy's binomtest, scikit-learn's metrics, numpy's percentiles; versions inside). */
const REF = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'paired', 'paired-reference.json'), 'utf8')) as {
  mcnemar: { b: number; c: number; p: number }[];
  holm: { p: number[]; adjusted: number[] }[];
  paired: { truth: number[]; a: number[]; b: number[]; groups: number[]; indices: number[][]; b_count: number; c_count: number; bootstrap: Record<string, { diff: number; low: number; high: number }> };
  ranks: { preds: number[][]; scores: number[][]; intervals: { low: number; high: number }[] };
  spearman: { x: number[]; y: number[]; rho: number }[];
};
const close = (a: number, b: number, what: string, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} ≠ ${b}`);
const I = (xs: number[]) => Int32Array.from(xs);
const P = { truth: I(REF.paired.truth), a: I(REF.paired.a), b: I(REF.paired.b), groups: I(REF.paired.groups) };
const METRICS: Record<string, PairedMetric> = {
  accuracy: (t, p) => accuracy(t, p),
  macro_f1: (t, p) => f1(t, p, 4),
  worst_group_accuracy: (t, p, g) => worstGroupAccuracy(groupAccuracies(t, p, g!, 3), ['0', '1', '2']),
};

test("McNemar's exact two-sided p equals scipy's binomtest on the discordant counts (statsmodels' exact McNemar)", () => {
  for (const { b, c, p } of REF.mcnemar) close(mcnemarExact(b, c), p, `b=${b} c=${c}`, 1e-10);
  // By hand: b = 1, c = 5: 2 (1 + 6) / 2^6.
  close(mcnemarExact(1, 5), 14 / 64, 'hand');
});

test('discordant counts: A right and B wrong, and the reverse', () => {
  assert.deepEqual(discordant(P), { b: REF.paired.b_count, c: REF.paired.c_count, n: 60 });
});

test('paired bootstrap of accuracy, macro-F1 and worst-group accuracy differences equals numpy/scikit-learn on the same resamples', () => {
  const idx = REF.paired.indices.map(I);
  for (const [name, m] of Object.entries(METRICS)) {
    const got = pairedBootstrap(P, m, idx);
    const want = REF.paired.bootstrap[name];
    close(got.diff, want.diff, `${name} diff`);
    close(got.low, want.low, `${name} low`);
    close(got.high, want.high, `${name} high`);
  }
});

test('resample indices: the same seed draws the same images, another seed others', () => {
  const [x, y, z] = [resampleIndices(50, 3, seeded(7)), resampleIndices(50, 3, seeded(7)), resampleIndices(50, 3, seeded(8))];
  assert.deepEqual(x, y);
  assert.notDeepEqual(x, z);
  assert.ok(x.every((r) => r.length === 50 && r.every((i) => i >= 0 && i < 50)));
});

test("Holm's adjustment equals the step-down definition (the tool's) and a hand example", () => {
  for (const { p, adjusted } of REF.holm) holm(p).forEach((v, i) => close(v, adjusted[i], `holm(${p.join(',')})[${i}]`));
  // By hand: sorted 0.01, 0.03, 0.04 → 3·0.01, max(0.03, 2·0.03), max(0.06, 1·0.04).
  assert.deepEqual(holm([0.01, 0.04, 0.03]).map((x) => Number(x.toFixed(12))), [0.03, 0.06, 0.06]);
});

test('rank-confidence intervals from bootstrap scores equal numpy percentiles of the ranks', () => {
  assert.deepEqual(rankIntervals(REF.ranks.scores), REF.ranks.intervals);
  // By hand: model 0 ranks 1,1,1,1,2 and 1 (a tie shares the better rank); sorted, the 2.5% and 97.5% points lie at
  // positions 0.125 and 4.875 of 6: model 0 → [1, 1 + 0.875], model 1 (2,2,2,2,1,1) → [1, 2].
  const s = [...Array<number[]>(4).fill([0.9, 0.1]), [0.1, 0.9], [0.5, 0.5]];
  assert.deepEqual(rankIntervals(s), [{ low: 1, high: 1.875 }, { low: 1, high: 2 }]);
});

test("Spearman's ρ with ties equals scipy.stats.spearmanr", () => {
  for (const { x, y, rho } of REF.spearman) close(spearman(x, y), rho, `spearman(${x.join(',')})`);
  assert.throws(() => spearman([1, 2], [1]), RangeError);
});
