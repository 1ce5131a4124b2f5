// tools/avx2-native.sh, which issue 30's AVX2 timings run under on an AVX-512 host: CPUID then reports no AVX-512 and
// no VNNI (everything else as the CPU says), onnxruntime runs its AVX2 int8 kernel, and the program's own SIGSEGV
// handling (V8's wasm bounds traps, the default action) still works.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { avx2NativeSkip, avx2Tool as tool } from '../fixtures/avx2-native.ts';
import { tempDir } from '../helpers.ts';

const root = join(import.meta.dirname, '..', '..');
const skip = avx2NativeSkip();

// CPUID leaf 1 ECX and leaf 7's registers (subleaves 0 and 1), as cpuid.h's __cpuid_count returns them.
const CHECK_C = `#include <cpuid.h>
#include <stdio.h>
int main(void) {
  unsigned a, b, c, d, a1, b1, c1, d1, e, f, g, h;
  __cpuid_count(1, 0, a, b, c, d);
  __cpuid_count(7, 0, a1, b1, c1, d1);
  __cpuid_count(7, 1, e, f, g, h);
  printf("{\\"l1ecx\\":%u,\\"l7ebx\\":%u,\\"l7ecx\\":%u,\\"l7edx\\":%u,\\"l71eax\\":%u,\\"l71edx\\":%u}\\n", c, b1, c1, d1, e, h);
  return 0;
}`;
type Regs = Record<'l1ecx' | 'l7ebx' | 'l7ecx' | 'l7edx' | 'l71eax' | 'l71edx', number>;
const bit = (v: number, i: number) => (v >>> i) & 1;

test('under tools/avx2-native.sh CPUID has no AVX-512 and no VNNI, and keeps AVX2, FMA and the other leaf-7 features', { skip }, () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'check.c'), CHECK_C);
  execFileSync('gcc', ['-O1', '-o', join(dir, 'check'), join(dir, 'check.c')]);
  const plain = JSON.parse(execFileSync(join(dir, 'check'), { encoding: 'utf8' })) as Regs;
  const run = spawnSync(tool, [join(dir, 'check')], { encoding: 'utf8', env: { ...process.env, CPUID_AVX2_VERBOSE: '1' } });
  assert.equal(run.status, 0, run.stderr);
  // Each of the three CPUIDs faulted and was answered by the library.
  assert.match(run.stderr, /cpuid-avx2: \d+: 3 CPUID instructions answered/);
  const masked = JSON.parse(run.stdout) as Regs;
  // Bit positions: Intel SDM vol. 2A, CPUID, "Structured Extended Feature Flags" (leaf 7).
  for (const [name, reg, i] of [['AVX512F', 'l7ebx', 16], ['AVX512DQ', 'l7ebx', 17], ['AVX512CD', 'l7ebx', 28], ['AVX512BW', 'l7ebx', 30], ['AVX512VL', 'l7ebx', 31], ['AVX512_VNNI', 'l7ecx', 11], ['AVX512_VBMI', 'l7ecx', 1], ['AVX512_FP16', 'l7edx', 23], ['AVX-VNNI', 'l71eax', 4], ['AVX512_BF16', 'l71eax', 5]] as const)
    assert.equal(bit(masked[reg], i), 0, `${name} still reported`);
  assert.equal(bit(masked.l7ebx, 5), bit(plain.l7ebx, 5), 'AVX2');
  assert.equal(bit(masked.l7ebx, 5), 1, 'this x86-64 CPU has AVX2');
  assert.equal(masked.l1ecx, plain.l1ecx, 'leaf 1 (FMA, AVX, SSE4.2) unchanged');
  // BMI1 3, BMI2 8, ERMS 9, SHA 29 and the like are the CPU's.
  for (const i of [0, 3, 8, 9, 18, 19, 29]) assert.equal(bit(masked.l7ebx, i), bit(plain.l7ebx, i), `leaf 7 EBX bit ${i}`);
});

