import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { TrainingError } from '../errors.ts';
import { simdKernels } from './simd/kernels.ts';

/**
 * Training kernels for tfjs. The wasm backend (4.22) lacks the convolution filter gradient and both depthwise
 * gradients: the filter gradient is a sum of matrix products (one per filter tap) on wasm's XNNPACK BatchMatMul,
 * since 1x1 convolutions dominate the networks reprobe trains; the depthwise gradients are cheap loops. NHWC,
 * dilation 1 for the dense filter gradient (what tfjs-layers emits). Two more fix measured slow paths: wasm's
 * BatchMatMul with a transposed operand (12x slower than transposing first) and the input gradient of 1x1
 * convolutions (a naive loop, here one matrix product). UnsortedSegmentSum (Gather's gradient) is missing altogether.
 */
type Info = tf.TensorInfo;
interface KernelArgs {
  inputs: Record<string, Info>;
  backend: BackendWasm;
  attrs: Record<string, unknown>;
}
type Conv = ReturnType<typeof tf.backend_util.computeConv2DInfo>;

function convInfo(xShape: number[], filterShape: number[], a: Record<string, unknown>, depthwise: boolean): Conv {
  const format = tf.backend_util.convertConv2DDataFormat((a.dataFormat as 'NHWC' | 'NCHW' | undefined) ?? 'NHWC');
  if (format !== 'channelsLast') throw new TrainingError('The wasm training kernels take NHWC tensors only.');
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    a.strides as [number, number],
    (a.dilations as [number, number] | undefined) ?? [1, 1],
    a.pad as 'same' | 'valid',
    a.dimRoundingMode as 'floor' | undefined,
    depthwise,
    format,
  );
}

const unpadded = (c: Conv) => c.padInfo.top === 0 && c.padInfo.left === 0 && c.padInfo.bottom === 0 && c.padInfo.right === 0;
const view = (backend: BackendWasm, t: Info) => backend.typedArrayFromHeap(t) as Float32Array;

function conv2DBackpropFilter({ inputs, backend, attrs }: KernelArgs): Info {
  const { x, dy } = inputs;
  const c = convInfo(x.shape, attrs.filterShape as number[], attrs, false);
  if (c.dilationHeight !== 1 || c.dilationWidth !== 1) throw new TrainingError('Dilated convolutions do not train on the wasm backend; use --tf-backend cpu.');
  const P = c.batchSize * c.outHeight * c.outWidth;
  const { inChannels: ci, outChannels: co, filterHeight: fh, filterWidth: fw } = c;
  const dyM = { dataId: dy.dataId, shape: [1, P, co], dtype: 'float32' as const };
  const product = (a: Info) => matMul({ inputs: { a, b: dyM }, backend, attrs: { transposeA: true, transposeB: false } });
  const pads = c.padInfo;
  if (fh === 1 && fw === 1 && c.strideHeight === 1 && c.strideWidth === 1 && unpadded(c)) {
    const out = product({ dataId: x.dataId, shape: [1, P, ci], dtype: 'float32' });
    return { ...out, shape: c.filterShape };
  }
  const out = backend.makeOutput(c.filterShape, 'float32');
  const patch = backend.makeOutput([1, P, ci], 'float32');
  for (let wr = 0; wr < fh; wr++) {
    for (let wc = 0; wc < fw; wc++) {
      const xs = view(backend, x);
      const ps = view(backend, patch);
      let p = 0;
      for (let b = 0; b < c.batchSize; b++) {
        for (let yr = 0; yr < c.outHeight; yr++) {
          const xr = yr * c.strideHeight + wr - pads.top;
          for (let yc = 0; yc < c.outWidth; yc++, p++) {
            const xc = yc * c.strideWidth + wc - pads.left;
            if (xr < 0 || xr >= c.inHeight || xc < 0 || xc >= c.inWidth) ps.fill(0, p * ci, (p + 1) * ci);
            else ps.set(xs.subarray(((b * c.inHeight + xr) * c.inWidth + xc) * ci, ((b * c.inHeight + xr) * c.inWidth + xc + 1) * ci), p * ci);
          }
        }
      }
      const part = product(patch);
      view(backend, out).set(view(backend, part), (wr * fw + wc) * ci * co);
      backend.disposeData(part.dataId);
    }
  }
  backend.disposeData(patch.dataId);
  return out;
}

