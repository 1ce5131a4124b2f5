import { presentationByDefault, type CellRecord, type Presentation } from '../results/record.ts';

/** The evaluated sets of WILDS datasets: columns `*_id_test` and `*_ood_test`. */
export const ID_SET = 'id_test';
export const OOD_SET = 'ood_test';

/** How a record is shown: as its method declared (written into the record, or filled in when read), else under its method's name. */
export const shownAs = (r: CellRecord): Presentation => r.presentation ?? presentationByDefault(r.method);

/** A record's variant (the value of the field its method names, fine-tuning's train mode), or '' for a method without one. */
export const variantOf = (r: CellRecord) => {
  const field = shownAs(r).variant;
  return field ? String((r as Record<string, unknown>)[field]) : '';
};

/** Per method, how many variants the records hold: a method with more than one names its variant in its columns. */
export type Variants = ReadonlyMap<string, number>;

export function variantCounts(records: readonly CellRecord[]): Variants {
  const seen = new Map<string, Set<string>>();
  for (const r of records.filter((x) => shownAs(x).variant)) seen.set(r.method, (seen.get(r.method) ?? new Set()).add(variantOf(r)));
  return new Map([...seen].map(([m, s]) => [m, s.size]));
}

/** `<stem>_<shots>` without the evaluated set (`ft_10`; with its variant when several are shown: `ft[head]_10`; `zs` for a method without shots). */
export function columnBase(r: CellRecord, variants: Variants): string {
  const p = shownAs(r);
  const variant = (variants.get(r.method) ?? 0) > 1 ? `[${variantOf(r)}]` : '';
  // A method that trains on nothing has one column whatever split it was scored on.
  if (!p.shots) return p.column;
  return `${p.column}${variant}_${r.shots}`;
}

/** `<stem>_<shots>`, with the test set for WILDS (`lr_10_ood_test`). */
export function columnOfRecord(r: CellRecord, variants: Variants): string {
  return `${columnBase(r, variants)}${r.eval_split === 'test' ? '' : `_${r.eval_split}`}`;
}

/** Sort key of a record's column: its method's order, method and variant, shots (numerically), evaluated set. */
function columnKey(r: CellRecord): [number, string, number, string] {
  return [shownAs(r).order, `${r.method}${variantOf(r)}`, r.shots, r.eval_split];
}

/** The columns of these records in their methods' order: `ft_10 ft_100 knn_10 knn_100 lr_10 lr_100` (shots numerically, not as text). */
export function orderedColumns(records: readonly CellRecord[], variants = variantCounts(records)): string[] {
  const first = new Map<string, CellRecord>();
  for (const r of records) if (!first.has(columnOfRecord(r, variants))) first.set(columnOfRecord(r, variants), r);
  const cmp = (a: CellRecord, b: CellRecord) => {
    const [x, y] = [columnKey(a), columnKey(b)];
    return x[0] - y[0] || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0) || x[2] - y[2] || (x[3] < y[3] ? -1 : x[3] > y[3] ? 1 : 0);
  };
  return [...first.entries()].sort((a, b) => cmp(a[1], b[1])).map(([c]) => c);
}

/** Records of the study's classification tables (clustering has its ranking). */
export const isClassification = (r: CellRecord) => shownAs(r).family === 'classification';
/** Records of the clustering ranking. */
export const isClustering = (r: CellRecord) => shownAs(r).family === 'clustering';
