import * as tf from '@tensorflow/tfjs';

/**
 * Pooling windows and Resize of the ONNX → tfjs translation (src/runtime/onnx-tfjs.ts), as plain differentiable tfjs:
 * pools pad explicitly and rescale each window's average; Resize is a product with an interpolation matrix per resized
 * axis, so its gradient is a matMul's on every backend (wasm has no ResizeBilinearGrad).
 */

/** One spatial axis of a pool: windows, the kernel actually slid, and the padding added after the ONNX pads. */
export interface PoolAxis {
  out: number;
  kernel: number;
  /** Zeros (or -inf) after the end pad, so that ceil_mode's last window fits. */
  extra: number;
  /** Per window: k / (inputs it averages), as ONNX counts them. */
  scale: number[];
}

/**
 * ONNX's (and PyTorch's) pool arithmetic on one axis of length n with pads lo/hi: floor or ceil division, and in ceil
 * mode no window that starts past the input and its start pad. A window longer than the padded axis with one output
 * (EfficientNet's AvgPool2d(hidden_dim, ceil_mode=True)) slides only over the padded axis. The average divides by
 * the window's inputs and pads (count_include_pad) or inputs alone, never by the part past the end pad.
 */
export function poolAxis(n: number, k: number, s: number, lo: number, hi: number, ceil: boolean, countPads: boolean): PoolAxis {
  const span = n + lo + hi;
  let out = (ceil ? Math.ceil((span - k) / s) : Math.floor((span - k) / s)) + 1;
  if (ceil && out > 1 && (out - 1) * s >= n + lo) out--;
  if (out < 1) throw new RangeError(`a pool window of ${k} does not fit an axis of ${n} (pads ${lo}, ${hi})`);
  const kernel = out === 1 ? Math.min(k, span) : k;
  const extra = Math.max(0, (out - 1) * s + kernel - span);
  const [from, to] = countPads ? [-lo, n + hi] : [0, n];
  const scale = Array.from({ length: out }, (_, o) => {
    const start = o * s - lo;
    return kernel / Math.max(1, Math.min(start + kernel, to) - Math.max(start, from));
  });
  return { out, kernel, extra, scale };
}

/** 2-D max or average pool of NHWC x over (h, w) axes laid out by poolAxis; ONNX pads [top, left] before. */
export function pool2d(kind: 'max' | 'avg', xh: tf.Tensor4D, h: PoolAxis, w: PoolAxis, lo: [number, number], hi: [number, number], strides: [number, number]): tf.Tensor4D {
  const pads: [[0, 0], [number, number], [number, number], [0, 0]] = [[0, 0], [lo[0], hi[0] + h.extra], [lo[1], hi[1] + w.extra], [0, 0]];
  const padded = pads[1][0] + pads[1][1] + pads[2][0] + pads[2][1] ? tf.pad(xh, pads, kind === 'max' ? -3.4e38 : 0) : xh;
  const k: [number, number] = [h.kernel, w.kernel];
  let y = kind === 'max' ? tf.maxPool(padded, k, strides, 'valid') : tf.avgPool(padded, k, strides, 'valid');
  // tfjs may give one more window than ceil mode keeps; ONNX's count is the one to keep.
  if (y.shape[1] !== h.out || y.shape[2] !== w.out) y = y.slice([0, 0, 0, 0], [-1, h.out, w.out, -1]);
  if (kind === 'max' || [...h.scale, ...w.scale].every((v) => v === 1)) return y;
  const v = new Float32Array(h.out * w.out);
  for (let i = 0; i < h.out; i++) for (let j = 0; j < w.out; j++) v[i * w.out + j] = h.scale[i] * w.scale[j];
  return y.mul(tf.tensor4d(v, [1, h.out, w.out, 1]));
}

export type ResizeMode = 'nearest' | 'linear';
export interface ResizeAxis {
  in: number;
  out: number;
  /** The scale ONNX maps coordinates with: the given one, else out / in. */
  scale: number;
}
export interface ResizeOptions {
  mode: ResizeMode;
  coordinates: string;
  nearest: string;
}

/** ONNX Resize's coordinate transform: output index → input coordinate. */
function source(i: number, a: ResizeAxis, coordinates: string): number {
  switch (coordinates) {
    case 'half_pixel':
      return (i + 0.5) / a.scale - 0.5;
    case 'pytorch_half_pixel':
      return a.out > 1 ? (i + 0.5) / a.scale - 0.5 : 0;
    case 'align_corners':
      return a.out === 1 ? 0 : (i * (a.in - 1)) / (a.out - 1);
    case 'asymmetric':
      return i / a.scale;
    case 'tf_half_pixel_for_nn':
      return (i + 0.5) / a.scale;
    default:
      throw new RangeError(`coordinate_transformation_mode "${coordinates}" does not translate`);
  }
}

function nearestIndex(x: number, mode: string): number {
  switch (mode) {
    case 'round_prefer_floor':
      return x - Math.floor(x) === 0.5 ? Math.floor(x) : Math.round(x);
    case 'round_prefer_ceil':
      return Math.round(x);
    case 'floor':
      return Math.floor(x);
    case 'ceil':
      return Math.ceil(x);
    default:
      throw new RangeError(`nearest_mode "${mode}" does not translate`);
  }
}

/**
 * [out, in] weights of one axis: linear interpolation between the two nearest inputs (coordinates clamped to the
 * axis, as onnxruntime does without antialias), or a one-hot row per output (nearest).
 */
function resizeMatrix(a: ResizeAxis, o: ResizeOptions): Float32Array {
  const m = new Float32Array(a.out * a.in);
  const clamp = (v: number) => Math.min(a.in - 1, Math.max(0, v));
  for (let i = 0; i < a.out; i++) {
    const x = source(i, a, o.coordinates);
    if (o.mode === 'nearest') {
      m[i * a.in + clamp(nearestIndex(x, o.nearest))] = 1;
      continue;
    }
    const c = clamp(x);
    const x0 = Math.floor(c);
    const x1 = Math.min(x0 + 1, a.in - 1);
    m[i * a.in + x0] += 1 - (c - x0);
    m[i * a.in + x1] += c - x0;
  }
  return m;
}

/** x resized along every axis whose size or scale changes: a matMul with its interpolation matrix, axis by axis. */
export function resize(x: tf.Tensor, axes: ResizeAxis[], o: ResizeOptions): tf.Tensor {
  let y = x.dtype === 'float32' ? x : x.toFloat();
  axes.forEach((a, ax) => {
    if (a.in === a.out && a.scale === 1) return;
    const perm = [...Array(y.rank).keys()].filter((i) => i !== ax).concat(ax);
    const moved = y.transpose(perm);
    const lead = moved.shape.slice(0, -1);
    const m = tf.tensor2d(resizeMatrix(a, o), [a.out, a.in]);
    const r = tf.matMul(moved.reshape([-1, a.in]), m, false, true).reshape([...lead, a.out]);
    const inv = new Array<number>(perm.length);
    perm.forEach((p, i) => (inv[p] = i));
    y = r.transpose(inv);
  });
  return x.dtype === 'float32' ? y : y.round().cast(x.dtype);
}
