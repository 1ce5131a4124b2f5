import * as tf from '@tensorflow/tfjs';
import protos from 'onnx-proto';
import { BackboneError } from '../errors.ts';
import { pool2d, poolAxis, resize, type ResizeMode } from './onnx-resample.ts';

/**
 * ONNX graph → a differentiable tfjs function: float initializers become tf.Variables, every node a tfjs op on
 * eager tensors, so tf.variableGrads trains any part of it. Written by hand because no npm package translates ONNX
 * to tfjs. ONNX is NCHW; tfjs convolutions and pools are NHWC, so those transpose in and out.
 */
const { onnx } = protos;
type NodeProto = protos.onnx.INodeProto;
type TensorProto = protos.onnx.ITensorProto;
type AttrProto = protos.onnx.IAttributeProto;
const DT = onnx.TensorProto.DataType;

export interface TfjsGraph {
  /** Names the function is fed: the graph's inputs, or the tensors it was cut at. */
  inputs: string[];
  outputs: string[];
  /** Float initializers, by name. */
  variables: Map<string, tf.Variable>;
  /**
   * Runs the graph on eager tensors (call inside tf.tidy or a gradient function). `hooks` see named intermediate
   * tensors as they are computed; what a hook returns is what later nodes read (to keep or wrap them, e.g. for
   * gradients with respect to attention probabilities).
   */
  run(feeds: Record<string, tf.Tensor>, hooks?: Record<string, (t: tf.Tensor) => tf.Tensor>): tf.Tensor[];
  dispose(): void;
}

export interface TranslateOptions {
  /** Tensors to return; default the graph's outputs. */
  outputs?: string[];
  /** Tensors fed instead of computed (a cut: what a frozen prefix hands over); default the graph's inputs. */
  inputs?: string[];
  /** Prefix of the tf.Variable names (unique per live translation: tfjs refuses a name twice); default `onnx`. */
  scope?: string;
  /** Tensors given once as constants instead of computed (a cut's shape arithmetic from before the cut, see onnx-model.ts). */
  constants?: Record<string, tf.Tensor>;
}

const num = (v: unknown): number => (typeof v === 'object' && v !== null && 'toNumber' in v ? (v as { toNumber(): number }).toNumber() : Number(v));

/** An ONNX tensor's values: floats as float32, integers as int32 (shapes and indices fit). */
function tensorOf(t: TensorProto): tf.Tensor {
  const dims = (t.dims ?? []).map(num);
  const raw = t.rawData && t.rawData.length ? t.rawData : undefined;
  const buf = raw && raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength);
  switch (t.dataType) {
    case DT.FLOAT:
      return tf.tensor(buf ? new Float32Array(buf) : Float32Array.from(t.floatData ?? []), dims, 'float32');
    case DT.DOUBLE:
      return tf.tensor(Float32Array.from(buf ? new Float64Array(buf) : (t.doubleData ?? [])), dims, 'float32');
    case DT.INT64:
      return tf.tensor(Int32Array.from(buf ? Array.from(new BigInt64Array(buf), clampInt) : (t.int64Data ?? []).map((v) => clampInt(num(v)))), dims, 'int32');
    case DT.INT32:
      return tf.tensor(buf ? new Int32Array(buf) : Int32Array.from(t.int32Data ?? []), dims, 'int32');
    case DT.BOOL:
      return tf.tensor(Int32Array.from(buf ? new Uint8Array(buf) : (t.int32Data ?? [])), dims, 'bool');
    default:
      throw new BackboneError(`ONNX tensor "${t.name}" has data type ${t.dataType}, which the tfjs translation does not read.`);
  }
}

/** int64 → int32: ONNX uses ±(2^63 - 1) for "to the end" in Slice; anything that large means the same in int32. */
function clampInt(v: bigint | number): number {
  const n = Number(v);
  return Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, n));
}

