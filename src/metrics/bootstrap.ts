import type { Rng } from '../util/rng.ts';

export interface Interval {
  low: number;
  high: number;
  /** Coverage asked for, e.g. 0.95. */
  level: number;
  resamples: number;
}

/**
 * Percentile bootstrap interval of a test metric: `resamples` draws of the n test examples with replacement (from
 * `rng`, so the same seed gives the same interval), the metric on each, and the (1 − level)/2 and (1 + level)/2
 * quantiles (linear interpolation, as numpy.percentile's default).
 */
export function bootstrapInterval(truth: ArrayLike<number>, pred: ArrayLike<number>, metric: (t: Int32Array, p: Int32Array) => number, resamples: number, rng: Rng, level = 0.95): Interval {
  const n = truth.length;
  if (n === 0 || resamples < 1) return { low: NaN, high: NaN, level, resamples };
  const t = new Int32Array(n);
  const p = new Int32Array(n);
  const stats = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    for (let i = 0; i < n; i++) {
      const j = Math.floor(rng() * n);
      t[i] = truth[j];
      p[i] = pred[j];
    }
    stats[b] = metric(t, p);
  }
  stats.sort();
  return { low: quantile(stats, (1 - level) / 2), high: quantile(stats, (1 + level) / 2), level, resamples };
}

/** numpy.percentile's linear interpolation on sorted values, q in [0, 1]. */
export function quantile(sorted: Float64Array, q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}
