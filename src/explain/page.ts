import { printable } from '../errors.ts';
/** One overlay in the grid: the PNG and a caption (the class explained and its probability, or the prompt). */
export interface PageCell {
  png: Buffer;
  caption?: string;
}

/** One backbone's row for one image: what it saw, and an overlay per column. */
interface PageRow {
  backbone: string;
  method: string;
  /** The image as the backbone's card preprocessed it (PNG). */
  input: Buffer;
  /** Column label → overlay; a column the row has no overlay for shows a dash. */
  cells: ReadonlyMap<string, PageCell>;
  note?: string;
}

export interface PageImage {
  title: string;
  rows: PageRow[];
}

// Control characters of a file or class name are shown escaped, as on the terminal, before the entities.
const esc = (s: string) => printable(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const img = (png: Buffer, alt: string) => `<img src="data:image/png;base64,${png.toString('base64')}" alt="${esc(alt)}">`;

/** A table per image, rows = backbones, columns = prompts or classes (the layout of shared/study/000's figures). */
function imageTable(image: PageImage, id: number): string {
  const columns = [...new Set(image.rows.flatMap((r) => [...r.cells.keys()]))];
  const head = `<tr><th scope="col">backbone / method</th><th scope="col">input</th>${columns.map((c) => `<th scope="col">${esc(c)}</th>`).join('')}</tr>`;
  const rows = image.rows.map((r) => {
    const cells = columns.map((c) => {
      const cell = r.cells.get(c);
      return cell ? `<td><figure>${img(cell.png, `${r.backbone} ${r.method}: ${c}`)}${cell.caption ? `<figcaption>${esc(cell.caption)}</figcaption>` : ''}</figure></td>` : '<td class="none">—</td>';
    });
    const name = `<th scope="row">${esc(r.backbone)}<br><span class="method">${esc(r.method)}</span>${r.note ? `<br><span class="note">${esc(r.note)}</span>` : ''}</th>`;
    return `<tr>${name}<td>${img(r.input, `${image.title} as ${r.backbone} sees it`)}</td>${cells.join('')}</tr>`;
  });
  return `<section id="image-${id}"><h2>${esc(image.title)}</h2><table><thead>${head}</thead><tbody>${rows.join('')}</tbody></table></section>`;
}

const STYLE = `body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}table{border-collapse:collapse;margin-bottom:2rem}
th,td{border:1px solid #ccc;padding:.3rem;vertical-align:top;text-align:center}th[scope=row]{text-align:left;font-weight:600}
.method,.note{font-weight:normal;color:#666;font-size:.85em}figure{margin:0}figcaption{font-size:.85em;color:#444;max-width:268px}
img{display:block;max-width:268px;height:auto}td.none{color:#999}p.how{color:#555;max-width:60rem}`;

/** The whole page, self-contained (images as data URIs, no scripts): one section per image. */
export function explainPage(images: readonly PageImage[], how: string): string {
  const toc = images.length > 1 ? `<nav><ol>${images.map((im, i) => `<li><a href="#image-${i}">${esc(im.title)}</a></li>`).join('')}</ol></nav>` : '';
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<link rel="icon" href="data:,"><title>reprobe explain</title><style>${STYLE}</style></head><body><h1>Where the backbones look</h1><p class="how">${esc(how)}</p>${toc}` +
    images.map(imageTable).join('\n') +
    `</body></html>\n`
  );
}
