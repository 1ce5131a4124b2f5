import assert from 'node:assert/strict';
import { platform } from 'node:os';
import { test } from 'node:test';
import { hardwareSummary, parseCpuinfo, usableFeatures } from '../../src/results/hardware.ts';

// Excerpts of real /proc/cpuinfo files (two logical CPUs each, trimmed to the lines that matter plus some noise).
const cpu = (model: string | null, flagsLine: string) =>
  [0, 1]
    .map((i) => [`processor\t: ${i}`, 'vendor_id\t: GenuineIntel', 'cpu family\t: 6', ...(model ? [`model name\t: ${model}`] : []), 'cpu MHz\t\t: 2300.000', flagsLine, 'bogomips\t: 4600.00', ''].join('\n'))
    .join('\n');

const HASWELL = cpu(
  'Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz',
  'flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht syscall nx pdpe1gb rdtscp lm constant_tsc rep_good nopl xtopology cpuid pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand hypervisor lahf_lm abm 3dnowprefetch invpcid_single pti fsgsbase bmi1 hle avx2 smep bmi2 erms invpcid rtm rdseed adx xsaveopt',
);

const CASCADE_LAKE = cpu(
  'Intel(R) Xeon(R) Platinum 8280 CPU @ 2.70GHz',
  'flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ss ht syscall nx pdpe1gb rdtscp lm constant_tsc arch_perfmon rep_good nopl xtopology nonstop_tsc cpuid tsc_known_freq pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand hypervisor lahf_lm abm 3dnowprefetch invpcid_single ssbd ibrs ibpb stibp ibrs_enhanced fsgsbase tsc_adjust bmi1 avx2 smep bmi2 erms invpcid mpx avx512f avx512dq rdseed adx smap clflushopt clwb avx512cd avx512bw avx512vl xsaveopt xsavec xgetbv1 xsaves arat avx512_vnni md_clear arch_capabilities',
);

const SAPPHIRE_RAPIDS = cpu(
  'Intel(R) Xeon(R) Platinum 8488C',
  'flags\t\t: fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 avx512f avx512dq avx512cd avx512bw avx512vl avx_vnni avx512_bf16 avx512vbmi avx512_vbmi2 avx512_vnni avx512_bitalg avx512_vpopcntdq amx_bf16 avx512_fp16 amx_tile amx_int8',
);

const GRAVITON3 = cpu(
  null,
  'Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm jscvt fcma lrcpc dcpop sha3 sm3 sm4 asimddp sha512 sve asimdfhm dit uscat ilrcpc flagm ssbs paca pacg dcpodp svei8mm svebf16 i8mm bf16 dgh rng',
);

test('cpuinfo of an AVX2 machine: its model name and sse4_2 avx avx2 fma f16c, no AVX-512', () => {
  assert.deepEqual(parseCpuinfo(HASWELL), { cpu: 'Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz', features: ['sse4_2', 'avx', 'avx2', 'fma', 'f16c'] });
});

test('cpuinfo of an AVX-512 VNNI machine: avx512f, avx512bw and avx512_vnni on top of AVX2 (avx512dq, vl, cd left out)', () => {
  assert.deepEqual(parseCpuinfo(CASCADE_LAKE), {
    cpu: 'Intel(R) Xeon(R) Platinum 8280 CPU @ 2.70GHz',
    features: ['sse4_2', 'avx', 'avx2', 'fma', 'f16c', 'avx512f', 'avx512bw', 'avx512_vnni'],
  });
});

test('under tools/avx2-native.sh (its library in the memory map) the features lose AVX-512, VNNI and AMX; otherwise all stay', () => {
  const all = parseCpuinfo(SAPPHIRE_RAPIDS).features;
  const maps = (lib: string) => `7f3c1a000000-7f3c1a001000 r--p 00000000 08:01 1234 /usr/lib/x86_64-linux-gnu/libc.so.6\n7f3c1b000000-7f3c1b001000 r-xp 00001000 08:01 5678 ${lib}\n`;
  assert.deepEqual(usableFeatures(all, maps('/repo/node_modules/.cache/reprobe/cpuid-avx2-4624236e85e05fbe.so')), ['sse4_2', 'avx', 'avx2', 'fma', 'f16c']);
  assert.deepEqual(usableFeatures(all, maps('/usr/lib/x86_64-linux-gnu/libm.so.6')), all);
});

test('cpuinfo with AMX and AVX-VNNI: every amx_* flag, sorted, after the listed ones', () => {
  assert.deepEqual(parseCpuinfo(SAPPHIRE_RAPIDS).features, ['sse4_2', 'avx', 'avx2', 'fma', 'f16c', 'avx512f', 'avx512bw', 'avx512_vnni', 'avx_vnni', 'amx_bf16', 'amx_int8', 'amx_tile']);
});

test('cpuinfo of an Arm machine: no model name line, its Features line read', () => {
  assert.deepEqual(parseCpuinfo(GRAVITON3), { cpu: null, features: ['asimd', 'asimddp', 'i8mm', 'bf16', 'sve'] });
});

test('empty or unreadable cpuinfo: no model, no features', () => {
  assert.deepEqual(parseCpuinfo(''), { cpu: null, features: [] });
});

test('the live summary: a CPU name, at least one core, a memory size, the OS, cached per process', () => {
  const h = hardwareSummary();
  assert.ok(h.cpu.trim().length > 0, `cpu "${h.cpu}"`);
  assert.ok(Number.isInteger(h.cores) && h.cores >= 1, `cores ${h.cores}`);
  assert.ok(h.memory_gb > 0);
  assert.ok(h.os.startsWith(`${platform()} `), h.os);
  assert.ok(Array.isArray(h.features) && h.features.every((f) => typeof f === 'string'));
  assert.ok(h.gpu === null || h.gpu.length > 0);
  assert.equal(hardwareSummary(), h);
});
