import type { Rng } from '../util/rng.ts';
import { quantile } from './bootstrap.ts';

/** Two classifiers' predictions on the same images, aligned: truth, A's and B's predicted class, and each image's group (for worst-group accuracy). */
export interface PairedPredictions {
  truth: Int32Array;
  a: Int32Array;
  b: Int32Array;
  groups?: Int32Array;
}

/** A metric of one classifier on (a resample of) the images: `(truth, pred, groups) → number`. */
export type PairedMetric = (truth: Int32Array, pred: Int32Array, groups?: Int32Array) => number;

/** The discordant pairs: `b` = images A gets right and B wrong, `c` = the reverse. */
export function discordant(p: PairedPredictions): { b: number; c: number; n: number } {
  let [b, c] = [0, 0];
  for (let i = 0; i < p.truth.length; i++) {
    const [ra, rb] = [p.a[i] === p.truth[i], p.b[i] === p.truth[i]];
    if (ra && !rb) b++;
    else if (rb && !ra) c++;
  }
  return { b, c, n: p.truth.length };
}

/**
 * McNemar's exact test, two-sided: under H0 the b + c discordant images split Binomial(b + c, 1/2), p = min(1, 2 P(X ≤ min(b, c)))
 * (statsmodels' mcnemar(exact=True); scipy.stats.binomtest(min(b, c), b + c).pvalue). Summed in log space, so b + c may be large.
 * `mcnemarExact(1, 5)` = 2 · 7/64 = 0.21875.
 */
export function mcnemarExact(b: number, c: number): number {
  const n = b + c;
  if (n === 0) return 1;
  const k = Math.min(b, c);
  let log = -n * Math.LN2; // log pmf(0)
  let max = log;
  const terms = [log];
  for (let i = 0; i < k; i++) {
    log += Math.log((n - i) / (i + 1));
    terms.push(log);
    max = Math.max(max, log);
  }
  const cdf = Math.exp(max) * terms.reduce((a, t) => a + Math.exp(t - max), 0);
  return Math.min(1, 2 * cdf);
}

/** `resamples` draws of n indices with replacement, from `rng` (the same seed, the same draws). */
export function resampleIndices(n: number, resamples: number, rng: Rng): Int32Array[] {
  return Array.from({ length: resamples }, () => Int32Array.from({ length: n }, () => Math.floor(rng() * n)));
}

export interface PairedDifference {
  /** metric(A) − metric(B) on all images. */
  diff: number;
  /** Percentile interval of the difference over resamples (numpy.percentile's linear interpolation). */
  low: number;
  high: number;
  level: number;
  resamples: number;
}

const pick = (x: Int32Array, idx: Int32Array) => Int32Array.from(idx, (j) => x[j]);

/**
 * Paired bootstrap of metric(A) − metric(B): each resample draws the same images for both (`indices`, from
 * `resampleIndices`), so what the two share cancels; the interval is the percentile one of the differences.
 */
export function pairedBootstrap(p: PairedPredictions, metric: PairedMetric, indices: readonly Int32Array[], level = 0.95): PairedDifference {
  const diffs = new Float64Array(indices.length);
  indices.forEach((idx, r) => {
    const [t, g] = [pick(p.truth, idx), p.groups && pick(p.groups, idx)];
    diffs[r] = metric(t, pick(p.a, idx), g) - metric(t, pick(p.b, idx), g);
  });
  const finite = Float64Array.from(diffs.filter(Number.isFinite)).sort();
  const diff = metric(p.truth, p.a, p.groups) - metric(p.truth, p.b, p.groups);
  if (!finite.length) return { diff, low: NaN, high: NaN, level, resamples: indices.length };
  return { diff, low: quantile(finite, (1 - level) / 2), high: quantile(finite, (1 + level) / 2), level, resamples: indices.length };
}

/**
 * Holm's step-down adjustment of m p-values (statsmodels' multipletests(method='holm')): sorted ascending, the i-th
 * (from 0) becomes max over j ≤ i of min(1, (m − j) p_(j)); returned in the input order. `[0.01, 0.04, 0.03]` → `[0.03, 0.06, 0.06]`.
 */
export function holm(pvalues: readonly number[]): number[] {
  const m = pvalues.length;
  const order = pvalues.map((p, i) => [p, i] as const).sort((x, y) => x[0] - y[0]);
  const out = new Array<number>(m);
  let running = 0;
  order.forEach(([p, i], j) => {
    running = Math.max(running, Math.min(1, (m - j) * p));
    out[i] = running;
  });
  return out;
}

/**
 * Rank-confidence intervals: `scores` [resamples][models] (each model's metric on the same resample) → per model the
 * percentile interval of its rank over resamples, rank 1 = best, a model's rank = 1 + the number scoring strictly higher.
 */
export function rankIntervals(scores: readonly (readonly number[])[], level = 0.95): { low: number; high: number }[] {
  const models = scores[0]?.length ?? 0;
  const ranks = Array.from({ length: models }, () => new Float64Array(scores.length));
  scores.forEach((row, r) => row.forEach((s, m) => (ranks[m][r] = 1 + row.filter((o) => o > s).length)));
  return ranks.map((rs) => {
    rs.sort();
    return { low: quantile(rs, (1 - level) / 2), high: quantile(rs, (1 + level) / 2) };
  });
}