class Attrs {
  private readonly map: Map<string, AttrProto>;
  constructor(list: readonly AttrProto[] | null | undefined) {
    this.map = new Map((list ?? []).map((a) => [a.name ?? '', a]));
  }
  int(name: string, dflt: number): number {
    const a = this.map.get(name);
    return a ? num(a.i) : dflt;
  }
  ints(name: string): number[] | undefined {
    const a = this.map.get(name);
    return a ? (a.ints ?? []).map(num) : undefined;
  }
  float(name: string, dflt: number): number {
    const a = this.map.get(name);
    return a ? Number(a.f) : dflt;
  }
  str(name: string, dflt: string): string {
    const a = this.map.get(name);
    return a?.s ? new TextDecoder().decode(a.s) : dflt;
  }
  has(name: string): boolean {
    return this.map.has(name);
  }
  tensor(name: string): TensorProto | undefined {
    return this.map.get(name)?.t ?? undefined;
  }
}

/** Host values of a small integer tensor (shapes, axes, indices). */
const ints = (t: tf.Tensor | undefined): number[] | undefined => (t ? Array.from(t.dataSync(), Number) : undefined);
const axis = (a: number, rank: number) => (a < 0 ? a + rank : a);
const nchwToNhwc = (x: tf.Tensor) => x.transpose([0, 2, 3, 1]);
const nhwcToNchw = (x: tf.Tensor) => x.transpose([0, 3, 1, 2]);

interface Ctx {
  node: NodeProto;
  a: Attrs;
  opset: number;
}
type Op = (inputs: (tf.Tensor | undefined)[], c: Ctx) => tf.Tensor | tf.Tensor[];

/** Explicit NHWC padding from ONNX pads [top, left, bottom, right] (or auto_pad). */
function padding(c: Ctx, kernel: number[], strides: number[], dilations: number[], inHW: number[]): [[0, 0], [number, number], [number, number], [0, 0]] {
  const auto = c.a.str('auto_pad', 'NOTSET');
  let p = c.a.ints('pads') ?? [0, 0, 0, 0];
  if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
    p = [0, 0, 0, 0];
    for (let i = 0; i < 2; i++) {
      const out = Math.ceil(inHW[i] / strides[i]);
      const total = Math.max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - inHW[i]);
      const small = Math.floor(total / 2);
      [p[i], p[i + 2]] = auto === 'SAME_UPPER' ? [small, total - small] : [total - small, small];
    }
  }
  return [
    [0, 0],
    [p[0], p[2]],
    [p[1], p[3]],
    [0, 0],
  ];
}

function conv(inputs: (tf.Tensor | undefined)[], c: Ctx): tf.Tensor {
  const [x, w, b] = inputs as [tf.Tensor4D, tf.Tensor4D, tf.Tensor | undefined];
  if (x.rank !== 4) throw new BackboneError(`Conv node "${c.node.name}": only 2-D convolutions translate (input rank ${x.rank}).`);
  const [m, cPerGroup, kh, kw] = w.shape;
  const group = c.a.int('group', 1);
  const strides = (c.a.ints('strides') ?? [1, 1]) as [number, number];
  const dil = (c.a.ints('dilations') ?? [1, 1]) as [number, number];
  const pad = padding(c, [kh, kw], strides, dil, [x.shape[2], x.shape[3]]);
  const xh = nchwToNhwc(x) as tf.Tensor4D;
  const inC = x.shape[1];
  let y: tf.Tensor4D;
  if (group === 1) {
    y = tf.conv2d(xh, w.transpose([2, 3, 1, 0]) as tf.Tensor4D, strides, pad, 'NHWC', dil);
  } else if (group === inC && cPerGroup === 1) {
    const filter = w.reshape([inC, m / inC, kh, kw]).transpose([2, 3, 0, 1]) as tf.Tensor4D;
    y = tf.depthwiseConv2d(xh, filter, strides, pad, 'NHWC', dil);
  } else {
    const xs = tf.split(xh, group, 3);
    const ws = tf.split(w, group, 0);
    y = tf.concat(xs.map((xi, g) => tf.conv2d(xi as tf.Tensor4D, ws[g].transpose([2, 3, 1, 0]) as tf.Tensor4D, strides, pad, 'NHWC', dil)), 3);
  }
  return nhwcToNchw(b ? tf.add(y, b) : y);
}

