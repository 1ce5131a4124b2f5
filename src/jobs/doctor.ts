import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, stat, statfs } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { tfjsBackend, type TfBackendChoice } from '../runtime/tfjs.ts';
import { dataRoot } from '../data/paths.ts';
import { firstLine } from '../errors.ts';
import { listCache } from '../features/cache.ts';
import { hardwareSummary, type Hardware } from '../results/hardware.ts';
import { packageVersion, versions, type Versions } from '../results/versions.ts';
import { cudaStatus, ortProviders, type Device } from '../runtime/ort.ts';
import { reprobeHome } from '../util/paths.ts';

/** `reprobe doctor`: what this machine and install can run, and what the user asked for that is missing. */
export interface DoctorOptions {
  /** The device a run would ask for; `cuda` is checked the way `--device cuda` opens it. */
  device?: Device;
  /** Whether a missing device is an error (`--strict`) or a fallback to the CPU. */
  strict?: boolean;
}

/** One thing that starts or not (null: not tried): a tfjs backend, an execution provider. */
export interface Check {
  name: string;
  ok: boolean | null;
  detail: string;
}

export interface Place {
  path: string;
  exists: boolean;
  /** Free space for this user on its file system (of the nearest folder above that exists); null when unknown. */
  free_gb: number | null;
}

interface Stored {
  files: number;
  bytes: number;
}

export interface DoctorReport {
  versions: Versions & { npm: string | null };
  hardware: Hardware;
  /** `auto`: the backend reprobe picks (null when none starts); one check per backend. */
  tfjs: { auto: string | null; backends: Check[] };
  onnxruntime: { providers: Check[] };
  roots: { cache: Place; data: Place };
  cached: {
    /** Feature matrices in $REPROBE_HOME/features: finished entries, interrupted ones, unreadable ones, bytes of all. */
    features: { entries: number; partial: number; invalid: number; bytes: number };
    /** Hub models under $REPROBE_HOME/models, as owner/repo. */
    models: Stored & { repos: string[] };
    /** Keras backbones converted to ONNX, under $REPROBE_HOME/onnx. */
    converted: Stored;
  };
  /** What to install for GPU use, for each runtime still missing it ([] when both are ready). */
  gpu: { runtime: 'onnxruntime' | 'tfjs'; install: string }[];
  /** The asked-for device: usable, or what is missing. */
  device: { asked: Device; strict: boolean; usable: boolean; missing?: string };
}

const TFJS_NODE = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];
const ORT_GPU = 'ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node (needs an NVIDIA driver, CUDA 12 and cuDNN 9), then --device cuda';
const TFJS_GPU = 'npm install @tensorflow/tfjs-node-gpu (needs CUDA 11.2 and cuDNN 8.1): Keras backbones on --runtime tfjs and their fine-tuning';

/** Everything `reprobe doctor` reports, gathered without writing anything (tfjs is left on the backend `auto` picks). */
export async function doctor(opt: DoctorOptions = {}): Promise<DoctorReport> {
  const npm = npmVersion();
  const tfjs = await tfjsChecks();
  const cuda = await cudaStatus();
  const providers = ortProviders().map(({ name, bundled }): Check => {
    if (name === 'cpu') return { name, ok: true, detail: 'bundled' };
    if (name === 'cuda') return { name, ok: cuda.usable, detail: cuda.usable ? `starts (${cuda.library})` : (cuda.missing ?? 'not usable') };
    return { name, ok: null, detail: `${bundled ? 'bundled' : 'not installed'}; reprobe runs on cpu or cuda` };
  });
  const home = reprobeHome();
  const asked = opt.device ?? 'cpu';
  const tensorflow = tfjs.backends.find((b) => b.name === 'tensorflow');
  return {
    versions: { ...versions(), npm: await npm },
    hardware: hardwareSummary(),
    tfjs,
    onnxruntime: { providers },
    roots: { cache: await place(home), data: await place(dataRoot()) },
    cached: { features: await features(), models: await models(join(home, 'models')), converted: await stored(join(home, 'onnx')) },
    gpu: [
      ...(cuda.usable ? [] : [{ runtime: 'onnxruntime' as const, install: ORT_GPU }]),
      ...(tensorflow?.ok && packageVersion(TFJS_NODE[0]) !== 'unknown' ? [] : [{ runtime: 'tfjs' as const, install: TFJS_GPU }]),
    ],
    device: asked === 'cuda' ? { asked, strict: !!opt.strict, usable: cuda.usable, ...(cuda.usable ? {} : { missing: cuda.missing }) } : { asked, strict: !!opt.strict, usable: true },
  };
}

