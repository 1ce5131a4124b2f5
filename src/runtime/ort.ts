import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { BackboneError, firstLine } from '../errors.ts';
import { matrix, type Matrix } from '../util/matrix.ts';
import { gemmModel, OnnxGraph } from './onnx-graph.ts';

/**
 * The only module that imports onnxruntime-node: model sessions for backbones, and small compute graphs (GEMM, the LR
 * loss) for the probes. Everything else sees Matrix and plain typed arrays.
 */
// A function, not a constant: the CLI's bundle loads onnxruntime-node on first use (bin/bundle.mjs, lazyRequireExternal).
export const ortVersion = (): string => ort.env.versions?.node ?? 'unknown';

export type Device = 'cpu' | 'cuda';

export interface ValueInfo {
  name: string;
  /** Numbers for fixed axes, strings for symbolic ones (`batch_size`). */
  shape: (number | string)[];
  type: string;
}

export interface Tensor {
  data: Float32Array;
  dims: number[];
}

export type Feed = { type: 'float32'; data: Float32Array; dims: number[] } | { type: 'int64'; data: BigInt64Array; dims: number[] };

/** A typed array and its shape; the element type follows the array (Float32Array → float32, ...). */
export interface KernelFeed {
  data: Float32Array | Float64Array | BigInt64Array;
  dims: readonly number[];
}

/** A small compute graph (matrix products, a loss): named inputs → every output as a flat typed array. */
export interface Kernel {
  run(feeds: Record<string, KernelFeed>): Promise<Record<string, Float32Array | Float64Array>>;
}

/**
 * A session for a small compute graph on all cores. Pool threads do not spin: between calls they would compete with
 * the JavaScript on small machines. `denormalAsZero` flushes subnormal results, which slow later products badly.
 */
export async function openKernel(bytes: Uint8Array, opt: { denormalAsZero?: boolean } = {}): Promise<Kernel> {
  const extra = { session: { intra_op: { allow_spinning: '0' }, ...(opt.denormalAsZero ? { set_denormal_as_zero: '1' } : {}) } };
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: availableParallelism(), extra });
  const typeOf = (d: KernelFeed['data']) => (d instanceof Float32Array ? 'float32' : d instanceof Float64Array ? 'float64' : 'int64');
  return {
    async run(feeds) {
      const tensors = Object.fromEntries(Object.entries(feeds).map(([k, f]) => [k, new ort.Tensor(typeOf(f.data), f.data, f.dims)]));
      const out = await session.run(tensors);
      return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, t.data as Float32Array | Float64Array]));
    },
  };
}

export interface OnnxSession {
  inputName: string;
  outputNames: string[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  /** Execution provider that runs it. */
  device: Device;
  /** Why the asked-for device was not used, when it was not. */
  fallback?: string;
  /** float32 input of shape `dims` → one [batch, rest] matrix per requested output. */
  run(input: Float32Array, dims: number[], outputs?: string[]): Promise<Matrix[]>;
  /** Named inputs → requested outputs with their full shapes. */
  runRaw(feeds: Record<string, Feed>, outputs: string[]): Promise<Tensor[]>;
  dispose(): Promise<void>;
}

export interface SessionOptions {
  threads?: number;
  device?: Device;
  /** Fail (BackboneError) instead of running on the CPU when `device` cannot be used (`--strict`). */
  strict?: boolean;
}

const CUDA_LIBRARY = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';

/** Where onnxruntime-node keeps its native libraries (the CUDA provider's is downloaded there by its install step). */
function ortBinDir(): string | undefined {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return undefined;
  }
}

export interface CudaStatus {
  usable: boolean;
  /** The CUDA provider library onnxruntime-node loads (present or not). */
  library: string;
  /** What is missing, when not usable. */
  missing?: string;
}

let cuda: Promise<CudaStatus> | undefined;