/** Visits every (output position, filter tap) pair that touches the input, with both flat offsets (channel 0). */
function eachTap(c: Conv, visit: (xOff: number, yOff: number, tap: number) => void): void {
  const pads = c.padInfo;
  for (let b = 0; b < c.batchSize; b++) {
    for (let yr = 0; yr < c.outHeight; yr++) {
      for (let wr = 0; wr < c.filterHeight; wr++) {
        const xr = yr * c.strideHeight + wr * c.dilationHeight - pads.top;
        if (xr < 0 || xr >= c.inHeight) continue;
        for (let yc = 0; yc < c.outWidth; yc++) {
          const yOff = ((b * c.outHeight + yr) * c.outWidth + yc) * c.outChannels;
          for (let wc = 0; wc < c.filterWidth; wc++) {
            const xc = yc * c.strideWidth + wc * c.dilationWidth - pads.left;
            if (xc < 0 || xc >= c.inWidth) continue;
            visit(((b * c.inHeight + xr) * c.inWidth + xc) * c.inChannels, yOff, wr * c.filterWidth + wc);
          }
        }
      }
    }
  }
}

/** The SIMD kernel's arguments after its three pointers (channel multiplier 1, channels a multiple of 4), or null. */
function simdShape(c: Conv): number[] | null {
  if (c.outChannels !== c.inChannels || c.inChannels % 4 !== 0) return null;
  return [c.batchSize, c.inHeight, c.inWidth, c.inChannels, c.outHeight, c.outWidth, c.filterHeight, c.filterWidth, c.strideHeight, c.strideWidth, c.dilationHeight, c.dilationWidth, c.padInfo.top, c.padInfo.left];
}

function depthwiseBackpropFilter({ inputs, backend, attrs }: KernelArgs): Info {
  const { x, dy } = inputs;
  const c = convInfo(x.shape, attrs.filterShape as number[], attrs, true);
  const out = backend.makeOutput(c.filterShape, 'float32');
  const [xs, ds, dw] = [view(backend, x), view(backend, dy), view(backend, out)];
  dw.fill(0);
  const simd = simdKernels(backend);
  const shape = simdShape(c);
  if (simd && shape) {
    simd.depthwiseFilter(xs.byteOffset, ds.byteOffset, dw.byteOffset, ...shape);
    return out;
  }
  const ci = c.inChannels;
  const m = c.outChannels / ci;
  eachTap(c, (xOff, yOff, tap) => {
    const wOff = tap * ci * m;
    if (m === 1) {
      for (let d = 0; d < ci; d++) dw[wOff + d] += xs[xOff + d] * ds[yOff + d];
      return;
    }
    for (let d = 0; d < ci; d++) {
      const xv = xs[xOff + d];
      for (let q = 0; q < m; q++) dw[wOff + d * m + q] += xv * ds[yOff + d * m + q];
    }
  });
  return out;
}