/** `npm --version`, or null when npm is absent or does not answer in 10 s. */
async function npmVersion(): Promise<string | null> {
  try {
    const { stdout } = await promisify(execFile)('npm', ['--version'], { timeout: 10_000 });
    return stdout.trim() || null;
  } catch {
    return null;
  }
}

/**
 * Which tfjs backends start: what `auto` picks first (so the process keeps its default), then each one forced in
 * turn, then `auto`'s pick again.
 */
async function tfjsChecks(): Promise<DoctorReport['tfjs']> {
  const auto = await tfjsBackend('auto').catch(() => null);
  const installed = TFJS_NODE.filter((p) => packageVersion(p) !== 'unknown').map((p) => `${p} ${packageVersion(p)}`);
  const wasm = packageVersion('@tensorflow/tfjs-backend-wasm');
  const backends: Check[] = [];
  for (const [name, pkg] of [
    ['tensorflow', installed.length ? installed.join(', ') : ''],
    ['wasm', wasm === 'unknown' ? '' : `@tensorflow/tfjs-backend-wasm ${wasm}`],
    ['cpu', `@tensorflow/tfjs ${versions().tfjs}`],
  ] as const) {
    if (!pkg) {
      backends.push({ name, ok: false, detail: `not installed (${name === 'wasm' ? '@tensorflow/tfjs-backend-wasm' : TFJS_NODE.join(' or ')})` });
      continue;
    }
    const error = await tfjsBackend(name).then(
      () => undefined,
      (err: unknown) => firstLine(err),
    );
    backends.push({ name, ok: !error, detail: error ? `${pkg}: ${error}` : `starts (${pkg})` });
  }
  if (auto) await tfjsBackend(auto as TfBackendChoice);
  return { auto, backends };
}

/** A folder, whether it exists, and the free space where it is (or would be). */
async function place(path: string): Promise<Place> {
  const abs = resolve(path);
  let at = abs;
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at);
  const free = await statfs(at).then(
    (s) => Math.round(((s.bavail * s.bsize) / 1e9) * 10) / 10,
    () => null,
  );
  return { path: abs, exists: at === abs, free_gb: free };
}

async function features(): Promise<DoctorReport['cached']['features']> {
  const entries = await listCache().catch(() => []);
  const count = (state: string) => entries.filter((e) => e.state === state).length;
  return { entries: count('done'), partial: count('partial'), invalid: count('invalid'), bytes: entries.reduce((s, e) => s + e.bytes, 0) };
}

/** The hub cache's layout is models/<owner>/<repo>/<revision>/<file>. */
async function models(dir: string): Promise<DoctorReport['cached']['models']> {
  const repos: string[] = [];
  for (const owner of await subdirs(dir)) for (const repo of await subdirs(join(dir, owner))) repos.push(`${owner}/${repo}`);
  return { ...(await stored(dir)), repos };
}

async function subdirs(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
}

/** Files and bytes under a folder (0 and 0 when it does not exist). */
async function stored(dir: string): Promise<Stored> {
  const out = { files: 0, bytes: 0 };
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      const sub = await stored(p);
      out.files += sub.files;
      out.bytes += sub.bytes;
    } else if (e.isFile()) {
      out.files += 1;
      out.bytes += (await stat(p).catch(() => undefined))?.size ?? 0;
    }
  }
  return out;
}
