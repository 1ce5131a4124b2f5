import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { TrainingError } from '../errors.ts';
import { openSyncGemm, type SyncGemm } from './ort.ts';
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
      fillPatch(c, view(backend, x), view(backend, patch), wr, wc);
      const tap = (wr * fw + wc) * ci * co;
      // Written straight into this tap's slice of the filter gradient.
      if (gemm && gemmRun(view(backend, patch), [P, ci], view(backend, dy), [P, co], view(backend, out).subarray(tap, tap + ci * co), true, false)) continue;
      const part = product(patch);
      view(backend, out).set(view(backend, part), tap);
      backend.disposeData(part.dataId);
    }
  }
  backend.disposeData(patch.dataId);
  return out;
}

/**
 * The input values filter tap (wr, wc) meets at each output position, zeros where it falls in the padding: row p of
 * `ps` from p·rowStride + column (a [P, ci] patch by default; a tap's columns of the im2col matrix otherwise).
 */
function fillPatch(c: Conv, xs: Float32Array, ps: Float32Array, wr: number, wc: number, rowStride = c.inChannels, column = 0): void {
  const ci = c.inChannels;
  const pads = c.padInfo;
  let to = column;
  for (let b = 0; b < c.batchSize; b++) {
    for (let yr = 0; yr < c.outHeight; yr++) {
      const xr = yr * c.strideHeight + wr - pads.top;
      for (let yc = 0; yc < c.outWidth; yc++, to += rowStride) {
        const xc = yc * c.strideWidth + wc - pads.left;
        if (xr < 0 || xr >= c.inHeight || xc < 0 || xc >= c.inWidth) ps.fill(0, to, to + ci);
        else {
          const from = ((b * c.inHeight + xr) * c.inWidth + xc) * ci;
          // A few channels (an RGB stem) copy faster one by one than through a subarray per position.
          if (ci < 16) for (let d = 0; d < ci; d++) ps[to + d] = xs[from + d];
          else ps.set(xs.subarray(from, from + ci), to);
        }
      }
    }
  }
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

const AFFINE = 'ReprobeChannelAffine';

/** x·a + b with a and b per channel, one SIMD pass; then min(max(·, 0), 6) with `relu6`. */
const affineKernelOf =
  (relu6: boolean) =>
  ({ inputs, backend }: KernelArgs): Info => {
    const { x, a, b } = inputs;
    const out = backend.makeOutput(x.shape, 'float32');
    const c = a.shape[0];
    const k = simdKernels(backend)!;
    (relu6 ? k.affineRelu6 : k.affine)(view(backend, x).byteOffset, view(backend, a).byteOffset, view(backend, b).byteOffset, view(backend, out).byteOffset, view(backend, x).length / c, c);
    return out;
  };

/** Whether x·a + b (a, b per channel, the last axis) can run in reprobe's SIMD kernels here. */
const simdAffine = (x: tf.Tensor, a: tf.Tensor, b?: tf.Tensor): boolean =>
  tf.getBackend() === 'wasm' && registered && a.rank === 1 && a.shape[0] % 4 === 0 && x.shape[x.rank - 1] === a.shape[0] && (!b || (b.rank === 1 && b.shape[0] === a.shape[0])) && x.dtype === 'float32' && simdKernels(tf.backend() as BackendWasm) !== null;

/** x·a + b with a and b per channel (the last axis): one SIMD pass on wasm, tfjs's multiply and add elsewhere. */
export function channelAffineValue(x: tf.Tensor, a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  if (simdAffine(x, a, b)) return tf.engine().runKernel(AFFINE, { x, a, b }) as tf.Tensor;
  return tf.tidy(() => tf.add(tf.mul(x, a), b));
}

const AFFINE_RELU6 = 'ReprobeChannelAffineRelu6';
const AFFINE_RELU6_GRAD = 'ReprobeChannelAffineRelu6Grad';

/**
 * The three gradients of x·a + b (a, b per channel) in one pass, dx = g·a, da = Σ g·x, db = Σ g, with g = dy, or with
 * `relu6` g = dy where 0 < x·a + b ≤ 6 (b an input then).
 */
const affineGradKernelOf =
  (relu6: boolean) =>
  ({ inputs, backend }: KernelArgs): Info[] => {
    const { dy, x, a, b } = inputs;
    const c = a.shape[0];
    const outs = [backend.makeOutput(x.shape, 'float32'), backend.makeOutput([c], 'float32'), backend.makeOutput([c], 'float32')];
    const [da, db] = [view(backend, outs[1]), view(backend, outs[2])];
    da.fill(0);
    db.fill(0);
    const k = simdKernels(backend)!;
    const [dyP, xP, aP, dxP, rows] = [view(backend, dy).byteOffset, view(backend, x).byteOffset, view(backend, a).byteOffset, view(backend, outs[0]).byteOffset, view(backend, x).length / c];
    if (relu6) k.affineRelu6Grad(dyP, xP, aP, view(backend, b).byteOffset, dxP, da.byteOffset, db.byteOffset, rows, c);
    else k.affineGrad(dyP, xP, aP, dxP, da.byteOffset, db.byteOffset, rows, c);
    return outs;
  };

/**
 * relu6(x·a + b) with a and b per channel (the last axis): batch norm and relu6 as one step for the gradient tape. It
 * keeps x, a and b (x is kept anyway) and takes relu6's mask again from them in the backward pass, so the batch norm's
 * output is never stored: one pass each way on wasm's SIMD kernels, tfjs ops elsewhere.
 */
export const channelAffineRelu6 = (x: tf.Tensor, a: tf.Tensor, b: tf.Tensor): tf.Tensor => (affineRelu6Op ??= affineRelu6WithGrad())(x, a, b);

/** Made on first use, as relu6: tfjs loads only once a command uses it. */
let affineRelu6Op: ((x: tf.Tensor, a: tf.Tensor, b: tf.Tensor) => tf.Tensor) | undefined;

const affineRelu6WithGrad = () => tf.customGrad((x, a, b, save) => {
  const [xt, at, bt] = [x, a, b] as tf.Tensor[];
  (save as tf.GradSaveFunc)([xt, at, bt]);
  const fused = simdAffine(xt, at, bt);
  return {
    value: fused ? (tf.engine().runKernel(AFFINE_RELU6, { x: xt, a: at, b: bt }) as tf.Tensor) : tf.tidy(() => tf.relu6(tf.add(tf.mul(xt, at), bt))),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const [d, xs, as, bs] = [dy as tf.Tensor, ...saved];
      if (fused) return tf.engine().runKernel(AFFINE_RELU6_GRAD, { dy: d, x: xs, a: as, b: bs }) as tf.Tensor[];
      return tf.tidy(() => {
        const y = tf.add(tf.mul(xs, as), bs);
        const g = tf.where(tf.logicalAnd(tf.greater(y, 0), tf.lessEqual(y, 6)), d, tf.zerosLike(d));
        const axes = xs.shape.map((_, i) => i).slice(0, -1);
        return [tf.mul(g, as), tf.sum(tf.mul(g, xs), axes), tf.sum(g, axes)];
      });
    },
  };
}) as (x: tf.Tensor, a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

const AFFINE_GRAD = 'ReprobeChannelAffineGrad';

/**
 * The gradients of x·a + b with a and b per channel (the last axis): one SIMD pass on wasm, tfjs ops elsewhere (and
 * for channel counts that are not a multiple of 4).
 */
export function channelAffineGrad(dy: tf.Tensor, x: tf.Tensor, a: tf.Tensor): tf.Tensor[] {
  if (simdAffine(x, a)) {
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

/** Products smaller than this many multiply-adds stay on XNNPACK: an onnxruntime call costs some microseconds. */
const GEMM_MIN_MACS = 1 << 18;
let gemm: SyncGemm | null = null;

/** One product (any leading batch axes of size 1) on onnxruntime's GEMM, transposes read in place; null when it stays on wasm. */
function ortMatMul({ inputs, backend, attrs }: KernelArgs): Info | null {
  const { a, b } = inputs;
  const single = (t: Info) => t.shape.length >= 2 && t.shape.slice(0, -2).every((d) => d === 1) && t.dtype === 'float32';
  if (!gemm || !single(a) || !single(b)) return null;
  const dims = (t: Info): [number, number] => [t.shape[t.shape.length - 2], t.shape[t.shape.length - 1]];
  const [aDims, bDims] = [dims(a), dims(b)];
  const [tA, tB] = [Boolean(attrs.transposeA), Boolean(attrs.transposeB)];
  const [m, k] = tA ? [aDims[1], aDims[0]] : aDims;
  const n = tB ? bDims[0] : bDims[1];
  if (m * n * k < GEMM_MIN_MACS) return null;
  // As wasm's BatchMatMul: the longer operand's leading axes (all 1), then [m, n].
  const lead = (a.shape.length >= b.shape.length ? a : b).shape.slice(0, -2);
  const out = backend.makeOutput([...lead, m, n], 'float32');
  if (gemmRun(view(backend, a), aDims, view(backend, b), bDims, view(backend, out), tA, tB)) return out;
  backend.disposeData(out.dataId);
  return null;
}

/** One product on onnxruntime; false (and wasm's products from then on, with a warning) when it throws. */
function gemmRun(...args: Parameters<SyncGemm['run']>): boolean {
  try {
    gemm!.run(...args);
    return true;
  } catch (err) {
    gemm = null;
    process.emitWarning(`onnxruntime's matrix product failed (${(err as Error).message.split('\n')[0]}); training goes on with wasm's own (slower, same result)`);
    return false;
  }
}

/** BatchMatMul on onnxruntime's GEMM where it is large enough; else with any transposed operand made contiguous first. */
function matMul(args: KernelArgs): Info {
  const { inputs, backend, attrs } = args;
  const fast = ortMatMul(args);
  if (fast) return fast;
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

/** The patch matrix of a convolution above this many floats stays on wasm's own kernel (its heap ends at 4 GiB). */
const IM2COL_MAX_FLOATS = 1 << 24;

/**
 * A convolution on onnxruntime's GEMM where it can, else wasm's: 1x1, stride 1, unpadded is one product [P, ci]·[ci, co];
 * any other (dilation 1) is the product of its patch matrix [P, fh·fw·ci] (im2col) with the filter as [fh·fw·ci, co],
 * whose rows are tfjs' filter layout already (InceptionV3's 3x3, 1x7 and 7x1 layers: its last:1 epoch 9.3 -> 7.3 s).
 * Under 16 input channels (MobileNetV2's RGB stem) XNNPACK stays faster than building the patches (+4 % of an epoch).
 */
function conv2D(args: KernelArgs): Info {
  const { inputs, backend, attrs } = args;
  const { x, filter } = inputs;
  if (gemm && x.dtype === 'float32') {
    const c = convInfo(x.shape, filter.shape, attrs, false);
    const P = c.batchSize * c.outHeight * c.outWidth;
    const K = c.filterHeight * c.filterWidth * c.inChannels;
    const lean = c.filterHeight === 1 && c.filterWidth === 1 && c.strideHeight === 1 && c.strideWidth === 1 && unpadded(c);
    if (c.dilationHeight === 1 && c.dilationWidth === 1 && P * K * c.outChannels >= GEMM_MIN_MACS && (lean || (c.inChannels >= 16 && P * K <= IM2COL_MAX_FLOATS))) {
      const patches = lean ? x : im2col(c, backend, x);
      const out = ortMatMul({ inputs: { a: { ...patches, shape: [1, P, K] }, b: { ...filter, shape: [1, K, c.outChannels] } }, backend, attrs: {} });
      if (!lean) backend.disposeData(patches.dataId);
      if (out) return { ...out, shape: c.outShape };
    }
  }
  return wasmKernel('Conv2D')(args);
}

/** The patch matrix [P, fh·fw·ci] of a convolution (dilation 1): each output position's taps in filter order, zeros in the padding. */
function im2col(c: Conv, backend: BackendWasm, x: Info): Info {
  const { inChannels: ci, filterHeight: fh, filterWidth: fw } = c;
  const K = fh * fw * ci;
  const out = backend.makeOutput([c.batchSize * c.outHeight * c.outWidth, K], 'float32');
  const [xs, ps] = [view(backend, x), view(backend, out)];
  for (let wr = 0; wr < fh; wr++) for (let wc = 0; wc < fw; wc++) fillPatch(c, xs, ps, wr, wc, K, (wr * fw + wc) * ci);
  return out;
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
  ['Conv2D', conv2D],
  [RELU6_GRAD, relu6Grad],
  [AFFINE_GRAD, affineGradKernelOf(false) as unknown as Kernel],
  [AFFINE, affineKernelOf(false)],
  [AFFINE_RELU6, affineKernelOf(true)],
  [AFFINE_RELU6_GRAD, affineGradKernelOf(true) as unknown as Kernel],
  ['Identity', shareData],
];

let registered = false;

/**
 * Register the training kernels on the wasm backend, once (wasm's own BatchMatMul and Conv2DBackpropInput stay
 * reachable underneath), with the matrix products on onnxruntime unless REPROBE_TRAIN_GEMM=wasm says otherwise.
 * `gemmThreads`: onnxruntime's threads (default: every core; a training thread of two takes half).
 */
export function registerWasmTraining(opt: { gemmThreads?: number } = {}): void {
  const which = process.env.REPROBE_TRAIN_GEMM === 'wasm' ? 'wasm' : 'onnxruntime';
  // Each training run says its thread count (an earlier run in the process, or Grad-CAM, may have said another).
  if (registered) {
    if (opt.gemmThreads !== undefined) useTrainingGemm(which, opt.gemmThreads);
    return;
  }
  registered = true;
  useTrainingGemm(which, opt.gemmThreads);
  for (const [kernelName, fn] of KERNELS) {
    const own = tf.getKernel(kernelName, 'wasm');
    if (own) {
      original.set(kernelName, own.kernelFunc as unknown as Kernel);
      tf.unregisterKernel(kernelName, 'wasm');
    }
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: fn as unknown as tf.KernelFunc, ...(own?.setupFunc ? { setupFunc: own.setupFunc } : {}) });
  }
}

/**
 * Where the wasm training kernels send their matrix products: onnxruntime's MLAS GEMM (native, on `threads` cores,
 * 5-7x wasm's XNNPACK on one thread for the shapes of MobileNetV2's 1x1 convolutions) or wasm's own. Falls back to
 * wasm's when onnxruntime-node's binding cannot run synchronously here.
 */
export function useTrainingGemm(which: 'onnxruntime' | 'wasm', threads?: number): void {
  gemm = which === 'onnxruntime' ? openSyncGemm(threads) : null;
}

/** What runs the matrix products of training on wasm now, for records: "onnxruntime (2 threads)" or "wasm". */
export function trainingGemm(): string {
  return gemm ? `onnxruntime (${gemm.threads} thread${gemm.threads === 1 ? '' : 's'})` : 'wasm';
}
