// Writes src/runtime/simd/kernels.wasm from its source (src/runtime/simd/kernels-source.ts): `npm run build:kernels`.
// test/runtime/simd-kernels.test.ts rebuilds it and fails when the committed file differs.
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kernelsWasm } from '../src/runtime/simd/kernels-source.ts';

const path = join(import.meta.dirname, '..', 'src', 'runtime', 'simd', 'kernels.wasm');
const bytes = kernelsWasm();
writeFileSync(`${path}.tmp-${process.pid}`, bytes);
renameSync(`${path}.tmp-${process.pid}`, path);
console.log(`${path}: ${bytes.length} bytes`);
