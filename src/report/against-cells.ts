import type { CellRecord } from '../results/record.ts';
import { publishedValue, type PublishedCell } from './published.ts';
import { meanStd, perSeed, type Stat } from './stats.ts';

/** Paper ids (models and datasets) → ours: our `mobilenet-v2` records compared with the paper's `clip-vit-b32`. */
export type StandIns = ReadonlyMap<string, string>;

/** Our number for one published cell: mean ± std over seeds, and the sampling error of one test set where known. */
export interface Ours {
  backbone: string;
  stat: Stat;
  /** Standard error of the test set's sampling: from a bootstrap interval (width / 3.92) or, for accuracy, √(p(1−p)/n_test). */
  se: number | null;
  ci: { low: number; high: number } | null;
}

/** A record's number in the paper's metric: `value` when the headline is that metric, else the field of that name (iWildCam's `accuracy`). */
function metricOf(r: CellRecord, metric: string): number {
  if (r.metric === metric) return r.value;
  const v = (r as Record<string, unknown>)[metric];
  return typeof v === 'number' ? v : NaN;
}

/** The bootstrap interval a record holds for its headline metric, when that is the paper's metric. */
function ciOf(r: CellRecord, metric: string): { low: number; high: number } | null {
  const ci = (r as Record<string, unknown>).ci95 as { low?: unknown; high?: unknown } | undefined;
  return r.metric === metric && typeof ci?.low === 'number' && typeof ci.high === 'number' ? { low: ci.low, high: ci.high } : null;
}

/** One seed's standard error: the bootstrap's, else the binomial one of an accuracy on n_test images. */
function seOf(r: CellRecord, metric: string, value: number): number | null {
  const ci = ciOf(r, metric);
  if (ci) return (ci.high - ci.low) / 3.92;
  return metric === 'accuracy' && r.n_test > 0 && Number.isFinite(value) ? Math.sqrt((value * (1 - value)) / r.n_test) : null;
}

/** Records by (dataset, backbone, method, shots, set), the key a published cell is looked up by. */
export function indexRecords(records: readonly CellRecord[]): Map<string, CellRecord[]> {
  const m = new Map<string, CellRecord[]>();
  for (const r of records) {
    const k = JSON.stringify([r.dataset, r.backbone, r.method, r.shots, r.eval_split]);
    m.set(k, [...(m.get(k) ?? []), r]);
  }
  return m;
}

/** A measured cell → our records of it (stand-ins applied) → ours, or null when not reproduced. */
function measured(c: PublishedCell, index: Map<string, CellRecord[]>, standIns: StandIns, set = c.set): Ours | null {
  const backbone = standIns.get(c.model) ?? c.model;
  const rs = perSeed(index.get(JSON.stringify([standIns.get(c.dataset) ?? c.dataset, backbone, c.method, c.shots, set])) ?? []);
  const values = rs.map((r) => metricOf(r, c.metric)).filter(Number.isFinite);
  if (!values.length) return null;
  const stat = meanStd(values);
  // Seeds redraw the training images, not the test set: its sampling error (the newest record's) adds to their spread.
  const newest = rs.reduce((a, r) => (a.time <= r.time ? r : a));
  return { backbone, stat, se: seOf(newest, c.metric, stat.mean), ci: rs.length === 1 ? ciOf(newest, c.metric) : null };
}

/** A printed ID − OOD difference → ours, per seed then averaged; the two test sets' errors add in quadrature. */
function difference(c: PublishedCell, index: Map<string, CellRecord[]>, standIns: StandIns): Ours | null {
  const [id, ood] = [measured(c, index, standIns, 'id_test'), measured(c, index, standIns, 'ood_test')];
  if (!id || !ood) return null;
  const key = (set: string) => JSON.stringify([standIns.get(c.dataset) ?? c.dataset, id.backbone, c.method, c.shots, set]);
  const oodBySeed = new Map(perSeed(index.get(key('ood_test')) ?? []).map((r) => [r.seed, metricOf(r, c.metric)]));
  const diffs = perSeed(index.get(key('id_test')) ?? []).flatMap((r) => (oodBySeed.has(r.seed) ? [metricOf(r, c.metric) - oodBySeed.get(r.seed)!] : [])).filter(Number.isFinite);
  if (!diffs.length) return null;
  const se = id.se !== null && ood.se !== null ? Math.hypot(id.se, ood.se) : null;
  return { backbone: id.backbone, stat: meanStd(diffs), se, ci: null };
}

/** A printed "Best performance": the highest of our means over the same row's measured cells of that table and set. */
function best(c: PublishedCell, row: readonly PublishedCell[], index: Map<string, CellRecord[]>, standIns: StandIns): Ours | null {
  const ours = row.filter((x) => x.kind === 'measured' && x.set === c.set).map((x) => measured(x, index, standIns));
  if (!ours.length || ours.some((o) => o === null)) return null;
  return ours.reduce((a, o) => (o!.stat.mean > a!.stat.mean ? o : a));
}

/** Our number for a published cell (an order has none), or null when the store does not hold all it needs. */
export function oursFor(c: PublishedCell, row: readonly PublishedCell[], index: Map<string, CellRecord[]>, standIns: StandIns): Ours | null {
  if (c.method === 'order' || !Number.isFinite(publishedValue(c))) return null;
  if (c.set === 'id_minus_ood') return difference(c, index, standIns);
  if (c.method === 'best') return best(c, row, index, standIns);
  return measured(c, index, standIns);
}

/** How far apart ours and the paper may be by chance: 2 √(std² + se²) (seeds' spread and one test set's), or null with neither. */
export function explained(o: Ours): number | null {
  if (o.stat.std === null && o.se === null) return null;
  return 2 * Math.sqrt((o.stat.std ?? 0) ** 2 + (o.se ?? 0) ** 2);
}
