import { gemmModel } from './onnx-graph.ts';
import { openKernel, type Kernel, type KernelFeed } from './ort.ts';

/**
 * Dense matrix products on onnxruntime's MLAS kernels (AVX2/FMA, all cores): about 30x a JavaScript loop, which
 * is what lets the probes match scikit-learn's BLAS. No maintained npm BLAS binding ships prebuilt for node 20;
 * onnxruntime-node is already a dependency.
 */
export type Floats = Float32Array | Float64Array;

export interface GemmOptions {
  /** Use Aᵀ: A is given as [k, m]. */
  transA?: boolean;
  /** Use Bᵀ: B is given as [n, k]. */
  transB?: boolean;
  /** Added to every row of the product: [n]. */
  bias?: Floats;
}

const sessions = new Map<string, Promise<Kernel>>();

function session(type: 'float32' | 'float64', opt: GemmOptions): Promise<Kernel> {
  const key = `${type}:${opt.transA ? 1 : 0}:${opt.transB ? 1 : 0}:${opt.bias ? 1 : 0}`;
  let s = sessions.get(key);
  if (!s) {
    const bytes = gemmModel({ transA: opt.transA, transB: opt.transB, bias: Boolean(opt.bias), type });
    s = openKernel(bytes);
    sessions.set(key, s);
  }
  return s;
}

/** A [m,k] (or [k,m] with transA) times B [k,n] (or [n,k] with transB), plus bias → [m,n], in A's precision. */
export async function gemm<T extends Floats>(a: T, aDims: [number, number], b: T, bDims: [number, number], opt: GemmOptions = {}): Promise<T> {
  const type = a instanceof Float64Array ? 'float64' : 'float32';
  const [m, ka] = opt.transA ? [aDims[1], aDims[0]] : aDims;
  const [kb, n] = opt.transB ? [bDims[1], bDims[0]] : bDims;
  if (ka !== kb) throw new RangeError(`gemm: inner sizes differ (${ka} vs ${kb})`);
  if (a.length !== aDims[0] * aDims[1] || b.length !== bDims[0] * bDims[1]) throw new RangeError('gemm: data length does not match dims');
  if (b.constructor !== a.constructor || (opt.bias && opt.bias.constructor !== a.constructor)) throw new TypeError('gemm: mixed precisions');
  if (m === 0 || n === 0) return new (a.constructor as new (len: number) => T)(m * n);
  if (ka === 0) {
    const out = new (a.constructor as new (len: number) => T)(m * n);
    if (opt.bias) for (let i = 0; i < m; i++) out.set(opt.bias, i * n);
    return out;
  }
  const feeds: Record<string, KernelFeed> = { A: { data: a, dims: aDims }, B: { data: b, dims: bDims } };
  if (opt.bias) feeds.C = { data: opt.bias, dims: [n] };
  const { Y } = await (await session(type, opt)).run(feeds);
  return Y as T;
}
