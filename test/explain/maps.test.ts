import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jet, normalise, peak, toMap, upsample } from '../../src/explain/maps.ts';

test('normalise: min-max to [0, 1]; a constant map is all 1 when positive, all 0 otherwise; NaN counts as 0', () => {
  assert.deepEqual([...normalise([2, 4, 6])], [0, 0.5, 1]);
  assert.deepEqual([...normalise([-3, 1])], [0, 1]);
  assert.deepEqual([...normalise([5, 5])], [1, 1]);
  assert.deepEqual([...normalise([0, 0, 0])], [0, 0, 0]);
  assert.deepEqual([...normalise([NaN, 2])], [0, 1]);
});

test('toMap keeps the grid shape and refuses values of another size', () => {
  const m = toMap([1, 2, 3, 4, 5, 6], 2, 3);
  assert.deepEqual([m.height, m.width], [2, 3]);
  assert.equal(Math.max(...m.values), 1);
  assert.equal(Math.min(...m.values), 0);
  assert.throws(() => toMap([1, 2, 3], 2, 2), RangeError);
});

test('upsample: bilinear with half-pixel centres (hand-computed), the image size, normalised, the peak where the grid had it', () => {
  // [0, 1] on a 1x2 grid → 1x4: sample centres at x = -0.25, 0.25, 0.75, 1.25 in grid units, clamped → 0, 0.25, 0.75, 1.
  const up = upsample({ height: 1, width: 2, values: Float32Array.of(0, 1) }, 1, 4);
  assert.deepEqual([...up.values], [0, 0.25, 0.75, 1]);
  const grid = toMap([0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0], 3, 4); // the peak at row 1, column 3
  const big = upsample(grid, 30, 40);
  assert.deepEqual([big.height, big.width, big.values.length], [30, 40, 1200]);
  assert.equal(Math.max(...big.values), 1);
  assert.equal(Math.min(...big.values), 0);
  const p = peak(big);
  assert.ok(p.row >= 10 && p.row < 20 && p.col >= 30, `peak at ${p.row},${p.col}`);
});

test('jet: blue at 0, green in the middle, red at 1', () => {
  assert.deepEqual(jet(0), [0, 0, 128]);
  assert.deepEqual(jet(0.5), [128, 255, 128]);
  assert.deepEqual(jet(1), [128, 0, 0]);
});
