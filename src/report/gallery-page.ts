import { confusionMatrix } from '../metrics/classification.ts';
import { confusedPairs } from '../metrics/confusion.ts';
import { esc } from './html-text.ts';

/** One test image of a gallery: its id, its thumbnail's path relative to the page (null: not made), true and predicted class. */
export interface GalleryItem {
  id: string;
  thumb: string | null;
  truth: number;
  pred: number;
}

export interface GalleryInput {
  title: string;
  classes: readonly string[];
  /** Every test image's true and predicted class: the confusion matrix and the pairs count them all. */
  truth: ArrayLike<number>;
  pred: ArrayLike<number>;
  /** The images shown (all, or every mistake first within a limit). */
  items: readonly GalleryItem[];
  /** The report page, relative to the gallery. */
  back: string;
}

/** How many most-confused pairs the page lists (and offers as filters). */
const TOP_PAIRS = 10;

const STYLE = `
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; margin: 0 auto; padding: 1em 2em 3em; max-width: 1400px; }
.meta { color: #555; } .controls { margin: 1em 0; } .controls select { font: inherit; }
table.heat { border-collapse: collapse; font-variant-numeric: tabular-nums; margin: 0.5em 0 1em; }
table.heat th, table.heat td { border: 1px solid #ddd; padding: 0.15em 0.4em; text-align: right; min-width: 2em; }
table.heat th { background: #f5f6f8; font-weight: 500; white-space: nowrap; } table.heat td a { color: inherit; text-decoration: none; display: block; }
table.heat td.diag { outline: 2px solid #2a7; outline-offset: -2px; }
ol.pairs a { cursor: pointer; }
.grid { display: flex; flex-wrap: wrap; gap: 8px; }
.grid figure { margin: 0; width: 136px; border: 2px solid #cfe8cf; padding: 3px; font-size: 12px; }
.grid figure.wrong { border-color: #e8a0a0; background: #fff5f5; }
.grid figure[hidden] { display: none; }
.grid img { width: 128px; height: 128px; object-fit: contain; background: #f4f4f4; display: block; }
.grid figcaption { overflow-wrap: anywhere; } .grid .id { color: #777; }
`;

/** Filters from the address (`#mistakes`, `#pair=A,B` with class indices, else all) and the select that sets it. */
const SCRIPT = `
(function () {
  var items = Array.prototype.slice.call(document.querySelectorAll('.grid figure'));
  var select = document.getElementById('filter');
  var count = document.getElementById('count');
  function apply() {
    var h = decodeURIComponent(location.hash.slice(1));
    var m = /^pair=(\\d+),(\\d+)$/.exec(h);
    var shown = 0;
    items.forEach(function (f) {
      var t = f.getAttribute('data-t'), p = f.getAttribute('data-p');
      var ok = h === 'mistakes' ? t !== p : m ? t !== p && ((t === m[1] && p === m[2]) || (t === m[2] && p === m[1])) : true;
      f.hidden = !ok;
      if (ok) shown++;
    });
    // A pair from the heatmap that is not among the listed ones gets its own option, so the select says what is shown.
    if (m && !Array.prototype.some.call(select.options, function (o) { return o.value === h; })) {
      var names = JSON.parse(select.getAttribute('data-classes'));
      select.add(new Option((names[m[1]] || m[1]) + ' \u2194 ' + (names[m[2]] || m[2]), h));
    }
    select.value = Array.prototype.some.call(select.options, function (o) { return o.value === h; }) ? h : '';
    count.textContent = shown + ' of ' + items.length + ' images';
    document.body.setAttribute('data-shown', String(shown));
  }
  select.addEventListener('change', function () { location.hash = select.value; if (!select.value) apply(); });
  window.addEventListener('hashchange', apply);
  apply();
})();
`;

