import { csvField as quote } from '../util/csv-field.ts';
import { bestMarks, isStat, type ReportTable } from './report-table.ts';

/** Full precision without float noise: 0.30000000000000004 → 0.3. */
const num = (x: number) => (Number.isFinite(x) ? String(Number(x.toPrecision(12))) : '');

/**
 * A table as CSV that pandas reads as it is: one header row, plain numbers; a number over seeds takes three columns
 * (`lr_10`, `lr_10_std` (empty for one seed), `lr_10_n`), and a last column `best` lists the columns this row is best in.
 */
export function tableCsv(t: ReportTable): string {
  const marks = bestMarks(t);
  const stats = t.columns.map((_, j) => t.rows.some((r) => isStat(r[j])));
  const head = t.columns.flatMap((c, j) => (stats[j] ? [c.name, `${c.name}_std`, `${c.name}_n`] : [c.name]));
  const marked = t.columns.some((c) => c.best);
  const lines = t.rows.map((r, i) => {
    const cells = r.flatMap((c, j) => {
      if (!stats[j]) return [c === null ? '' : typeof c === 'number' ? num(c) : quote(String(c))];
      return isStat(c) ? [num(c.mean), c.std === null ? '' : num(c.std), String(c.n)] : ['', '', ''];
    });
    return [...cells, ...(marked ? [quote(t.columns.filter((_, j) => marks[i][j]).map((c) => c.name).join(';'))] : [])].join(',');
  });
  return [[...head, ...(marked ? ['best'] : [])].map(quote).join(','), ...lines].join('\n') + '\n';
}
