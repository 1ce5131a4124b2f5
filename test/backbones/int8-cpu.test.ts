import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { bundle } from '../../bin/bundle.mjs';
import { quantizeDynamic } from '../../src/runtime/quantize.ts';
import { seeded } from '../../src/util/rng.ts';
import { tinyVit } from '../fixtures/onnx-fixtures.ts';
import { avx2NativeSkip, avx2Tool } from '../fixtures/avx2-native.ts';
import { tempDir } from '../helpers.ts';

/**
 * The README's "with 7 bits the integer products, and so the outputs, are the same on every CPU": the int8 files run
 * on the host and on an AVX2-only CPU (no AVX-512, no VNNI: onnxruntime's other int8 kernel family). That CPU is this
 * one with CPUID masked (tools/avx2-native.sh) where that can run and hides something, natively; else qemu's
 * emulated Haswell, which qemu-user gives (installed with apt-get when missing and this runs as root; otherwise the test
 * skips, saying why).
 */
const native = avx2NativeSkip() === false;
function qemu(): string | undefined {
  const has = () => spawnSync('qemu-x86_64', ['--version']).status === 0;
  if (native || has()) return undefined;
  if (process.getuid?.() !== 0 || spawnSync('apt-get', ['--version']).status !== 0) return 'qemu-x86_64 is missing and apt-get cannot install it here (apt-get install qemu-user)';
  spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'qemu-user'], { timeout: 300_000, stdio: 'ignore' });
  return has() ? undefined : 'qemu-x86_64 is missing and `apt-get install qemu-user` failed (no network?)';
}
const skip = process.arch !== 'x64' ? 'needs an x86-64 CPU' : (qemu() ?? false);

const SIZE = 32;
const runner = join(import.meta.dirname, '..', 'fixtures', 'int8-run.ts');
// The runner as one bundled file (bin/bundle.mjs): tsx's loader under qemu's emulation cost this file half its CPU time
// (14 s, 7.8 s without it, on a shared machine).
const bundled = skip ? undefined : await bundle(runner).catch(() => undefined);
const start = bundled ? [bundled] : ['--import', 'tsx', runner];

/** The model's `last_hidden_state` bytes on this CPU, or on an AVX2-only one (CPUID masked, or qemu's Haswell). */
function outputs(model: string, input: string, avx2: boolean): Buffer {
  const out = `${model}.${avx2 ? 'avx2' : 'host'}.bin`;
  const node = [process.execPath, ...start, model, input, JSON.stringify([1, 3, SIZE, SIZE]), 'last_hidden_state', out];
  const [cmd, args] = !avx2 ? [node[0], node.slice(1)] : native ? [avx2Tool, node] : ['qemu-x86_64', ['-cpu', 'Haswell', ...node]];
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, `${avx2 ? `${cmd} ` : ''}run failed: ${r.stderr}`);
  return readFileSync(out);
}

test('int8 files with 7-bit weights give the same outputs bit for bit on the host and on an AVX2-only CPU; 8-bit weights do not', { skip, timeout: 900_000 }, () => {
  const dir = tempDir();
  const float = tinyVit({ size: SIZE, patch: 8, width: 16, dim: 24, layers: 2, seed: 3 });
  const rng = seeded(11);
  const input = join(dir, 'x.bin');
  writeFileSync(input, new Uint8Array(Float32Array.from({ length: 3 * SIZE * SIZE }, () => rng() * 4 - 2).buffer));
  const seven = join(dir, 'int8-7bit.onnx');
  writeFileSync(seven, quantizeDynamic(float).bytes);
  const host = outputs(seven, input, false);
  const haswell = outputs(seven, input, true);
  assert.ok(host.length > 0);
  assert.ok(host.equals(haswell), '7-bit int8 outputs differ between the host and the AVX2-only CPU');
  // The control: full-range weights saturate AVX2's 16-bit pair sums, so the AVX2-only run does run the other kernels.
  const eight = join(dir, 'int8-8bit.onnx');
  writeFileSync(eight, quantizeDynamic(float, { reduceRange: false }).bytes);
  assert.ok(!outputs(eight, input, false).equals(outputs(eight, input, true)), '8-bit int8 outputs are equal on both CPUs: does the AVX2-only run use AVX2 kernels?');
});
