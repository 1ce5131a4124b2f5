/** The report page's inline style: readable tables, best values bold, charts that shrink to the page. */
export const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; margin: 0 auto; padding: 1.5em 2em 4em; max-width: 1280px; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; } h3 { margin: 1.4em 0 0.4em; }
.meta, .legend { color: #555; margin: 0.2em 0; }
nav ul { columns: 2; padding-left: 1.2em; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; margin: 0.3em 0 1em; }
th, td { border-bottom: 1px solid #e4e4e4; padding: 0.25em 0.7em; white-space: nowrap; text-align: left; }
th { background: #f5f6f8; cursor: pointer; user-select: none; position: sticky; top: 0; }
th:hover, th:focus { background: #e8ebf0; }
th[aria-sort="descending"]::after { content: " \\25BE"; } th[aria-sort="ascending"]::after { content: " \\25B4"; }
td.num { text-align: right; }
td.best { font-weight: 700; background: #eef7ee; }
.sd, .n { color: #777; font-weight: 400; font-size: 0.85em; }
tbody tr:hover { background: #fafafa; }
.figures { display: flex; flex-wrap: wrap; gap: 1.2em; }
figure { margin: 0; border: 1px solid #eee; padding: 0.5em; }
figure svg { max-width: 100%; height: auto; display: block; }
ul.notes { color: #8a5a00; }
.hover-scatter { position: relative; } .hover-scatter svg circle { opacity: 0.85; } .hover-scatter svg circle:hover { stroke: #000; stroke-width: 2; opacity: 1; }
.hover-scatter .tip { position: absolute; pointer-events: none; background: #fff; border: 1px solid #999; padding: 4px; font-size: 12px; box-shadow: 0 2px 6px rgba(0,0,0,0.2); max-width: 140px; }
.hover-scatter .tip img { display: block; max-width: 128px; max-height: 128px; } .hover-scatter .tip img:not([src]) { display: none; }
ul.legend { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 0.2em 1em; max-width: 480px; font-size: 12px; }
ul.legend span { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 4px; }
ul.links { columns: 2; }
`;

/**
 * Sortable tables: a click (or Enter) on a header sorts by that column, numbers best first, again to reverse; missing
 * values stay last. `#sort=<table id>:<column>[:asc]` in the address sorts on load. A ready table says so in data-sortable.
 */
export const SCRIPT = `
(function () {
  function key(td) { return td && td.hasAttribute('data-v') ? Number(td.getAttribute('data-v')) : null; }
  function text(td) { return td ? td.textContent.trim().toLowerCase() : ''; }
  function sortBy(table, j, desc) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var numeric = rows.some(function (r) { return key(r.cells[j]) !== null; });
    rows.sort(function (a, b) {
      if (numeric) {
        var x = key(a.cells[j]), y = key(b.cells[j]);
        if (x === null || y === null) return (x === null) - (y === null);
        return desc ? y - x : x - y;
      }
      var s = text(a.cells[j]), t = text(b.cells[j]);
      return (s < t ? -1 : s > t ? 1 : 0) * (desc ? -1 : 1);
    });
    rows.forEach(function (r) { body.appendChild(r); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, k) { th.setAttribute('aria-sort', k === j ? (desc ? 'descending' : 'ascending') : 'none'); });
  }
  Array.prototype.forEach.call(document.querySelectorAll('table.sortable'), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, j) {
      th.tabIndex = 0;
      function go() {
        var state = th.getAttribute('aria-sort');
        var numeric = Array.prototype.some.call(table.tBodies[0].rows, function (r) { return key(r.cells[j]) !== null; });
        sortBy(table, j, state === 'none' || !state ? numeric : state === 'ascending');
      }
      th.addEventListener('click', go);
      th.addEventListener('keydown', function (e) { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); go(); } });
    });
    table.setAttribute('data-sortable', 'ready');
  });
  // UMAP scatters: the point's thumbnail and label beside the pointer.
  Array.prototype.forEach.call(document.querySelectorAll('.hover-scatter'), function (box) {
    var tip = box.querySelector('.tip'), img = tip.querySelector('img'), label = tip.querySelector('span');
    box.addEventListener('mouseover', function (e) {
      var c = e.target;
      if (!c || !c.hasAttribute || !c.hasAttribute('data-label')) return;
      if (c.hasAttribute('data-src')) img.setAttribute('src', c.getAttribute('data-src')); else img.removeAttribute('src');
      label.textContent = c.getAttribute('data-label');
      var r = box.getBoundingClientRect(), p = c.getBoundingClientRect();
      tip.style.left = (p.left - r.left + 12) + 'px';
      tip.style.top = (p.top - r.top + 12) + 'px';
      tip.hidden = false;
    });
    box.addEventListener('mouseout', function (e) { if (e.target && e.target.hasAttribute && e.target.hasAttribute('data-label')) tip.hidden = true; });
  });
  var m = /^#sort=([\\w.-]+):(\\d+)(:asc)?$/.exec(decodeURIComponent(location.hash));
  var t = m && document.getElementById(m[1]);
  if (t) sortBy(t, Number(m[2]), !m[3]);
})();
`;
