import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { arch, cpus, platform, release, totalmem } from 'node:os';

/** What a result ran on: enough to explain a number that differs between machines (int8 and float kernels do). */
export interface Hardware {
  /** CPU model name (`AMD EPYC 7B13`, `Intel(R) Xeon(R) Platinum 8480+`). */
  cpu: string;
  /** Logical CPUs. */
  cores: number;
  /** Instruction-set extensions that change numeric kernels (KERNEL_FEATURES order); [] where the OS does not say. */
  features: string[];
  memory_gb: number;
  /** `${platform} ${release} ${arch}`: `linux 6.8.0-45-generic x64`. */
  os: string;
  /** GPU name(s) from nvidia-smi, comma-separated; null without an NVIDIA driver. */
  gpu: string | null;
}

/**
 * The /proc/cpuinfo flags that select different matrix-product and convolution kernels in onnxruntime (MLAS) and
 * XNNPACK, in a fixed order; `amx_*` flags are kept too. x86 first, then Arm's (its cpuinfo says `Features`).
 */
const KERNEL_FEATURES = ['sse4_2', 'avx', 'avx2', 'fma', 'f16c', 'avx512f', 'avx512bw', 'avx512_vnni', 'avx512vnni', 'avx_vnni', 'asimd', 'asimddp', 'i8mm', 'bf16', 'sve', 'sve2'];

/** /proc/cpuinfo text → the first model name (null when absent, as on Arm) and the kernel-relevant flags of the first CPU. */
export function parseCpuinfo(text: string): { cpu: string | null; features: string[] } {
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(text)?.[1].trim();
  const flags = new Set((field('flags') ?? field('Features') ?? '').split(/\s+/).filter(Boolean));
  const amx = [...flags].filter((f) => f.startsWith('amx_')).sort();
  return { cpu: field('model name') || null, features: [...KERNEL_FEATURES.filter((f) => flags.has(f)), ...amx] };
}

/** Whether a process's memory map (/proc/self/maps) holds tools/avx2-native.sh's cpuid-avx2 library. */
export const cpuidMasked = (maps: string): boolean => /\/cpuid-avx2-[0-9a-f]+\.so$/m.test(maps);

/**
 * The features a process can use: under tools/avx2-native.sh (cpuidMasked) the process's libraries see no AVX-512,
 * VNNI or AMX, so its records name the kernels it could run.
 */
export function usableFeatures(features: string[], maps: string): string[] {
  return cpuidMasked(maps) ? features.filter((f) => !/^(avx512|avx_vnni|amx_)/.test(f)) : features;
}

let cached: Hardware | undefined;

/** This machine, read once per process: CPU model, logical cores, kernel-relevant extensions, memory, OS, GPU. */
export function hardwareSummary(): Hardware {
  cached ??= measure();
  return cached;
}

function measure(): Hardware {
  const list = cpus();
  const info = platform() === 'linux' ? parseCpuinfo(readText('/proc/cpuinfo')) : { cpu: null, features: [] };
  return {
    cpu: info.cpu ?? list[0]?.model?.trim() ?? 'unknown',
    cores: Math.max(1, list.length),
    features: usableFeatures(info.features, platform() === 'linux' ? readText('/proc/self/maps') : ''),
    memory_gb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${platform()} ${release()} ${arch()}`,
    gpu: nvidiaGpus(),
  };
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** `nvidia-smi --query-gpu=name`, given 2 s; null when it is absent, fails or lists nothing. */
function nvidiaGpus(): string | null {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], { timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
    const names = out.split('\n').map((l) => l.trim()).filter(Boolean);
    return names.length ? names.join(', ') : null;
  } catch {
    return null;
  }
}