/** Each cell shaded by its share of the true class's images (row-normalised); an off-diagonal count links to that pair's mistakes. */
function heatmap(classes: readonly string[], cm: number[][]): string {
  const head = `<tr><th>true \\ predicted</th>${classes.map((c) => `<th>${esc(c)}</th>`).join('')}</tr>`;
  const rows = cm.map((row, t) => {
    const n = row.reduce((a, v) => a + v, 0);
    const cells = row.map((v, p) => {
      const share = n ? v / n : 0;
      const bg = `rgba(${t === p ? '40,140,80' : '200,50,50'},${share.toFixed(3)})`;
      const text = v && t !== p ? `<a href="#pair=${Math.min(t, p)},${Math.max(t, p)}">${v}</a>` : String(v);
      return `<td${t === p ? ' class="diag"' : ''} style="background:${bg}${share > 0.6 ? ';color:#fff' : ''}" title="${esc(`${classes[t]} as ${classes[p]}: ${v} of ${n}`)}">${text}</td>`;
    });
    return `<tr><th>${esc(classes[t])}</th>${cells.join('')}</tr>`;
  });
  return `<table class="heat">${head}${rows.join('')}</table>`;
}

/**
 * A cell's gallery as one page: the confusion matrix as a heatmap, the most-confused pairs (IoU, as `--top-pairs`), and
 * every test image's thumbnail with its true and predicted class, filterable to the mistakes or to one confused pair.
 * Plain HTML with an inline script; images by relative path, so the folder can be copied whole.
 */
export function galleryHtml(g: GalleryInput): string {
  const K = g.classes.length;
  const cm = confusionMatrix(g.truth, g.pred, K);
  const pairs = confusedPairs(cm, TOP_PAIRS);
  const n = g.truth.length;
  let wrong = 0;
  for (let i = 0; i < n; i++) if (g.truth[i] !== g.pred[i]) wrong++;
  const shownWrong = g.items.filter((x) => x.truth !== x.pred).length;
  const pairName = (a: number, b: number) => `${g.classes[a]} ↔ ${g.classes[b]}`;
  const options = [`<option value="">all images</option>`, `<option value="mistakes">mistakes (${shownWrong})</option>`, ...pairs.map((p) => `<option value="pair=${p.a},${p.b}">${esc(pairName(p.a, p.b))} (${p.m_ab + p.m_ba})</option>`)];
  const list = pairs.length
    ? `<ol class="pairs">${pairs.map((p) => `<li><a href="#pair=${p.a},${p.b}">${esc(pairName(p.a, p.b))}</a>: IoU ${p.iou.toFixed(3)} (${esc(g.classes[p.a])} as ${esc(g.classes[p.b])} ${p.m_ab}, ${esc(g.classes[p.b])} as ${esc(g.classes[p.a])} ${p.m_ba})</li>`).join('')}</ol>`
    : '<p>No test image was mistaken for another class.</p>';
  const figures = g.items.map((x) => {
    const img = x.thumb ? `<img src="${esc(x.thumb)}" alt="${esc(x.id)}" width="128" height="128" loading="lazy">` : '<img alt="no thumbnail" width="128" height="128">';
    const caption = x.truth === x.pred ? `${esc(g.classes[x.truth])}` : `true ${esc(g.classes[x.truth])}<br>pred <b>${esc(g.classes[x.pred])}</b>`;
    return `<figure class="${x.truth === x.pred ? 'right' : 'wrong'}" data-t="${x.truth}" data-p="${x.pred}" title="${esc(x.id)}">${img}<figcaption>${caption}<br><span class="id">${esc(x.id)}</span></figcaption></figure>`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(g.title)}</title><style>${STYLE}</style></head>
<body><p><a href="${esc(g.back)}">← report</a></p><h1>${esc(g.title)}</h1>
<p class="meta">${n} test images, ${wrong} mistaken (accuracy ${n ? ((n - wrong) / n).toFixed(4) : 'nan'}).${g.items.length < n ? ` Shown below: ${g.items.length} of them, ${shownWrong === wrong ? 'every mistake' : `the first ${shownWrong} mistakes`} and ${g.items.length - shownWrong} right (report --gallery-images).` : ''}</p>
<h2>Confusion matrix</h2>
<p class="meta">Rows are true classes, columns predicted; shading is the share of the row. Click a count to see those images.</p>
<div style="overflow-x:auto">${heatmap(g.classes, cm)}</div>
<h2>Most confused pairs</h2>
${list}
<h2>Test images</h2>
<p class="controls"><label>Show <select id="filter" data-classes="${esc(JSON.stringify(g.classes))}">${options.join('')}</select></label> <span id="count"></span></p>
<div class="grid">
${figures.join('\n')}
</div>
<script>${SCRIPT}</script>
</body></html>
`;
}