function pool(kind: 'max' | 'avg'): Op {
  return ([x], c) => {
    const k = c.a.ints('kernel_shape')! as [number, number];
    const s = (c.a.ints('strides') ?? [1, 1]) as [number, number];
    if ((c.a.ints('dilations') ?? [1, 1]).some((d) => d !== 1)) throw new BackboneError(`${c.node.opType} node "${c.node.name}": dilations do not translate.`);
    const inHW = [x!.shape[2]!, x!.shape[3]!];
    const [, [t, b], [l, r]] = padding(c, k, s, [1, 1], inHW);
    const ceil = c.a.int('ceil_mode', 0) === 1;
    const countPads = c.a.int('count_include_pad', 0) === 1;
    // Padding made explicit: tfjs's own padded average leaves the padding out forward but not in its gradient.
    const axes = [0, 1].map((d) => poolAxis(inHW[d], k[d], s[d], [t, l][d], [b, r][d], ceil, countPads));
    return nhwcToNchw(pool2d(kind, nchwToNhwc(x!) as tf.Tensor4D, axes[0], axes[1], [t, l], [b, r], s));
  };
}

function reduce(f: (x: tf.Tensor, axes: number[], keep: boolean) => tf.Tensor): Op {
  return ([x, axesIn], c) => {
    const given = c.a.ints('axes') ?? ints(axesIn);
    const axes = given && given.length ? given.map((a) => axis(a, x!.rank)) : c.a.int('noop_with_empty_axes', 0) ? [] : x!.shape.map((_, i) => i);
    return axes.length ? f(x!, axes, c.a.int('keepdims', 1) === 1) : x!;
  };
}

const unary = (f: (x: tf.Tensor) => tf.Tensor): Op => ([x]) => f(x!);
const binary = (f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor): Op => ([a, b]) => f(a!, b!);

let opsTable: Record<string, Op> | undefined;

/**
 * Each ONNX op as tfjs ops. Made on first use: the table reads tfjs' functions, and the CLI's bundle loads tfjs only
 * once a command uses it (bin/bundle.mjs, lazyRequireExternal).
 */
