import type { CellRecord, ConfusedPair } from '../results/record.ts';
import type { Cell, ReportTable } from './report-table.ts';

/** The confused pairs runs recorded (`--top-pairs`), one row per pair, in each record's order (IoU, highest first). */
export function confusedPairsTable(records: readonly CellRecord[]): ReportTable | undefined {
  const rows: Cell[][] = [];
  for (const r of records) {
    if (!Array.isArray(r.confused_pairs)) continue;
    (r.confused_pairs as ConfusedPair[]).forEach((p, i) => rows.push([r.dataset, r.backbone, r.method, r.shots, r.seed, r.eval_split, i + 1, p.a, p.b, p.iou, p.m_ab, p.m_ba, p.n_a, p.n_b]));
  }
  if (rows.length === 0) return undefined;
  const names = ['dataset', 'model', 'method', 'shots', 'seed', 'set', 'rank', 'class_a', 'class_b', 'iou', 'a_as_b', 'b_as_a', 'n_a', 'n_b'];
  return { name: 'confused_pairs', title: 'Most confused class pairs: IoU = (a_as_b + b_as_a) / (n_a + n_b)', columns: names.map((name) => ({ name })), rows };
}
