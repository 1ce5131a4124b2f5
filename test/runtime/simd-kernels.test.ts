import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { kernelsWasm } from '../../src/runtime/simd/kernels-source.ts';
import { sleb, uleb } from '../../src/runtime/simd/wasm-encoder.ts';

test('the committed kernels.wasm is what its source builds (npm run build:kernels), and a valid module', () => {
  const committed = readFileSync(join(import.meta.dirname, '..', '..', 'src', 'runtime', 'simd', 'kernels.wasm'));
  const built = kernelsWasm();
  assert.ok(WebAssembly.validate(built));
  assert.ok(Buffer.from(built).equals(committed), 'src/runtime/simd/kernels.wasm is stale: run npm run build:kernels');
});

test('LEB128 as the format specifies it (the examples from its Wikipedia article)', () => {
  assert.deepEqual(uleb(624485), [0xe5, 0x8e, 0x26]);
  assert.deepEqual(sleb(-123456), [0xc0, 0xbb, 0x78]);
  assert.deepEqual(sleb(64), [0xc0, 0x00]);
  assert.deepEqual(uleb(0), [0]);
});