const ops = (): Record<string, Op> => (opsTable ??= {
  Conv: conv,
  MatMul: binary((a, b) => {
    const [a2, b2] = [a.rank === 1 ? a.expandDims(0) : a, b.rank === 1 ? b.expandDims(1) : b];
    let y = batchedMatMul(a2, b2);
    if (b.rank === 1) y = y.squeeze([y.rank - 1]);
    if (a.rank === 1) y = y.squeeze([y.rank - (b.rank === 1 ? 1 : 2)]);
    return y;
  }),
  Gemm: ([a, b, c0], c) => {
    let y = tf.matMul(a!, b!, c.a.int('transA', 0) === 1, c.a.int('transB', 0) === 1);
    const alpha = c.a.float('alpha', 1);
    if (alpha !== 1) y = y.mul(alpha);
    return c0 ? y.add(c0.mul(c.a.float('beta', 1))) : y;
  },
  Add: binary(tf.add),
  Sub: binary(tf.sub),
  Mul: binary(tf.mul),
  // Integer division truncates toward zero in ONNX.
  Div: binary((a, b) => (a.dtype === 'int32' && b.dtype === 'int32' ? tf.mul(tf.sign(tf.mul(a, b)), tf.floorDiv(tf.abs(a), tf.abs(b))).toInt() : tf.div(a, b))),
  Pow: binary((a, b) => (b.size === 1 && b.dataSync()[0] === 2 ? a.square() : tf.pow(a, b))),
  Sqrt: unary(tf.sqrt),
  Exp: unary(tf.exp),
  Log: unary(tf.log),
  Neg: unary(tf.neg),
  Abs: unary(tf.abs),
  Reciprocal: unary(tf.reciprocal),
  Erf: unary(tf.erf),
  Gelu: ([x], c) =>
    c.a.str('approximate', 'none') === 'tanh'
      ? x!.mul(0.5).mul(tf.tanh(x!.add(x!.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI))).add(1))
      : x!.mul(0.5).mul(tf.erf(x!.mul(Math.SQRT1_2)).add(1)),
  Relu: unary(tf.relu),
  Sigmoid: unary(tf.sigmoid),
  Tanh: unary(tf.tanh),
  HardSigmoid: ([x], c) => tf.clipByValue(x!.mul(c.a.float('alpha', 0.2)).add(c.a.float('beta', 0.5)), 0, 1),
  Clip: ([x, lo, hi], c) => {
    const min = lo ? lo.dataSync()[0] : c.a.float('min', -3.4e38);
    const max = hi ? hi.dataSync()[0] : c.a.float('max', 3.4e38);
    return tf.clipByValue(x!, min, max);
  },
  Softmax: ([x], c) => {
    const ax = axis(c.a.int('axis', c.opset >= 13 ? -1 : 1), x!.rank);
    if (c.opset >= 13) return ax === x!.rank - 1 ? tf.softmax(x!) : tf.softmax(moveLast(x!, ax)).transpose(inversePerm(lastPerm(x!.rank, ax)));
    const rows = x!.shape.slice(0, ax).reduce((p, d) => p * d, 1);
    return tf.softmax(x!.reshape([rows, -1])).reshape(x!.shape);
  },
  LayerNormalization: ([x, scale, bias], c) => {
    const ax = axis(c.a.int('axis', -1), x!.rank);
    const axes = x!.shape.map((_, i) => i).filter((i) => i >= ax);
    const { mean, variance } = tf.moments(x!, axes, true);
    const y = x!.sub(mean).div(variance.add(c.a.float('epsilon', 1e-5)).sqrt()).mul(scale!);
    return bias ? y.add(bias) : y;
  },
  BatchNormalization: ([x, scale, b, mean, variance], c) => {
    const shape = x!.shape.map((d, i) => (i === 1 ? d : 1));
    const r = (t: tf.Tensor) => t.reshape(shape);
    const inv = r(variance!).add(c.a.float('epsilon', 1e-5)).rsqrt().mul(r(scale!));
    return x!.sub(r(mean!)).mul(inv).add(r(b!));
  },
  Reshape: ([x, shapeIn], c) => {
    const want = ints(shapeIn) ?? c.a.ints('shape')!;
    const allowZero = c.a.int('allowzero', 0) === 1;
    return x!.reshape(want.map((d, i) => (d === 0 && !allowZero ? x!.shape[i] : d)));
  },
  Transpose: ([x], c) => x!.transpose(c.a.ints('perm') ?? x!.shape.map((_, i) => x!.rank - 1 - i)),
  Gather: ([x, idx], c) => {
    const ax = axis(c.a.int('axis', 0), x!.rank);
    // Negative indices count from the end. Integer arithmetic, not tf.where: wasm (4.22) types where's int32 result as
    // float32, which turned Shape → Gather(2) = 224 into 1 there.
    const i = idx!.toInt();
    return tf.gather(x!, tf.add(i, tf.mul(tf.less(i, 0).toInt(), tf.scalar(x!.shape[ax], 'int32'))), ax);
  },
  Slice: ([x, startsIn, endsIn, axesIn, stepsIn], c) => {
    const starts = ints(startsIn) ?? c.a.ints('starts')!;
    const ends = ints(endsIn) ?? c.a.ints('ends')!;
    const axes = (ints(axesIn) ?? c.a.ints('axes') ?? starts.map((_, i) => i)).map((a) => axis(a, x!.rank));
    const steps = ints(stepsIn) ?? starts.map(() => 1);
    // Unit steps are one slice; other steps gather the indices they visit (tfjs's stridedSlice has no gradient).
    let y = x!;
    const begin = x!.shape.map(() => 0);
    const size = [...x!.shape];
    axes.forEach((a, i) => {
      const d = x!.shape[a];
      const clampTo = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, v < 0 ? v + d : v));
      const step = steps[i];
      if (step === 0) throw new BackboneError(`Slice node "${c.node.name}": a step of 0.`);
      const from = step > 0 ? clampTo(starts[i], 0, d) : clampTo(starts[i], 0, d - 1);
      const to = step > 0 ? clampTo(ends[i], 0, d) : clampTo(ends[i], -1, d - 1);
      if (step === 1) {
        begin[a] = from;
        size[a] = Math.max(0, to - from);
        return;
      }
      const idx: number[] = [];
      for (let k = from; step > 0 ? k < to : k > to; k += step) idx.push(k);
      y = tf.gather(y, tf.tensor1d(idx, 'int32'), a);
      size[a] = idx.length;
    });
    return tf.slice(y, begin, size);
  },
  Concat: (xs, c) => tf.concat(xs as tf.Tensor[], axis(c.a.int('axis', 0), xs[0]!.rank)),
  Split: ([x, splitIn], c) => {
    const ax = axis(c.a.int('axis', 0), x!.rank);
    const sizes = ints(splitIn) ?? c.a.ints('split');
    const n = (c.node.output ?? []).length;
    if (sizes) return tf.split(x!, sizes, ax);
    const each = Math.ceil(x!.shape[ax] / n);
    return tf.split(x!, Array.from({ length: n }, (_, i) => Math.max(0, Math.min(each, x!.shape[ax] - i * each))), ax);
  },
  Unsqueeze: ([x, axesIn], c) => {
    const given = ints(axesIn) ?? c.a.ints('axes')!;
    const rank = x!.rank + given.length;
    return given.map((a) => axis(a, rank)).sort((p, q) => p - q).reduce((t, a) => t.expandDims(a), x!);
  },
  Squeeze: ([x, axesIn], c) => {
    const given = ints(axesIn) ?? c.a.ints('axes');
    return given ? x!.squeeze(given.map((a) => axis(a, x!.rank))) : x!.squeeze();
  },
  Flatten: ([x], c) => {
    const ax = axis(c.a.int('axis', 1), x!.rank);
    return x!.reshape([x!.shape.slice(0, ax).reduce((p, d) => p * d, 1), -1]);
  },
  ReduceMean: reduce((x, a, k) => tf.mean(x, a, k)),
  ReduceSum: reduce((x, a, k) => tf.sum(x, a, k)),
  ReduceMax: reduce((x, a, k) => tf.max(x, a, k)),
  GlobalAveragePool: unary((x) => tf.mean(x, x.shape.map((_, i) => i).slice(2), true)),
  AveragePool: pool('avg'),
  MaxPool: pool('max'),
  Pad: ([x, padsIn, value], c) => {
    const p = ints(padsIn) ?? c.a.ints('pads')!;
    const r = x!.rank;
    const pairs = Array.from({ length: r }, (_, i) => [p[i], p[i + r]] as [number, number]);
    const mode = c.a.str('mode', 'constant');
    if (mode === 'constant') return tf.pad(x!, pairs, value ? value.dataSync()[0] : c.a.float('value', 0));
    if (mode === 'reflect') return tf.mirrorPad(x!, pairs, 'reflect');
    throw new BackboneError(`Pad node "${c.node.name}": mode "${mode}" does not translate.`);
  },
  Shape: ([x], c) => {
    const s = x!.shape.slice(axis(c.a.int('start', 0), x!.rank));
    const end = c.a.int('end', x!.rank);
    return tf.tensor1d(s.slice(0, axis(end, x!.rank) - axis(c.a.int('start', 0), x!.rank)), 'int32');
  },
  Constant: (_in, c) => {
    const t = c.a.tensor('value');
    if (t) return tensorOf(t);
    const f = c.a.float('value_float', NaN);
    if (!Number.isNaN(f)) return tf.scalar(f);
    const is = c.a.ints('value_ints');
    if (is) return tf.tensor1d(is, 'int32');
    if (c.a.has('value_int')) return tf.scalar(c.a.int('value_int', 0), 'int32');
    throw new BackboneError(`Constant node "${c.node.name}": only value, value_float, value_int and value_ints translate.`);
  },
  ConstantOfShape: ([shape], c) => {
    const t = c.a.tensor('value');
    const v = t ? tensorOf(t) : tf.scalar(0);
    return tf.fill(ints(shape)!, v.dataSync()[0], v.dtype);
  },
  Cast: ([x], c) => {
    const to = c.a.int('to', DT.FLOAT);
    return to === DT.FLOAT || to === DT.DOUBLE || to === DT.FLOAT16 ? x!.toFloat() : to === DT.BOOL ? x!.cast('bool') : x!.toInt();
  },
  Identity: unary((x) => x),
  Dropout: unary((x) => x),
  Equal: binary(tf.equal),
  Where: ([cond, a, b]) => tf.where(cond!.cast('bool'), a!, b!),
  // BEiT and data2vec resize their relative position bias table to the token grid (the identity at the trained size).
  Resize: ([x, roiOrScales, scalesIn, sizesIn], c) => {
    const mode = c.a.str('mode', 'nearest');
    if (mode !== 'nearest' && mode !== 'linear') throw new BackboneError(`Resize node "${c.node.name}": mode "${mode}" does not translate (nearest and linear do).`);
    if (c.a.int('antialias', 0) !== 0 || c.a.has('axes') || c.a.str('keep_aspect_ratio_policy', 'stretch') !== 'stretch') throw new BackboneError(`Resize node "${c.node.name}": antialias, axes and keep_aspect_ratio_policy do not translate.`);
    // Opset 10: (X, scales); 11 on: (X, roi, scales, sizes), empty tensors for the unused ones.
    const scalesT = c.opset < 11 ? roiOrScales : scalesIn;
    const scales = scalesT?.size ? Array.from(scalesT.dataSync()) : [];
    const sizes = c.opset >= 11 && sizesIn?.size ? ints(sizesIn)! : [];
    const axes = x!.shape.map((d, i) => {
      const out = sizes.length ? sizes[i] : Math.floor(d * scales[i]);
      return { in: d, out, scale: sizes.length ? out / d : scales[i] };
    });
    const coordinates = c.a.str('coordinate_transformation_mode', c.opset < 11 ? 'asymmetric' : 'half_pixel');
    try {
      return resize(x!, axes, { mode: mode as ResizeMode, coordinates, nearest: c.a.str('nearest_mode', c.opset < 11 ? 'floor' : 'round_prefer_floor') });
    } catch (err) {
      throw new BackboneError(`Resize node "${c.node.name}": ${(err as Error).message}.`);
    }
  },
  // Index arithmetic (BEiT's relative position index): computed on the host, as the shapes are.
  ScatterND: ([data, indices, updates], c) => {
    if (data!.dtype === 'float32') throw new BackboneError(`ScatterND node "${c.node.name}": only integer tensors (index arithmetic) translate.`);
    if (c.a.str('reduction', 'none') !== 'none') throw new BackboneError(`ScatterND node "${c.node.name}": reduction does not translate.`);
    const out = Int32Array.from(data!.dataSync());
    const idx = indices!.dataSync();
    const upd = updates!.dataSync();
    const k = indices!.shape[indices!.rank - 1]!;
    const inner = data!.shape.slice(k).reduce((a, d) => a * d, 1);
    const strides = data!.shape.slice(0, k).map((_, i) => data!.shape.slice(i + 1).reduce((a, d) => a * d, 1));
    for (let r = 0; r < idx.length / k; r++) {
      let at = 0;
      for (let j = 0; j < k; j++) at += (idx[r * k + j] < 0 ? idx[r * k + j] + data!.shape[j] : idx[r * k + j]) * strides[j];
      for (let e = 0; e < inner; e++) out[at + e] = upd[r * inner + e];
    }
    return tf.tensor(out, data!.shape, data!.dtype);
  },
  Range: ([start, limit, delta]) => {
    const [s0, l0, d0] = [start!, limit!, delta!].map((t) => t.dataSync()[0]);
    return tf.range(s0, l0, d0, start!.dtype === 'int32' ? 'int32' : 'float32');
  },
  Expand: ([x, shape]) => {
    const want = ints(shape)!;
    const rank = Math.max(want.length, x!.rank);
    const xs = [...Array(rank - x!.rank).fill(1), ...x!.shape];
    const target = xs.map((d, i) => Math.max(d, want[i - (rank - want.length)] ?? 1));
    return tf.broadcastTo(x!.reshape(xs), target);
  },
});

