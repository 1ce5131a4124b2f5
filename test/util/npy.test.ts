import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readNpy, writeNpy } from '../../src/util/npy.ts';

test('a .npy cut short is an error, not zero-filled values', () => {
  const whole = writeNpy({ data: Float32Array.from([1, 2, 3, 4, 5, 6]), shape: [2, 3] });
  assert.deepEqual([...readNpy(whole).data], [1, 2, 3, 4, 5, 6]);
  assert.throws(() => readNpy(whole.subarray(0, whole.length - 4)), /cut short: \[2, 3\] float32 needs \d+ bytes/);
});
