import type { CellRecord } from '../results/record.ts';
import { columnOfRecord, isClassification, OOD_SET, orderedColumns, shownAs, variantCounts } from './columns.ts';
import { isStat, stem, type Cell, type ReportTable } from './report-table.ts';
import { seedStat, type Stat } from './stats.ts';

/** Records grouped by a key, groups in key order. */
export function groupBy<T>(items: readonly T[], key: (x: T) => string): [string, T[]][] {
  const m = new Map<string, T[]>();
  for (const x of items) m.set(key(x), [...(m.get(key(x)) ?? []), x]);
  return [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** One dataset's numbers: a Stat per (backbone, column), in the study's column order. */
interface StudyGrid {
  columns: string[];
  /** The columns "performance order" and "Best performance" look at: all, or on WILDS the OOD ones. */
  keyColumns: string[];
  wilds: boolean;
  /** A method that orders the rows by "Best performance" is in the table. */
  byBest: boolean;
  /** The columns of methods that order the rows by their column of the most shots otherwise. */
  rankColumns: Set<string>;
  cells: Map<string, Map<string, Stat>>;
}

function grid(records: readonly CellRecord[]): StudyGrid {
  const variants = variantCounts(records);
  const columns = orderedColumns(records, variants);
  const wilds = records.some((r) => r.eval_split === OOD_SET);
  const cells = new Map<string, Map<string, Stat>>();
  for (const [key, rs] of groupBy(records, (r) => JSON.stringify([r.backbone, columnOfRecord(r, variants)]))) {
    const [backbone, column] = JSON.parse(key) as [string, string];
    if (!cells.has(backbone)) cells.set(backbone, new Map());
    cells.get(backbone)!.set(column, seedStat(rs));
  }
  const byBest = records.some((r) => shownAs(r).ranks === 'best');
  const rankColumns = new Set(records.filter((r) => shownAs(r).ranks === 'column').map((r) => columnOfRecord(r, variants)));
  return { columns, keyColumns: wilds ? columns.filter((c) => c.endsWith(`_${OOD_SET}`)) : columns, wilds, byBest, rankColumns, cells };
}

/** "performance order" = this backbone's columns (WILDS: the OOD ones) by value, best first, joined by `>`; "Best performance" = the first. */
function ranked(g: StudyGrid, backbone: string): [string, Stat][] {
  const row = g.cells.get(backbone)!;
  return g.keyColumns.flatMap((c): [string, Stat][] => (row.has(c) && Number.isFinite(row.get(c)!.mean) ? [[c, row.get(c)!]] : [])).sort((a, b) => b[1].mean - a[1].mean);
}

/**
 * Row order, as the study's: by "Best performance" when a method ranking by it is in the table (fine-tuning), else by
 * the column of the most shots of a method ranking by its column (logistic regression; WILDS: OOD), else by the best.
 */
function rankKey(g: StudyGrid, backbone: string): number {
  const by = g.byBest ? undefined : g.keyColumns.filter((c) => g.rankColumns.has(c)).at(-1);
  const v = by ? g.cells.get(backbone)!.get(by)?.mean : ranked(g, backbone)[0]?.[1].mean;
  return v !== undefined && Number.isFinite(v) ? v : -Infinity;
}

/** The backbones in the study's row order (then by name). */
function rankedBackbones(g: StudyGrid): string[] {
  return [...g.cells.keys()].sort((a, b) => rankKey(g, b) - rankKey(g, a) || (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Per dataset (and protocol) the study's table: rows = backbones, columns `ft_10 … knn_10 knn_100 lr_10 lr_100` (WILDS:
 * `*_id_test` / `*_ood_test`), then "performance order" = that backbone's columns sorted by value, best first, joined by
 * `>`, and "Best performance" = the highest of them (WILDS: over the OOD columns, "Best OOD performance").
 */
export function studyTables(records: readonly CellRecord[]): ReportTable[] {
  return groupBy(records.filter(isClassification), (r) => JSON.stringify([r.dataset, r.protocol])).map(([key, rs]) => {
    const [dataset, protocol] = JSON.parse(key) as [string, string];
    const g = grid(rs);
    const best = g.wilds ? 'Best OOD performance' : 'Best performance';
    return {
      name: stem('study', dataset, protocol),
      title: `${dataset} (protocol ${protocol}): ${rs[0].metric} by backbone and method`,
      columns: [{ name: 'model' }, ...g.columns.map((name) => ({ name, best: 'max' as const })), { name: 'performance order' }, { name: best, best: 'max' as const }],
      rows: rankedBackbones(g).map((b): Cell[] => {
        const order = ranked(g, b);
        return [b, ...g.columns.map((c) => g.cells.get(b)!.get(c) ?? null), order.map(([c]) => c).join('>'), order[0]?.[1] ?? null];
      }),
    };
  });
}

/** The study tables as plain numbers (means) for the console: `model ft_10 knn_10 lr_10`, rows in the study's order. */
export function studyValues(records: readonly CellRecord[]): { title: string; columns: string[]; rows: (string | number)[][] }[] {
  return studyTables(records).map((t) => {
    const n = t.columns.length - 2;
    return { title: t.title, columns: t.columns.slice(0, n).map((c) => c.name), rows: t.rows.map((r) => r.slice(0, n).map((c) => (isStat(c) ? c.mean : (c ?? NaN)))) };
  });
}
