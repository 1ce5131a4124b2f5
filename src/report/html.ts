import { cellText, fixed, fmtStat, LEGEND } from './markdown.ts';
import { bestMarks, isStat, type Cell, type ReportTable } from './report-table.ts';
import type { Report } from './sections.ts';
import { SCRIPT, STYLE } from './html-page.ts';
import { esc } from './html-text.ts';


/**
 * An SVG as a part of one HTML page: no XML prolog, no scripts or event handlers, no namespace URLs (the HTML parser
 * knows SVG), and its ids prefixed so that two charts' `clip1` do not collide.
 */
export function inlineSvg(svg: string, prefix: string): string {
  return svg
    .replace(/<\?xml[^>]*\?>|<!DOCTYPE[^>]*>/gi, '')
    .replace(/<script[\s\S]*?<\/script>/gi, '')
    .replace(/\son\w+\s*=\s*("[^"]*"|'[^']*')/gi, '')
    .replace(/\sxmlns(:\w+)?="[^"]*"/g, '')
    .replace(/\sid="([^"]+)"/g, ` id="${prefix}-$1"`)
    .replace(/url\(#([^)]+)\)/g, `url(#${prefix}-$1)`)
    .replace(/href="#([^"]+)"/g, `href="#${prefix}-$1"`)
    .trim();
}

function td(c: Cell, best: boolean): string {
  const cls = [isStat(c) || typeof c === 'number' ? 'num' : '', best ? 'best' : ''].filter(Boolean).join(' ');
  const attrs = `${cls ? ` class="${cls}"` : ''}${isStat(c) && Number.isFinite(c.mean) ? ` data-v="${c.mean}"` : typeof c === 'number' ? ` data-v="${c}"` : ''}`;
  if (!isStat(c)) return `<td${attrs}>${esc(cellText(c))}</td>`;
  const extra = c.std === null ? '' : `<span class="sd"> ± ${fixed(c.std)}</span><span class="n"> n=${c.n}</span>`;
  return `<td${attrs} title="${esc(fmtStat(c))}">${fixed(c.mean)}${extra}</td>`;
}

/** A sortable HTML table (id `t-<name>`), best values marked. */
function tableHtml(t: ReportTable): string {
  const marks = bestMarks(t);
  const head = t.columns.map((c) => `<th scope="col" aria-sort="none">${esc(c.name)}</th>`).join('');
  const body = t.rows.map((r, i) => `<tr>${r.map((c, j) => td(c, marks[i][j])).join('')}</tr>`).join('\n');
  return `<h3>${esc(t.title)}</h3>\n<div class="scroll"><table class="sortable" id="t-${esc(t.name)}"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
}

/** The report as one self-contained page: inline style, script and SVG charts (`svgs`: each figure's SVG, by section and index). */
export function reportHtml(report: Report, svgs: ReadonlyMap<string, string>): string {
  const toc = report.sections.map((s) => `<li><a href="#${esc(s.id)}">${esc(s.title)}</a></li>`).join('');
  const sections = report.sections.map((s) => {
    const figures = s.figures.flatMap((f, i) => {
      if (f.html) return [`<figure><figcaption>${esc(f.title)}</figcaption>${f.html}</figure>`];
      const svg = svgs.get(`${s.id}/${i}`);
      return svg ? [`<figure title="${esc(f.title)}">${inlineSvg(svg, `${s.id}-${i}`)}</figure>`] : [];
    });
    return [
      `<section id="${esc(s.id)}"><h2>${esc(s.title)}</h2>`,
      ...s.tables.map(tableHtml),
      s.links?.length ? `<ul class="links">${s.links.map((l) => `<li><a href="${esc(l.href)}">${esc(l.title)}</a></li>`).join('')}</ul>` : '',
      figures.length ? `<div class="figures">\n${figures.join('\n')}\n</div>` : '',
      s.notes.length ? `<ul class="notes">${s.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : '',
      '</section>',
    ].filter(Boolean).join('\n');
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(report.title)}</title><style>${STYLE}</style></head>
<body><header><h1>${esc(report.title)}</h1><p class="meta">${esc(report.summary)}</p>
<p class="legend">${esc(LEGEND)} Click a column header to sort.</p><nav><ul>${toc}</ul></nav></header>
${sections.join('\n')}
<script>${SCRIPT}</script>
</body></html>
`;
}