function depthwiseBackpropInput({ inputs, backend, attrs }: KernelArgs): Info {
  const { dy, filter } = inputs;
  const c = convInfo(attrs.inputShape as number[], filter.shape, attrs, true);
  const out = backend.makeOutput(c.inShape, 'float32');
  const [ds, ws, dx] = [view(backend, dy), view(backend, filter), view(backend, out)];
  dx.fill(0);
  const simd = simdKernels(backend);
  const shape = simdShape(c);
  if (simd && shape) {
    simd.depthwiseInput(dx.byteOffset, ds.byteOffset, ws.byteOffset, ...shape);
    return out;
  }
  const ci = c.inChannels;
  const m = c.outChannels / ci;
  eachTap(c, (xOff, yOff, tap) => {
    const wOff = tap * ci * m;
    if (m === 1) {
      for (let d = 0; d < ci; d++) dx[xOff + d] += ds[yOff + d] * ws[wOff + d];
      return;
    }
    for (let d = 0; d < ci; d++) {
      let s = 0;
      for (let q = 0; q < m; q++) s += ds[yOff + d * m + q] * ws[wOff + d * m + q];
      dx[xOff + d] += s;
    }
  });
  return out;
}

const RELU6_GRAD = 'ReprobeRelu6Grad';

/** dy where 0 < x ≤ 6, else 0: the gradient of relu6, one pass (SIMD where it can) instead of tfjs's five kernels. */
function relu6Grad({ inputs, backend }: KernelArgs): Info {
  const { x, dy } = inputs;
  const out = backend.makeOutput(x.shape, 'float32');
  const [xs, ds, os] = [view(backend, x), view(backend, dy), view(backend, out)];
  const simd = simdKernels(backend);
  const done = simd ? xs.length & ~3 : 0;
  if (simd) simd.relu6Grad(xs.byteOffset, ds.byteOffset, os.byteOffset, done);
  for (let i = done; i < xs.length; i++) os[i] = xs[i] > 0 && xs[i] <= 6 ? ds[i] : 0;
  return out;
}

let relu6Op: ((x: tf.Tensor) => tf.Tensor) | undefined;

/**
 * min(max(x, 0), 6) with a fused gradient on wasm (elsewhere the same mask from tfjs ops). Keras's ReLU(max_value=6)
 * is relu then clipByValue in tfjs-layers, whose gradients take seven passes over the activation. Made on first use:
 * the CLI's bundle loads tfjs only once a command uses it (bin/bundle.mjs, lazyRequireExternal).
 */
export const relu6 = (x: tf.Tensor): tf.Tensor => (relu6Op ??= relu6WithGrad())(x);

const relu6WithGrad = () =>
  tf.customGrad((x, save) => {
    const xt = x as tf.Tensor;
    (save as tf.GradSaveFunc)([xt]);
    return {
      value: tf.relu6(xt),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [d, xs] = [dy as tf.Tensor, saved[0]];
        if (tf.getBackend() === 'wasm' && registered) return tf.engine().runKernel(RELU6_GRAD, { x: xs, dy: d }) as tf.Tensor;
        return tf.where(tf.logicalAnd(tf.greater(xs, 0), tf.lessEqual(xs, 6)), d, tf.zerosLike(d));
      },
    };
  }) as (x: tf.Tensor) => tf.Tensor;

const AFFINE_GRAD = 'ReprobeChannelAffineGrad';

/** The three gradients of x·a + b (a, b per channel) in one pass: dx = dy·a, da = Σ dy·x, db = Σ dy. */
function affineGrad({ inputs, backend }: KernelArgs): Info[] {
  const { x, dy, a } = inputs;
  const c = a.shape[0];
  const outs = [backend.makeOutput(x.shape, 'float32'), backend.makeOutput([c], 'float32'), backend.makeOutput([c], 'float32')];
  const [da, db] = [view(backend, outs[1]), view(backend, outs[2])];
  da.fill(0);
  db.fill(0);
  simdKernels(backend)!.affineGrad(view(backend, dy).byteOffset, view(backend, x).byteOffset, view(backend, a).byteOffset, view(backend, outs[0]).byteOffset, da.byteOffset, db.byteOffset, view(backend, x).length / c, c);
  return outs;
}

/**
 * The gradients of x·a + b with a and b per channel (the last axis): one SIMD pass on wasm, tfjs ops elsewhere (and
 * for channel counts that are not a multiple of 4).
 */
