import type { CellRecord } from '../results/record.ts';
import { columnBase, ID_SET, isClassification, OOD_SET, orderedColumns, variantCounts } from './columns.ts';
import { stem, type Cell, type ReportTable } from './report-table.ts';
import { meanStd, perSeed, type Stat } from './stats.ts';
import { groupBy } from './study.ts';

/** One (backbone, method column) measured on both ID and OOD test sets: each set's number and the drop, over seeds. */
export interface Drift {
  backbone: string;
  column: string;
  id: Stat;
  ood: Stat;
  /** ID − OOD, per seed then averaged (positive: worse out of distribution). */
  diff: Stat;
  /** (ID − OOD) / ID, per seed then averaged. */
  relDrop: Stat;
}

/** ID and OOD records of one backbone and column → the drift over the seeds that have both sets. */
function drift(backbone: string, column: string, records: readonly CellRecord[]): Drift | undefined {
  const id = new Map(perSeed(records.filter((r) => r.eval_split === ID_SET)).map((r) => [r.seed, r.value]));
  const ood = new Map(perSeed(records.filter((r) => r.eval_split === OOD_SET)).map((r) => [r.seed, r.value]));
  const seeds = [...id.keys()].filter((s) => ood.has(s) && Number.isFinite(id.get(s)!) && Number.isFinite(ood.get(s)!));
  if (!seeds.length) return undefined;
  const pick = (f: (i: number, o: number) => number) => meanStd(seeds.map((s) => f(id.get(s)!, ood.get(s)!)).filter(Number.isFinite));
  return { backbone, column, id: pick((i) => i), ood: pick((_, o) => o), diff: pick((i, o) => i - o), relDrop: pick((i, o) => (i === 0 ? NaN : (i - o) / i)) };
}

/** Every (backbone, method column) of these classification records with both test sets, ordered by column (the study's order), then OOD best first. */
export function drifts(all: readonly CellRecord[]): Drift[] {
  const records = all.filter(isClassification);
  const variants = variantCounts(records);
  const order = orderedColumns(records.filter((r) => r.eval_split === ID_SET), variants).map((c) => c.slice(0, -`_${ID_SET}`.length));
  const out = groupBy(records, (r) => JSON.stringify([r.backbone, columnBase(r, variants)])).flatMap(([key, rs]) => {
    const [backbone, column] = JSON.parse(key) as [string, string];
    return drift(backbone, column, rs) ?? [];
  });
  return out.sort((a, b) => order.indexOf(a.column) - order.indexOf(b.column) || b.ood.mean - a.ood.mean || (a.backbone < b.backbone ? -1 : 1));
}

/**
 * Per WILDS dataset (and protocol) the study's ID vs OOD comparison: one row per backbone and method column with ID, OOD,
 * ID − OOD (the study's `acc_diff`) and the relative drop (ID − OOD) / ID; best per method: highest ID and OOD, smallest drops.
 */
export function driftTables(records: readonly CellRecord[]): ReportTable[] {
  return groupBy(records, (r) => JSON.stringify([r.dataset, r.protocol])).flatMap(([key, rs]) => {
    const ds = drifts(rs);
    if (!ds.length) return [];
    const [dataset, protocol] = JSON.parse(key) as [string, string];
    return [
      {
        name: stem('drift', dataset, protocol),
        title: `${dataset} (protocol ${protocol}): ID vs OOD`,
        columns: [{ name: 'model' }, { name: 'method' }, { name: 'id', best: 'max' }, { name: 'ood', best: 'max' }, { name: 'id_minus_ood', best: 'min' }, { name: 'relative_drop', best: 'min' }],
        rows: ds.map((d): Cell[] => [d.backbone, d.column, d.id, d.ood, d.diff, d.relDrop]),
        groupBy: [1],
      },
    ];
  });
}
