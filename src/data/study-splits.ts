import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { ConfigError, DataError } from '../errors.ts';
import { seeded, shuffled, type Rng } from '../util/rng.ts';
import { shuffledByClass } from './splits.ts';

const TableSchema = z.record(
  z.string(),
  z.object({
    pool: z.object({ size: z.number().int().positive(), valSize: z.number().int().positive().optional(), note: z.string() }),
    rows: z.record(z.string().regex(/^\d+$/), z.union([z.tuple([z.number().int(), z.number().int(), z.number().int()]), z.tuple([z.number().int(), z.number().int()])])),
  }),
);
export type StudyTable = z.infer<typeof TableSchema>;

/** configs/splits/study.yaml: the study's split table, as data. */
export function studyTable(): StudyTable {
  const path = join(import.meta.dirname, '..', '..', 'configs', 'splits', 'study.yaml');
  return TableSchema.parse(parse(readFileSync(path, 'utf8')));
}

/** Named index sets a dataset defines: `pool` (the study's total data) or, for WILDS, its splits (`train`, `val`, `id_val`, `id_test`, `test`). */
export type Pools = Record<string, number[]>;

export interface StudySplit {
  train: number[];
  val: number[];
  /** `test` for pooled datasets; `id_test` and `ood_test` for WILDS. */
  tests: Record<string, number[]>;
}

/**
 * n indices from `from`, as balanced over classes as the class sizes allow (equal shares, capped by what a class
 * has, the rest spread over the classes that still have images; leftover single images go to seeded classes).
 */
export function balancedDraw(from: readonly number[], labels: ArrayLike<number>, n: number, rng: Rng): number[] {
  const lists = shuffledByClass(from, labels, rng);
  const take = lists.map(() => 0);
  let rest = n;
  let open = lists.map((_, g) => g);
  while (rest > 0 && open.length > 0) {
    const share = Math.floor(rest / open.length);
    if (share === 0) {
      for (const g of shuffled(open, rng).slice(0, rest)) take[g]++;
      rest = 0;
      break;
    }
    for (const g of open) {
      const t = Math.min(share, lists[g].length - take[g]);
      take[g] += t;
      rest -= t;
    }
    open = open.filter((g) => take[g] < lists[g].length);
  }
  if (rest > 0) throw new DataError(`Cannot draw ${n} images from ${from.length}.`);
  return lists.flatMap((list, g) => list.slice(0, take[g]));
}

/** Up to k indices of each class in `from` (all of a smaller class), seeded. */
export function perClassDraw(from: readonly number[], labels: ArrayLike<number>, k: number, rng: Rng): number[] {
  return shuffledByClass(from, labels, rng).flatMap((list) => list.slice(0, k));
}

/** The study's split for `dataset` at `shots`, from the dataset's pools; exact counts or one clear error. */
export function studySplit(dataset: string, shots: number, labels: ArrayLike<number>, pools: Pools, seed: number, table = studyTable()): StudySplit {
  const entry = table[dataset];
  if (!entry) throw new ConfigError(`The study's split table has no "${dataset}"; it covers ${Object.keys(table).join(', ')}. Use --protocol shots.`);
  const row = entry.rows[String(shots)];
  if (!row) throw new ConfigError(`The study has no ${shots}-shot split for ${dataset}; its shot levels: ${Object.keys(entry.rows).join(', ')}.`);
  const rng = seeded(seed);
  const need = (name: string, size: number | undefined) => {
    const p = pools[name];
    if (!p) throw new DataError(`${dataset} defines no "${name}" set; cannot follow the study's split.`);
    if (size !== undefined && p.length !== size) {
      throw new DataError(`${dataset}: the study's ${name} set has ${size} images, this copy has ${p.length} (missing or extra files?); its ${shots}-shot split needs the full set. Use --protocol shots on a partial copy.`);
    }
    return p;
  };
  if (row.length === 3) {
    const pool = need('pool', entry.pool.size);
    const train = balancedDraw(pool, labels, row[0], rng);
    const used = new Set(train);
    const val = balancedDraw(pool.filter((i) => !used.has(i)), labels, row[1], rng);
    val.forEach((i) => used.add(i));
    const test = pool.filter((i) => !used.has(i));
    if (test.length !== row[2]) throw new DataError(`${dataset}: ${test.length} test images left, the study has ${row[2]}.`);
    return { train, val, tests: { test } };
  }
  const train = balancedDraw(need('train', entry.pool.size), labels, row[0], rng);
  const val = balancedDraw(need('val', entry.pool.valSize), labels, row[1], rng);
  return { train, val, tests: { id_test: need('id_test', undefined), ood_test: need('test', undefined) } };
}