export function channelAffineGrad(dy: tf.Tensor, x: tf.Tensor, a: tf.Tensor): tf.Tensor[] {
  const c = a.shape[0];
  if (tf.getBackend() === 'wasm' && registered && c % 4 === 0 && a.rank === 1 && x.shape[x.rank - 1] === c && simdKernels(tf.backend() as BackendWasm)) {
    return tf.engine().runKernel(AFFINE_GRAD, { x, dy, a }) as tf.Tensor[];
  }
  const axes = x.shape.map((_, i) => i).slice(0, -1);
  return [tf.mul(dy, a), tf.sum(tf.mul(dy, x), axes), tf.sum(dy, axes)];
}

/**
 * Identity (tf.clone) shares the data, as the cpu backend's does, instead of copying it: the tape clones every tensor
 * a gradient saves, which on wasm copied each saved activation (5.7 % of training MobileNetV2, and the memory twice).
 * Tensors are immutable and variables take new data on assign, so sharing is safe.
 */
function shareData({ inputs, backend }: KernelArgs): Info {
  const { x } = inputs;
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

type Kernel = (a: KernelArgs) => Info;
/** wasm's own kernels, kept before any are replaced. */
const original = new Map<string, Kernel>();
const wasmKernel = (name: string): Kernel => original.get(name) ?? (tf.getKernel(name, 'wasm')!.kernelFunc as unknown as Kernel);

function transposed(backend: BackendWasm, t: Info): Info {
  const perm = t.shape.map((_, i) => i);
  [perm[perm.length - 2], perm[perm.length - 1]] = [perm[perm.length - 1], perm[perm.length - 2]];
  return wasmKernel('Transpose')({ inputs: { x: t }, backend, attrs: { perm } });
}

/** BatchMatMul with any transposed operand made contiguous first. */
function matMul(args: KernelArgs): Info {
  const { inputs, backend, attrs } = args;
  if (!attrs.transposeA && !attrs.transposeB) return wasmKernel('BatchMatMul')(args);
  const a = attrs.transposeA ? transposed(backend, inputs.a) : inputs.a;
  const b = attrs.transposeB ? transposed(backend, inputs.b) : inputs.b;
  const out = wasmKernel('BatchMatMul')({ inputs: { a, b }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } });
  for (const t of [a, b]) if (!Object.values(inputs).includes(t)) backend.disposeData(t.dataId);
  return out;
}

/**
 * The input gradient of any other convolution, one matrix product per filter tap (dy · W_tapᵀ) added into the input
 * positions that tap read: wasm's own Conv2DBackpropInput is a naive loop (InceptionV3's 1x7, 7x1 and 3x3 layers
 * spent most of a last:1 epoch in it).
 */
function tapwiseBackpropInput({ inputs, backend }: KernelArgs, c: Conv): Info {
  const { dy, filter } = inputs;
  const { inChannels: ci, outChannels: co, filterHeight: fh, filterWidth: fw } = c;
  const P = c.batchSize * c.outHeight * c.outWidth;
  const out = backend.makeOutput(c.inShape, 'float32');
  view(backend, out).fill(0);
  const tapW = backend.makeOutput([1, ci, co], 'float32');
  const dyM = { dataId: dy.dataId, shape: [1, P, co], dtype: 'float32' as const };
  for (let wr = 0; wr < fh; wr++) {
    for (let wc = 0; wc < fw; wc++) {
      const tap = wr * fw + wc;
      view(backend, tapW).set(view(backend, filter).subarray(tap * ci * co, (tap + 1) * ci * co));
      const part = matMul({ inputs: { a: dyM, b: tapW }, backend, attrs: { transposeA: false, transposeB: true } });
      const [ps, dx] = [view(backend, part), view(backend, out)];
      let p = 0;
      for (let b = 0; b < c.batchSize; b++) {
        for (let yr = 0; yr < c.outHeight; yr++) {
          const xr = yr * c.strideHeight + wr * c.dilationHeight - c.padInfo.top;
          for (let yc = 0; yc < c.outWidth; yc++, p++) {
            const xc = yc * c.strideWidth + wc * c.dilationWidth - c.padInfo.left;
            if (xr < 0 || xr >= c.inHeight || xc < 0 || xc >= c.inWidth) continue;
            const xOff = ((b * c.inHeight + xr) * c.inWidth + xc) * ci;
            const pOff = p * ci;
            for (let d = 0; d < ci; d++) dx[xOff + d] += ps[pOff + d];
          }
        }
      }
      backend.disposeData(part.dataId);
    }
  }
  backend.disposeData(tapW.dataId);
  return out;
}

