import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { toMap } from '../../src/explain/maps.ts';
import { BAR_WIDTH, blend, overlayPng } from '../../src/explain/overlay.ts';

const grey = (width: number, height: number) => ({ width, height, data: new Uint8Array(width * height * 3).fill(128) });

test('the overlay PNG is the image (the map blended on it) plus the colour bar to its right', async () => {
  const image = grey(60, 40);
  // Hot in the top-left cell of a 2x3 grid, cold elsewhere.
  const png = await overlayPng(image, toMap([1, 0, 0, 0, 0, 0], 2, 3));
  const { width, height, format } = await sharp(png).metadata();
  assert.equal(format, 'png');
  assert.deepEqual([width, height], [60 + BAR_WIDTH, 40]);
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const at = (x: number, y: number) => [...data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3)];
  const [r0, , b0] = at(2, 2);
  assert.ok(r0 > b0, `the hot corner is red-ish: ${at(2, 2)}`);
  const [r1, , b1] = at(57, 37);
  assert.ok(b1 > r1, `a cold corner is blue-ish: ${at(57, 37)}`);
  // The bar: red at its top, blue at its bottom (x = width + 12 is inside the gradient strip).
  const top = at(60 + 12, 12);
  const bottom = at(60 + 12, 40 - 7);
  assert.ok(top[0] > top[2] && bottom[2] > bottom[0], `bar ${top} … ${bottom}`);
});

test('blend is half image, half colour map', () => {
  const out = blend(grey(2, 1), toMap([0, 1], 1, 2));
  // jet(0) = [0, 0, 128], jet(1) = [128, 0, 0]: (128 + c) / 2.
  assert.deepEqual([...out], [64, 64, 128, 128, 64, 64]);
});