/**
 * matMul with ONNX's batch broadcasting. tfjs's BatchMatMul gradient does not sum over broadcast batch dimensions,
 * so a shared [k, n] weight is applied as one 2-D product and other broadcasts are made explicit (broadcastTo's
 * gradient sums).
 */
function batchedMatMul(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  if (b.rank === 2 && a.rank > 2) {
    const lead = a.shape.slice(0, -1);
    return tf.matMul(a.reshape([-1, a.shape[a.rank - 1]!]), b).reshape([...lead, b.shape[1]!]);
  }
  const batch = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const full = (t: tf.Tensor) => (t.rank - 2 === batch.length && t.shape.slice(0, -2).every((d, i) => d === batch[i]) ? t : tf.broadcastTo(t, [...batch, ...t.shape.slice(-2)]));
  return tf.matMul(full(a), full(b));
}

/** The ops that translate, for messages. */
const translatedOps = (): readonly string[] => Object.keys(ops()).sort();

function lastPerm(rank: number, ax: number): number[] {
  return [...Array(rank).keys()].filter((i) => i !== ax).concat(ax);
}
function inversePerm(p: number[]): number[] {
  const inv = new Array<number>(p.length);
  p.forEach((v, i) => (inv[v] = i));
  return inv;
}
const moveLast = (x: tf.Tensor, ax: number) => x.transpose(lastPerm(x.rank, ax));