/** The input gradient of a 1x1, stride-1, unpadded convolution is dy · Wᵀ; others are summed over the filter taps. */
function conv2DBackpropInput(args: KernelArgs): Info {
  const { inputs, backend, attrs } = args;
  const { dy, filter } = inputs;
  const inShape = attrs.inputShape as number[];
  const c = convInfo(inShape, filter.shape, attrs, false);
  if (c.filterHeight !== 1 || c.filterWidth !== 1 || c.strideHeight !== 1 || c.strideWidth !== 1 || !unpadded(c)) return tapwiseBackpropInput(args, c);
  const P = c.batchSize * c.outHeight * c.outWidth;
  const w = { dataId: filter.dataId, shape: [1, c.inChannels, c.outChannels], dtype: 'float32' as const };
  const out = matMul({ inputs: { a: { dataId: dy.dataId, shape: [1, P, c.outChannels], dtype: 'float32' }, b: w }, backend, attrs: { transposeA: false, transposeB: true } });
  return { ...out, shape: inShape };
}

/**
 * wasm has no UnsortedSegmentSum, which the gradient of Gather needs (Hugging Face exports gather the CLS token and
 * index position tables): a loop over the heap, rows of x summed into their segments.
 */
function unsortedSegmentSum({ inputs, backend, attrs }: KernelArgs): Info {
  const { x, segmentIds } = inputs;
  const n = attrs.numSegments as number;
  const inner = x.shape.slice(1).reduce((p, q) => p * q, 1);
  const out = backend.makeOutput([n, ...x.shape.slice(1)], x.dtype);
  const [xs, ids, os] = [backend.typedArrayFromHeap(x), backend.typedArrayFromHeap(segmentIds), backend.typedArrayFromHeap(out)];
  os.fill(0);
  for (let i = 0; i < x.shape[0]; i++) {
    const seg = ids[i];
    if (seg >= 0 && seg < n) for (let k = 0; k < inner; k++) os[seg * inner + k] += xs[i * inner + k];
  }
  return out;
}

const KERNELS: [string, Kernel][] = [
  ['UnsortedSegmentSum', unsortedSegmentSum],
  ['Conv2DBackpropFilter', conv2DBackpropFilter],
  ['DepthwiseConv2dNativeBackpropFilter', depthwiseBackpropFilter],
  ['DepthwiseConv2dNativeBackpropInput', depthwiseBackpropInput],
  ['BatchMatMul', matMul],
  ['Conv2DBackpropInput', conv2DBackpropInput],
  [RELU6_GRAD, relu6Grad],
  [AFFINE_GRAD, affineGrad as unknown as Kernel],
  ['Identity', shareData],
];

let registered = false;

/** Register the training kernels on the wasm backend, once (wasm's own BatchMatMul and Conv2DBackpropInput stay reachable underneath). */
export function registerWasmTraining(): void {
  if (registered) return;
  registered = true;
  for (const [kernelName, fn] of KERNELS) {
    const own = tf.getKernel(kernelName, 'wasm');
    if (own) {
      original.set(kernelName, own.kernelFunc as unknown as Kernel);
      tf.unregisterKernel(kernelName, 'wasm');
    }
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: fn as unknown as tf.KernelFunc, ...(own?.setupFunc ? { setupFunc: own.setupFunc } : {}) });
  }
}