/**
 * Whether onnxruntime can run on CUDA here, found once per process: its CUDA provider library must be installed next
 * to the binding (the install step reprobe's setup skips), and a one-node session must open on it (driver, CUDA and
 * cuDNN libraries). `doctor` and `--device cuda` both ask this.
 */
export function cudaStatus(): Promise<CudaStatus> {
  cuda ??= (async () => {
    const dir = ortBinDir();
    const library = dir ? join(dir, CUDA_LIBRARY) : CUDA_LIBRARY;
    const install = 'install it with ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node (needs CUDA 12 and cuDNN 9)';
    if (!dir || !existsSync(library)) return { usable: false, library, missing: `onnxruntime-node's CUDA execution provider is not installed (no ${library}); ${install}` };
    try {
      const g = new OnnxGraph();
      g.node('Identity', ['x'], {}, 'y');
      const bytes = g.encodeModel({ name: 'cuda_check', inputs: [{ name: 'x', dims: [1] }], outputs: [{ name: 'y', dims: [1] }] });
      const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cuda'], logSeverityLevel: 3 });
      await session.release();
      return { usable: true, library };
    } catch (err) {
      return { usable: false, library, missing: `onnxruntime's CUDA execution provider does not start: ${firstLine(err)} (check the NVIDIA driver, CUDA 12 and cuDNN 9)` };
    }
  })();
  return cuda;
}

/** The execution providers this onnxruntime-node build knows, and whether each ships in the npm package. */
export function ortProviders(): { name: string; bundled: boolean }[] {
  return ort.listSupportedBackends().map((b) => ({ name: b.name, bundled: b.bundled }));
}

/** With `strict`, a device that cannot be used is an error (one line saying what is missing); without, nothing. */
export async function assertDevice(opt: SessionOptions): Promise<void> {
  if (!opt.strict || opt.device !== 'cuda') return;
  const status = await cudaStatus();
  if (!status.usable) throw new BackboneError(`--device cuda --strict: ${status.missing}.`);
}

/** Open an ONNX model (path or bytes) with full graph optimization, on CPU or, when asked and present, CUDA. */
export async function openOnnx(model: string | Uint8Array, opt: SessionOptions = {}): Promise<OnnxSession> {
  let device: Device = 'cpu';
  let fallback: string | undefined;
  if (opt.device === 'cuda') {
    await assertDevice(opt);
    const status = await cudaStatus();
    if (status.usable) device = 'cuda';
    else fallback = `${status.missing}; running on CPU`;
  }
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: device === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: opt.threads ?? availableParallelism(),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // Idle ORT threads yield the cores to image decoding instead of spinning.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
  let session: ort.InferenceSession;
  try {
    // Two calls because create() has separate overloads for a path and for bytes.
    session = typeof model === 'string' ? await ort.InferenceSession.create(model, options) : await ort.InferenceSession.create(model, options);
  } catch (err) {
    const what = typeof model === 'string' ? `"${model}"` : 'the converted model';
    // onnxruntime puts its source file and C++ signature before the reason: `…/model.cc:187 onnxruntime::Model::Model(…) ModelProto does not have a graph.`
    const msg = firstLine(err).replace(/\/?onnxruntime_src\/\S+:\d+\s+[\w:~<>]+\((?:[^()]|\([^()]*\))*\)\s*/g, ' ');
    const hint = /protobuf|parse|invalid model|load model/i.test(msg) ? ' (truncated, corrupt or not an ONNX file?)' : '';
    throw new BackboneError(`onnxruntime cannot load ${what}: ${msg}${hint}`);
  }
  const info = (m: readonly ort.InferenceSession.ValueMetadata[]): ValueInfo[] =>
    m.map((v) => ({ name: v.name, shape: v.isTensor ? v.shape.map((d) => (typeof d === 'number' ? d : String(d))) : [], type: v.isTensor ? v.type : 'non-tensor' }));
  const runRaw = async (feeds: Record<string, Feed>, outputs: string[]): Promise<Tensor[]> => {
    const ortFeeds = Object.fromEntries(Object.entries(feeds).map(([k, f]) => [k, new ort.Tensor(f.type, f.data, f.dims)]));
    const result = await session.run(ortFeeds, outputs);
    return outputs.map((name) => {
      const t = result[name];
      if (t.type !== 'float32') throw new BackboneError(`Output "${name}" is ${t.type}; reprobe reads float32 features.`);
      const out = { data: new Float32Array(t.data as Float32Array), dims: t.dims.map(Number) };
      t.dispose();
      return out;
    });
  };
  return {
    inputName: session.inputNames[0],
    outputNames: [...session.outputNames],
    inputs: info(session.inputMetadata),
    outputs: info(session.outputMetadata),
    device,
    fallback,
    async run(input, dims, outputs = [...session.outputNames]) {
      const raw = await runRaw({ [session.inputNames[0]]: { type: 'float32', data: input, dims } }, outputs);
      return raw.map((t) => matrix(t.dims[0], t.data.length / t.dims[0], t.data));
    },
    runRaw,
    dispose: () => session.release(),
  };
}

