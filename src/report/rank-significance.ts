import { accuracy } from '../metrics/classification.ts';
import { discordant, holm, mcnemarExact, rankIntervals, type PairedMetric } from '../metrics/paired.ts';

/** One row of a table's ranking: the model, its score on all images, its rank interval, and the test against the next row. */
export interface RankedRow {
  rank: number;
  name: string;
  score: number;
  rankLow: number;
  rankHigh: number;
  /** McNemar's exact p against the next row, Holm-adjusted over the table's adjacent pairs; null on the last row. */
  pNext: number | null;
  significantNext: boolean;
}

/**
 * Models' predictions on the same images (one table: one dataset, set and column) → rows best first by `metric`, each with
 * its rank-confidence interval (the same bootstrap `indices` for every model) and whether it differs from the next row
 * (McNemar's exact test on the pair's discordant images, Holm-corrected across the m − 1 adjacent pairs, at `alpha`).
 */
export function rankSignificance(truth: Int32Array, models: readonly { name: string; pred: Int32Array }[], indices: readonly Int32Array[], metric: PairedMetric = (t, p) => accuracy(t, p), alpha = 0.05): RankedRow[] {
  const scored = models.map((m) => ({ ...m, score: metric(truth, m.pred) })).sort((a, b) => b.score - a.score || (a.name < b.name ? -1 : 1));
  // Two buffers reused over resamples and models: a typed-array copy per model and resample was most of the time.
  const t = new Int32Array(truth.length);
  const p = new Int32Array(truth.length);
  const scores = indices.map((idx) => {
    for (let k = 0; k < idx.length; k++) t[k] = truth[idx[k]];
    return scored.map((m) => {
      for (let k = 0; k < idx.length; k++) p[k] = m.pred[idx[k]];
      return metric(t.subarray(0, idx.length), p.subarray(0, idx.length));
    });
  });
  const intervals = rankIntervals(scores);
  const raw = scored.slice(1).map((m, i) => {
    const { b, c } = discordant({ truth, a: scored[i].pred, b: m.pred });
    return mcnemarExact(b, c);
  });
  const adjusted = holm(raw);
  return scored.map((m, i) => ({ rank: i + 1, name: m.name, score: m.score, rankLow: intervals[i].low, rankHigh: intervals[i].high, pNext: adjusted[i] ?? null, significantNext: (adjusted[i] ?? 1) < alpha }));
}
