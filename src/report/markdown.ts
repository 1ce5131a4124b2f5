import { printable } from '../errors.ts';
import { bestMarks, isStat, type Cell, type ReportTable } from './report-table.ts';
import type { Report } from './sections.ts';
import type { Stat } from './stats.ts';

/** A mean or std: 4 decimals (`0.0000`, not `0`), `nan`. */
export const fixed = (x: number) => (Number.isNaN(x) ? 'nan' : x.toFixed(4));

/** `0.8123 ± 0.0100 (n=3)`, or `0.8123` for one seed. */
export function fmtStat(s: Stat): string {
  return s.std === null ? fixed(s.mean) : `${fixed(s.mean)} ± ${fixed(s.std)} (n=${s.n})`;
}

/** A cell as text (no marks). */
export function cellText(c: Cell): string {
  if (c === null) return '';
  if (typeof c === 'number') return String(c);
  return isStat(c) ? fmtStat(c) : c;
}

// `<` and `&` are enough for no tag or entity to form; `>` stays (the performance order reads lr_100>knn_100).
const HTML: Record<string, string> = { '&': '&amp;', '<': '&lt;' };

/**
 * Text from the store (class, dataset and backbone names, notes) as markdown text: the one escaping of report.md.
 * HTML is shown, never run (`<script>`, `<img onerror>`: report.html escapes them too); `|` stays in its cell; a
 * newline or other control character is shown as an escape instead of ending the table row.
 */
const escape = (s: string) => printable(s).replace(/[&<]/g, (c) => HTML[c]).replace(/\|/g, '\\|');

/** A GitHub markdown table; the best value of each column in bold. */
export function tableMarkdown(t: ReportTable): string {
  const marks = bestMarks(t);
  const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const align = t.columns.map((_, j) => (t.rows.some((r) => isStat(r[j]) || typeof r[j] === 'number') ? '---:' : '---'));
  return [
    row(t.columns.map((c) => escape(c.name))),
    row(align),
    ...t.rows.map((r, i) => row(r.map((c, j) => (marks[i][j] ? `**${escape(cellText(c))}**` : escape(cellText(c)))))),
  ].join('\n');
}

/** What the numbers are, said once at the top of the markdown and the html. */
export const LEGEND = 'Values are means over seeds, ± the sample standard deviation (n = seeds) where seeds were repeated; the best of each column is bold.';

/** The report's tables as markdown: a heading per section, its tables, and what could not be shown. */
export function reportMarkdown(report: Report): string {
  const parts = [`# ${escape(report.title)}`, `${escape(report.summary)}\n${LEGEND}`];
  for (const s of report.sections) {
    if (!s.tables.length && !s.notes.length && !s.links?.length) continue;
    parts.push(`## ${escape(s.title)}`, ...s.tables.map((t) => `### ${escape(t.title)}\n\n${tableMarkdown(t)}`));
    if (s.links?.length) parts.push(s.links.map((l) => `- [${escape(l.title)}](${encodeURI(l.href)})`).join('\n'));
    if (s.notes.length) parts.push(s.notes.map((n) => `- ${escape(n)}`).join('\n'));
  }
  return parts.join('\n\n') + '\n';
}
