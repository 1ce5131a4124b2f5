import type { CellRecord } from '../results/record.ts';

/** A number of a report table: the mean over seeds, its sample standard deviation (ddof = 1; null for one seed) and n. */
export interface Stat {
  mean: number;
  std: number | null;
  n: number;
}

/** [n] values → mean, sample std (ddof = 1) and n. `meanStd([0.8, 0.9, 1.0])` = { mean: 0.9, std: 0.1, n: 3 }. */
export function meanStd(values: readonly number[]): Stat {
  const n = values.length;
  if (n === 0) return { mean: NaN, std: null, n: 0 };
  const mean = values.reduce((a, v) => a + v, 0) / n;
  if (n < 2) return { mean, std: null, n };
  const ss = values.reduce((a, v) => a + (v - mean) ** 2, 0);
  return { mean, std: Math.sqrt(ss / (n - 1)), n };
}

/**
 * Records of one table cell → those of the newest configuration (config_id), one record per seed, the newest of each
 * (a rerun with the same seed replaces the earlier number rather than counting twice), ordered by seed.
 */
export function perSeed(records: readonly CellRecord[]): CellRecord[] {
  // One configuration per cell: the newest record's (another layer, option or split size is another experiment, not another seed).
  const newest = records.reduce<CellRecord | undefined>((a, r) => (!a || a.time <= r.time ? r : a), undefined);
  const same = newest?.config_id === undefined ? records : records.filter((r) => r.config_id === newest.config_id);
  const bySeed = new Map<number, CellRecord>();
  for (const r of same) {
    const prev = bySeed.get(r.seed);
    if (!prev || prev.time <= r.time) bySeed.set(r.seed, r);
  }
  return [...bySeed.values()].sort((a, b) => a.seed - b.seed);
}

/** A table cell's records → mean ± std of their values over seeds, with n = the number of seeds. */
export function seedStat(records: readonly CellRecord[], value: (r: CellRecord) => number = (r) => r.value): Stat {
  return meanStd(perSeed(records).map(value).filter(Number.isFinite));
}
