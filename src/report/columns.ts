import type { CellRecord } from '../results/record.ts';

/** Short column names of the study's tables. */
const COLUMN_NAMES: Record<string, string> = { finetune: 'ft', zeroshot: 'zs' };

/** The study's column order: fine-tuning, then kNN, then logistic regression, then any other method. */
const METHOD_ORDER = ['finetune', 'knn', 'lr', 'zeroshot', 'pro'];

/** The evaluated sets of WILDS datasets: columns `*_id_test` and `*_ood_test`. */
export const ID_SET = 'id_test';
export const OOD_SET = 'ood_test';

/** How many fine-tuning train modes the records hold: with more than one, `ft` columns name theirs. */
export function trainModes(records: readonly CellRecord[]): number {
  return new Set(records.filter((r) => r.method === 'finetune').map((r) => r.train)).size;
}

/** `<method>_<shots>` without the evaluated set (fine-tuning: `ft`, with its train mode when several are shown: `ft[head]_10`). */
export function columnBase(r: CellRecord, modes: number): string {
  const mode = r.method === 'finetune' && modes > 1 ? `[${String(r.train)}]` : '';
  // Zero-shot trains on nothing: one `zs` column whatever split it was scored on.
  if (r.method === 'zeroshot') return 'zs';
  return `${COLUMN_NAMES[r.method] ?? r.method}${mode}_${r.shots}`;
}

/** `<method>_<shots>`, with the test set for WILDS (`lr_10_ood_test`). */
export function columnOfRecord(r: CellRecord, modes: number): string {
  return `${columnBase(r, modes)}${r.eval_split === 'test' ? '' : `_${r.eval_split}`}`;
}

/** Sort key of a record's column: method (study order), train mode, shots (numerically), evaluated set. */
function columnKey(r: CellRecord): [number, string, number, string] {
  const m = METHOD_ORDER.indexOf(r.method);
  return [m < 0 ? METHOD_ORDER.length : m, `${r.method}${r.method === 'finetune' ? String(r.train) : ''}`, r.shots, r.eval_split];
}

/** The columns of these records in the study's order: `ft_10 ft_100 knn_10 knn_100 lr_10 lr_100` (shots numerically, not as text). */
export function orderedColumns(records: readonly CellRecord[], modes = trainModes(records)): string[] {
  const first = new Map<string, CellRecord>();
  for (const r of records) if (!first.has(columnOfRecord(r, modes))) first.set(columnOfRecord(r, modes), r);
  const cmp = (a: CellRecord, b: CellRecord) => {
    const [x, y] = [columnKey(a), columnKey(b)];
    return x[0] - y[0] || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0) || x[2] - y[2] || (x[3] < y[3] ? -1 : x[3] > y[3] ? 1 : 0);
  };
  return [...first.entries()].sort((a, b) => cmp(a[1], b[1])).map(([c]) => c);
}
