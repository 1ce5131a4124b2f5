import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { renderVegaLite } from '../../src/util/plot.ts';

test('a plot whose labels hold control characters XML forbids (class names with BEL, ESC, NUL) renders, the characters shown as \\uXXXX', async () => {
  const names = ['c\x1b]0;pwn\x07', 'nul\x00here', 'plain'];
  const { svg, png } = await renderVegaLite({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'umap \x07',
    data: { values: names.map((name, i) => ({ x: i, y: i, name })) },
    mark: 'point',
    encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' }, color: { field: 'name', type: 'nominal' } },
  });
  // XML 1.0's Char production: tab, LF, CR and from U+0020 on (no U+FFFE/U+FFFF).
  assert.doesNotMatch(svg, /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/);
  assert.ok(svg.includes('c\\u001b]0;pwn\\u0007') && svg.includes('nul\\u0000here'), 'the legend shows the names escaped');
  const meta = await sharp(png).metadata();
  assert.equal(meta.format, 'png');
  assert.ok(meta.width! > 100 && meta.height! > 50);
});
