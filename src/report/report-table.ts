import { createHash } from 'node:crypto';
import type { Stat } from './stats.ts';

/** A cell of a report table: a label, a plain number (a rank), a number over seeds, or nothing (that backbone has no such column). */
export type Cell = string | number | Stat | null;

/** A column: its name, and whether its best value is the highest or the lowest (unset: not marked). */
interface Column {
  name: string;
  best?: 'max' | 'min';
}

/** One table of the report, as every format renders it (markdown, csv, html). */
export interface ReportTable {
  /** File stem of its csv and anchor in the html: `study_mnist_shots`. */
  name: string;
  title: string;
  columns: Column[];
  rows: Cell[][];
  /** Best values are marked among the rows sharing these columns' labels (a drift table: per method); unset: the whole column. */
  groupBy?: number[];
}

export const isStat = (c: Cell): c is Stat => c !== null && typeof c === 'object';

/** Equal up to float noise: `0.1 + 0.2` ties with `0.3`. */
const same = (a: number, b: number) => Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(a), Math.abs(b));

/** [rows][columns] true where the cell holds its column's best mean (within its group); ties are all marked. */
export function bestMarks(table: ReportTable): boolean[][] {
  const marks = table.rows.map((r) => r.map(() => false));
  const group = (r: Cell[]) => JSON.stringify((table.groupBy ?? []).map((j) => r[j]));
  table.columns.forEach((col, j) => {
    if (!col.best) return;
    const best = new Map<string, number>();
    for (const r of table.rows) {
      const c = r[j];
      if (!isStat(c) || !Number.isFinite(c.mean)) continue;
      const b = best.get(group(r));
      if (b === undefined || (col.best === 'max' ? c.mean > b : c.mean < b)) best.set(group(r), c.mean);
    }
    table.rows.forEach((r, i) => {
      const c = r[j];
      const b = best.get(group(r));
      marks[i][j] = isStat(c) && b !== undefined && same(c.mean, b);
    });
  });
  return marks;
}

/** Longest stem kept whole: with `.csv` and the atomic writer's temp suffix, far below a file name's 255 bytes. */
const MAX_STEM = 100;

/**
 * A safe file stem from labels: `folder:/data/x` → `folder-data-x`. A longer one (a dataset deep in folders) keeps its
 * start and ends in a hash of the whole, so distinct labels stay distinct and no file name is too long to write.
 */
export function stem(...parts: string[]): string {
  const s = parts.map((p) => p.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '')).filter(Boolean).join('_');
  return s.length <= MAX_STEM ? s : `${s.slice(0, MAX_STEM - 17)}-${createHash('sha256').update(s).digest('hex').slice(0, 16)}`;
}