test("under tools/avx2-native.sh onnxruntime's int8 product saturates as AVX2's VPMADDUBSW does, not as VNNI's exact sums", { skip }, () => {
  // Y = A·B with A all 255 (uint8) and B all 127 (int8), K = 64: VPMADDUBSW adds pairs of u8·s8 products into int16
  // with saturation (SDM vol. 2B), 2·255·127 = 64770 -> 32767, so 32 pairs give 1048544; the exact sum is 2072640.
  const script = `
    const { OnnxGraph } = await import(${JSON.stringify(join(root, 'src', 'runtime', 'onnx-graph.ts'))});
    const ort = (await import('onnxruntime-node')).default;
    const g = new OnnxGraph();
    g.node('MatMulInteger', ['a', 'b'], {}, 'y');
    const bytes = g.encodeModel({ name: 'mmi', inputs: [{ name: 'a', dims: [1, 64], type: 'uint8' }, { name: 'b', dims: [64, 1], type: 'int8' }], outputs: [{ name: 'y', dims: [1, 1], type: 'int32' }] });
    const s = await ort.InferenceSession.create(bytes);
    const r = await s.run({ a: new ort.Tensor('uint8', new Uint8Array(64).fill(255), [1, 64]), b: new ort.Tensor('int8', new Int8Array(64).fill(127), [64, 1]) });
    console.log(r.y.data[0]);`;
  const out = execFileSync(tool, [process.execPath, '--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
  assert.equal(Number(out.trim()), 32 * 32767);
});

test('under tools/avx2-native.sh a wasm out-of-bounds load still throws, and a SIGSEGV still kills', { skip }, () => {
  // (module (memory 1) (func (export "f") (param i32) (result i32) local.get 0 i32.load))
  const wasm = [0, 97, 115, 109, 1, 0, 0, 0, 1, 6, 1, 96, 1, 127, 1, 127, 3, 2, 1, 0, 5, 3, 1, 0, 1, 7, 5, 1, 1, 102, 0, 0, 10, 9, 1, 7, 0, 32, 0, 40, 2, 0, 11];
  const trap = `const i = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(${JSON.stringify(wasm)})));
    try { i.exports.f(1 << 30); console.log('no trap'); } catch (e) { console.log(e.constructor.name + ': ' + e.message); }`;
  assert.equal(execFileSync(tool, [process.execPath, '-e', trap], { encoding: 'utf8' }).trim(), 'RuntimeError: memory access out of bounds');
  const killed = spawnSync(tool, [process.execPath, '-e', "process.kill(process.pid, 'SIGSEGV'); setTimeout(() => {}, 2000)"]);
  assert.equal(killed.signal, 'SIGSEGV');
});

test("a record's hardware made under tools/avx2-native.sh names no AVX-512 or VNNI, as the process's libraries saw none", { skip }, () => {
  const script = `const { hardwareSummary } = await import(${JSON.stringify(join(root, 'src', 'results', 'hardware.ts'))}); console.log(JSON.stringify(hardwareSummary().features));`;
  const features = JSON.parse(execFileSync(tool, [process.execPath, '--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' })) as string[];
  assert.ok(features.includes('avx2'), features.join(' '));
  assert.deepEqual(features.filter((f) => /avx512|vnni|amx/.test(f)), []);
});

// A program's own SIGSEGV handling, run natively and under the tool: an ignored sent SIGSEGV, a handler (SA_RESETHAND
// and sysv_signal: the second SIGSEGV kills), a vfork child resetting its handlers (as Python's subprocess does) while
// the parent's stays, each followed by a CPUID.
const SIGNALS_C = `#define _GNU_SOURCE
#include <cpuid.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
static int hits;
static void handler(int s) { (void)s; hits++; }
int main(int argc, char **argv) {
  unsigned a, b, c, d;
  (void)argc;
  if (argv[1][0] == 'i') { signal(SIGSEGV, SIG_IGN); kill(getpid(), SIGSEGV); }
  if (argv[1][0] == 'h') { signal(SIGSEGV, handler); raise(SIGSEGV); raise(SIGSEGV); }
  if (argv[1][0] == 'r') {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGSEGV, &sa, 0);
  }
  if (argv[1][0] == 's') {
    sysv_signal(SIGSEGV, handler);
    __cpuid_count(0, 0, a, b, c, d);
  }
  if (argv[1][0] == 'r' || argv[1][0] == 's') {
    raise(SIGSEGV);
    printf("hits %d\\n", hits);
    fflush(stdout);
    raise(SIGSEGV);
  }
  if (argv[1][0] == 'v') {
    signal(SIGSEGV, handler);
    pid_t child = vfork();
    if (child == 0) {
      signal(SIGSEGV, SIG_DFL);
      _exit(0);
    }
    waitpid(child, 0, 0);
    raise(SIGSEGV);
  }
  __cpuid_count(0, 0, a, b, c, d);
  printf("hits %d, alive\\n", hits);
  return 0;
}`;

test("under tools/avx2-native.sh a program's own SIGSEGV handling (ignored, a handler, SA_RESETHAND, sysv_signal, a vfork child's reset) behaves as without it", { skip }, () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'signals.c'), SIGNALS_C);
  execFileSync('gcc', ['-O1', '-o', join(dir, 'signals'), join(dir, 'signals.c')]);
  for (const mode of ['i', 'h', 'r', 's', 'v']) {
    const plain = spawnSync(join(dir, 'signals'), [mode], { encoding: 'utf8' });
    const masked = spawnSync(tool, [join(dir, 'signals'), mode], { encoding: 'utf8' });
    assert.deepEqual([masked.stdout, masked.status, masked.signal], [plain.stdout, plain.status, plain.signal], `mode ${mode}`);
  }
  // What the kernel does natively, written out: the ignored one, the handler and the vfork parent survive,
  // SA_RESETHAND's and sysv_signal's second SIGSEGV kills.
  const native = (mode: string) => spawnSync(join(dir, 'signals'), [mode], { encoding: 'utf8' });
  assert.deepEqual(['i', 'h', 'r', 's', 'v'].map((m) => native(m).signal ?? native(m).stdout.trim()), ['hits 0, alive', 'hits 2, alive', 'SIGSEGV', 'SIGSEGV', 'hits 1, alive']);
});