/** A product `A·B` (either operand transposed) that returns at once, for tfjs kernels (which are synchronous). */
export interface SyncGemm {
  /** a [m,k] or [k,m] with transA, b [k,n] or [n,k] with transB → [m,n] written into `out`. */
  run(a: Float32Array, aDims: [number, number], b: Float32Array, bDims: [number, number], out: Float32Array, transA: boolean, transB: boolean): void;
  threads: number;
}

interface BindingSession {
  loadModel(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, options: object): void;
  run(feeds: Record<string, ort.Tensor>, fetches: Record<string, ort.Tensor | null>, options: object): Record<string, ort.Tensor>;
}

const syncGemms = new Map<number, SyncGemm | null>();

/**
 * onnxruntime's MLAS GEMM on `threads` cores, called synchronously. onnxruntime-node's public run() is async only
 * because it defers to setImmediate; its native binding (dist/binding, pinned by the lockfile) runs in the call. Null
 * when that binding is not there or does not run (another onnxruntime-node version): callers keep their own kernels.
 */
export function openSyncGemm(threads = availableParallelism()): SyncGemm | null {
  if (syncGemms.has(threads)) return syncGemms.get(threads)!;
  let opened: SyncGemm | null = null;
  try {
    const { binding, initOrt } = createRequire(import.meta.url)('onnxruntime-node/dist/binding') as { binding: { InferenceSession: new () => BindingSession }; initOrt: () => void };
    initOrt();
    const sessions = new Map<number, BindingSession>();
    const session = (transA: boolean, transB: boolean): BindingSession => {
      const key = (transA ? 1 : 0) + (transB ? 2 : 0);
      let s = sessions.get(key);
      if (!s) {
        const bytes = gemmModel({ transA, transB });
        s = new binding.InferenceSession();
        s.loadModel(bytes.buffer, bytes.byteOffset, bytes.byteLength, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', extra: { session: { intra_op: { allow_spinning: '0' } } } });
        sessions.set(key, s);
      }
      return s;
    };
    const gemm: SyncGemm = {
      threads,
      run(a, aDims, b, bDims, out, transA, transB) {
        // The product is written into `out` (a preallocated output): no new buffer per call, no copy.
        const m = transA ? aDims[1] : aDims[0];
        session(transA, transB).run({ A: new ort.Tensor('float32', a, aDims), B: new ort.Tensor('float32', b, bDims) }, { Y: new ort.Tensor('float32', out, [m, out.length / m]) }, {});
      },
    };
    // One small product checks the binding before anyone relies on it.
    const y = new Float32Array(1);
    gemm.run(Float32Array.of(1, 2), [1, 2], Float32Array.of(3, 4), [2, 1], y, false, false);
    if (y[0] === 11) opened = gemm;
  } catch {
    // Not this onnxruntime-node's binding: null, and the caller's own kernels.
  }
  syncGemms.set(threads, opened);
  return opened;
}