/**
 * Float initializers that are not weights: batch norm's running statistics, Clip's bounds, Pad's value, exponents,
 * and every input of shape arithmetic. They stay constants (so do scalars); every other float initializer trains.
 */
function constantRoles(nodes: readonly NodeProto[]): Set<string> {
  const roles: Record<string, number[]> = { BatchNormalization: [3, 4], Clip: [1, 2], Pad: [1, 2, 3], Pow: [1], Reshape: [1], Expand: [1], Slice: [1, 2, 3, 4], Split: [1], Unsqueeze: [1], Squeeze: [1], ReduceMean: [1], ReduceSum: [1], ReduceMax: [1], ConstantOfShape: [0], Gather: [1], Resize: [1, 2, 3] };
  const out = new Set<string>();
  for (const n of nodes) for (const i of roles[n.opType ?? ''] ?? []) if (n.input?.[i]) out.add(n.input[i]);
  return out;
}

/** Translate an ONNX model; an op without a translation stops here, naming the op and its node. */
export function onnxToTfjs(bytes: Uint8Array, opt: TranslateOptions = {}): TfjsGraph {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph!;
  const opset = num(model.opsetImport?.find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 13);
  const initNames = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  const inputs = opt.inputs ?? (graph.input ?? []).map((i) => i.name ?? '').filter((n) => !initNames.has(n));
  const outputs = opt.outputs ?? (graph.output ?? []).map((o) => o.name ?? '');
  const producer = new Map<string, NodeProto>();
  for (const n of graph.node ?? []) for (const o of n.output ?? []) producer.set(o, n);
  // Only the nodes between the fed tensors and the outputs.
  const given = Object.entries(opt.constants ?? {});
  const fed = new Set([...inputs, ...given.map(([n]) => n)]);
  const needed = new Set<NodeProto>();
  const usedInits = new Set<string>();
  const stack = [...outputs];
  const seen = new Set<string>();
  while (stack.length) {
    const name = stack.pop()!;
    if (seen.has(name) || fed.has(name) || name === '') continue;
    seen.add(name);
    if (initNames.has(name)) {
      usedInits.add(name);
      continue;
    }
    const n = producer.get(name);
    if (!n) throw new BackboneError(`Tensor "${name}" is neither computed in the graph nor fed; feed it as an input.`);
    needed.add(n);
    stack.push(...(n.input ?? []));
  }
  const order = (graph.node ?? []).filter((n) => needed.has(n));
  for (const n of order) {
    if (n.domain && n.domain !== 'ai.onnx') throw new BackboneError(`ONNX op ${n.domain}.${n.opType} (node "${n.name}") has no tfjs translation.`);
    if (!ops()[n.opType ?? '']) throw new BackboneError(`ONNX op ${n.opType} (node "${n.name}") has no tfjs translation; translated: ${translatedOps().join(', ')}.`);
  }
  const consts = new Map<string, tf.Tensor>();
  const variables = new Map<string, tf.Variable>();
  const fixed = constantRoles(order);
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const trains = (t: TensorProto | undefined, name: string) => t !== undefined && (t.dataType === DT.FLOAT || t.dataType === DT.DOUBLE) && (t.dims ?? []).reduce<number>((a, d) => a * num(d), 1) > 1 && !fixed.has(name);
  // torch's exporter keeps one copy of initializers with equal values and makes the others Identity(copy). A copy
  // named as a parameter is a parameter of its own that happened to be equal (zero biases, unit LayerNorm scales at
  // init): a separate variable here. One named onnx::* is a constant-folded use of a shared parameter (BEiT's
  // relative position table, folded once per block): it stays the same variable.
  const untied = order.filter((n) => n.opType === 'Identity' && !n.output![0].startsWith('onnx::') && trains(inits.get(n.input?.[0] ?? ''), n.input![0]) && trains(inits.get(n.input![0]), n.output![0]));
  const steps = order.filter((n) => !untied.includes(n));
  const read = new Set([...steps.flatMap((n) => n.input ?? []), ...outputs]);
  const variable = (name: string, v: tf.Tensor) => variables.set(name, tf.variable(v, true, `${opt.scope ?? 'onnx'}/${name}/${variables.size}`));
  for (const t of graph.initializer ?? []) {
    if (!usedInits.has(t.name ?? '') || !read.has(t.name ?? '')) continue;
    const v = tensorOf(t);
    if (v.dtype === 'float32' && v.size > 1 && !fixed.has(t.name!)) {
      variable(t.name!, v);
      v.dispose();
    } else consts.set(t.name!, v);
  }
  for (const n of untied) {
    const v = tensorOf(inits.get(n.input![0])!);
    variable(n.output![0], v);
    v.dispose();
  }
  return {
    inputs,
    outputs,
    variables,
    run(feeds, hooks = {}) {
      const env = new Map<string, tf.Tensor>([...consts, ...variables, ...given]);
      for (const name of inputs) {
        const t = feeds[name];
        if (!t) throw new BackboneError(`The graph needs input "${name}".`);
        env.set(name, t);
      }
      for (const n of steps) {
        const ins = (n.input ?? []).map((i) => (i === '' ? undefined : env.get(i)));
        const out = ops()[n.opType!](ins, { node: n, a: new Attrs(n.attribute), opset });
        const list = Array.isArray(out) ? out : [out];
        (n.output ?? []).forEach((o, i) => list[i] && env.set(o, hooks[o] ? hooks[o](list[i]) : list[i]));
      }
      return outputs.map((o) => env.get(o)!);
    },
    dispose() {
      for (const t of [...consts.values(), ...variables.values()]) t.dispose();
    },
  };
}
