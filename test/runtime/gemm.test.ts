import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gemm } from '../../src/runtime/gemm.ts';
import { seeded } from '../../src/util/rng.ts';

/** Reference: the plain triple loop in float64. */
function naive(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number, tA: boolean, tB: boolean, bias?: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = bias ? bias[j] : 0;
      for (let c = 0; c < k; c++) s += (tA ? a[c * m + i] : a[i * k + c]) * (tB ? b[j * k + c] : b[c * n + j]);
      out.push(s);
    }
  return out;
}

for (const [name, Arr, tol] of [['float64', Float64Array, 1e-12], ['float32', Float32Array, 1e-4]] as const) {
  test(`gemm (${name}) equals the plain loop for every transpose, with bias, on views into larger buffers`, async () => {
    const rng = seeded(7);
    const [m, k, n] = [37, 65, 11];
    for (const tA of [false, true])
      for (const tB of [false, true])
        for (const withBias of [false, true]) {
          // Views that start mid-buffer: the products must read from their offset.
          const a = new Arr(m * k + 5).map(() => rng() - 0.5).subarray(5);
          const b = new Arr(k * n + 3).map(() => rng() - 0.5).subarray(3);
          const bias = withBias ? new Arr(n).map(() => rng()) : undefined;
          const got = await gemm(a, tA ? [k, m] : [m, k], b, tB ? [n, k] : [k, n], { transA: tA, transB: tB, bias });
          assert.equal(got.constructor, Arr);
          const want = naive(a, b, m, k, n, tA, tB, bias);
          want.forEach((w, i) => assert.ok(Math.abs(got[i] - w) <= tol * Math.max(1, Math.abs(w)), `tA=${tA} tB=${tB} bias=${withBias} [${i}]: ${got[i]} vs ${w}`));
        }
  });
}

test('gemm: empty sides give empty or bias-only products; mismatched sizes are refused', async () => {
  assert.equal((await gemm(new Float64Array(0), [0, 4], new Float64Array(12), [4, 3])).length, 0);
  assert.deepEqual([...(await gemm(new Float64Array(0), [2, 0], new Float64Array(0), [0, 2], { bias: new Float64Array([1, 2]) }))], [1, 2, 1, 2]);
  await assert.rejects(gemm(new Float32Array(6), [2, 3], new Float32Array(8), [4, 2]), /inner sizes differ/);
});
