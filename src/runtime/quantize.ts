/**
 * Dynamic int8 quantization of an ONNX graph, as onnxruntime's `quantize_dynamic` does it: weights become int8 (or
 * uint8) constants with a scale and zero point; activations are quantized at run time by DynamicQuantizeLinear. A
 * MatMul/Gemm with a constant 2-D weight becomes DynamicQuantizeLinear → MatMulInteger → Cast → Mul(x_scale · w_scale)
 * (+ Add bias), which onnxruntime fuses into its DynamicQuantizeMatMul kernel (bias included), or that kernel directly
 * (`contribOps`: no faster, and the file then needs onnxruntime); with `conv`, a Conv with constant 4-D weights becomes
 * the ConvInteger chain, after folding a following BatchNormalization into it. Graph inputs, outputs and their names
 * stay as they are, so the float model's card applies.
 */
import protos from 'onnx-proto';
import { BackboneError } from '../errors.ts';

const { onnx } = protos;
type Node = protos.onnx.INodeProto;
type Tensor = protos.onnx.ITensorProto;
type Graph = protos.onnx.IGraphProto;
const DT = onnx.TensorProto.DataType;
const AT = onnx.AttributeProto.AttributeType;

export interface QuantizeOptions {
  /**
   * Also quantize Conv with constant 4-D weights (ConvInteger), folding a following BatchNormalization first. Off by
   * default: onnxruntime's CPU ConvInteger is slower than its float Conv on both embedded CNNs (bench/quantize.ts).
   * Conv weights are uint8 whatever `weightType` says (ConvInteger ran 3-6x slower with int8 weights there, and
   * uint8 × uint8 products never saturate): per channel symmetric around one zero point, 128 (ConvInteger takes one).
   */
  conv?: boolean;
  /** MatMul/Gemm weights: `int8` symmetric, zero point 0 (onnxruntime's default); `uint8` asymmetric (slower here). */
  weightType?: 'int8' | 'uint8';
  /** One scale per output channel (MatMul/Gemm column, Conv filter) instead of one per weight; as fast, and closer. */
  perChannel?: boolean;
  /**
   * int8 MatMul/Gemm weights in [-64, 64] (7 bits, onnxruntime's `reduce_range`): AVX2 and AVX-512 kernels without
   * VNNI add pairs of uint8 × int8 products in 16 bits, which full-range weights overflow; with 7 bits no CPU
   * saturates, so the integer products, and the outputs, are the same on every CPU (tested on an emulated AVX2 CPU,
   * tools/avx2-check.sh). Full range is more precise on VNNI CPUs only: on AVX2 a tiny ViT's error grew 18x.
   */
  reduceRange?: boolean;
  /** MatMul/Gemm as one com.microsoft DynamicQuantizeMatMul node instead of the standard chain. */
  contribOps?: boolean;
  /** With `conv`: Conv nodes with group > 1 (depthwise) too; skipped by default (see GROUPED_NOTE). */
  groupedConv?: boolean;
}

/** The defaults, in one place (the CLI's flags read them): int8, per channel, 7 bits, MatMul/Gemm only. */
export const QUANTIZE_DEFAULTS = { conv: false, weightType: 'int8', perChannel: true, reduceRange: true, contribOps: false, groupedConv: false } as const satisfies Required<QuantizeOptions>;

/**
 * `models quantize` writes no copy whose worst cosine to the float model's output, on its 4 noise images, is below
 * this (--force writes it anyway). The shipped recipes stay far above it: ≥ 0.99 on a tiny random ViT, ≥ 0.998 on
 * real images for the README's models.
 */
export const QUANTIZE_MIN_COSINE = 0.99;

/** One weight that was quantized, and where its parts are in the new graph. */
interface QuantizedWeight {
  node: string;
  op: string;
  weight: string;
  shape: number[];
  type: 'int8' | 'uint8';
  /** Scales: 1 = per tensor, else one per output channel. */
  channels: number;
  /** Initializer names of the quantized weight, its scales and zero point(s) ([K, N] for MatMul/Gemm). */
  parts: { q: string; scale: string; zeroPoint: string };
  /** Worst |w - dequantized w| and the largest scale: round-to-nearest keeps the first ≤ scale / 2. */
  maxError: number;
  maxScale: number;
}

export interface QuantizeSummary {
  quantized: QuantizedWeight[];
  /** MatMul/Gemm (and Conv with `conv`) left in float, with why. */
  skipped: { node: string; op: string; reason: string }[];
  foldedBatchNorms: number;
  /** The graph's input and output names (unchanged). */
  inputs: string[];
  outputs: string[];
  /** Bytes of the float weights replaced, and of their int8 replacements. */
  floatWeightBytes: number;
  int8WeightBytes: number;
}

/** On the converted MobileNetV2 its depthwise convs as ConvInteger ran no faster and quadrupled 1 - cosine. */
const GROUPED_NOTE = 'grouped (depthwise) conv: no faster as ConvInteger, kept float';

/** ONNX bytes → dynamically quantized ONNX bytes and what was done. */
export function quantizeDynamic(bytes: Uint8Array, opt: QuantizeOptions = {}): { bytes: Uint8Array; summary: QuantizeSummary } {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph;
  if (!graph) throw new BackboneError('The ONNX file has no graph.');
  const opset = Number(model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 0);
  if (opset < 11) throw new BackboneError(`The model uses ONNX opset ${opset}; DynamicQuantizeLinear needs opset 11 or later (re-export it with a newer opset).`);
  const o = { ...QUANTIZE_DEFAULTS, ...opt };
  const rw = new Rewriter(graph, o);
  if (o.conv) rw.foldBatchNorms();
  rw.run();
  if (o.contribOps && !model.opsetImport.some((i) => i.domain === 'com.microsoft')) model.opsetImport.push(onnx.OperatorSetIdProto.create({ domain: 'com.microsoft', version: 1 }));
  return { bytes: onnx.ModelProto.encode(model).finish(), summary: rw.summary };
}

/**
 * How weights map to integers: int8 is symmetric (zero point 0); uint8 is asymmetric ([min, max] onto 0..255), or
 * symmetric around 128; `reduceRange` keeps symmetric values in [-64, 64] around the zero point.
 */
export interface WeightScheme {
  type: 'int8' | 'uint8';
  symmetric?: boolean;
  reduceRange?: boolean;
}

/** Per tensor or per channel quantization of float weights: `channelOf(i)` is element i's output channel. */
export function quantizeWeights(w: Float32Array, channels: number, channelOf: (i: number) => number, scheme: WeightScheme): { q: Int8Array | Uint8Array; scale: Float32Array; zeroPoint: Int8Array | Uint8Array } {
  const { type } = scheme;
  const symmetric = type === 'int8' || !!scheme.symmetric;
  const top = scheme.reduceRange ? 64 : 127;
  const offset = type === 'uint8' && symmetric ? 128 : 0;
  const lo = new Float64Array(channels); // ranges include 0, so 0 is exact
  const hi = new Float64Array(channels);
  for (let i = 0; i < w.length; i++) {
    const c = channelOf(i);
    if (w[i] < lo[c]) lo[c] = w[i];
    if (w[i] > hi[c]) hi[c] = w[i];
  }
  const scale = new Float32Array(channels);
  const zero = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    // Symmetric: [-127, 127] (or [-64, 64]) around the zero point, as onnxruntime's quantizer; else [lo, hi] onto 0..255.
    const s = symmetric ? Math.max(-lo[c], hi[c]) / top : (hi[c] - lo[c]) / 255;
    scale[c] = s > 0 ? s : 1;
    zero[c] = symmetric ? offset : Math.min(255, Math.max(0, Math.round(-lo[c] / scale[c])));
  }
  const [min, max] = symmetric ? [offset - top, offset + top] : [0, 255];
  const q = type === 'int8' ? new Int8Array(w.length) : new Uint8Array(w.length);
  for (let i = 0; i < w.length; i++) {
    const c = channelOf(i);
    q[i] = Math.min(max, Math.max(min, Math.round(w[i] / scale[c] + zero[c])));
  }
  // Symmetric weights keep one zero point for all channels: ConvInteger accepts no other.
  const zeroPoint = type === 'int8' ? new Int8Array(1) : symmetric ? Uint8Array.of(offset) : Uint8Array.from(zero);
  return { q, scale, zeroPoint };
}

/** Float values of an initializer (raw bytes or float_data); undefined for other types or external data. */
function floats(t: Tensor): Float32Array | undefined {
  if (t.dataType !== DT.FLOAT || t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) return undefined;
  if (t.rawData?.length) return new Float32Array(t.rawData.buffer.slice(t.rawData.byteOffset, t.rawData.byteOffset + t.rawData.byteLength));
  return Float32Array.from(t.floatData ?? []);
}

const dimsOf = (t: Tensor) => (t.dims ?? []).map(Number);
const attr = (n: Node, name: string) => n.attribute?.find((a) => a.name === name);
const intAttr = (n: Node, name: string, dflt: number) => Number(attr(n, name)?.i ?? dflt);
const floatAttr = (n: Node, name: string, dflt: number) => attr(n, name)?.f ?? dflt;

class Rewriter {
  readonly summary: QuantizeSummary;
  private inits: Map<string, Tensor>;
  private overridable: Set<string>;
  private names = new Set<string>();
  private added: Tensor[] = [];
  /** Activation → its DynamicQuantizeLinear outputs, shared by every consumer. */
  private dql = new Map<string, [string, string, string]>();
  /** Weight name + transpose + layout → its quantized parts, for weights several nodes share. */
  private done = new Map<string, QuantizedWeight>();
  private out: Node[] = [];

  constructor(
    private graph: Graph,
    private opt: Required<QuantizeOptions>,
  ) {
    this.summary = { quantized: [], skipped: [], foldedBatchNorms: 0, inputs: [], outputs: (graph.output ?? []).map((o) => o.name ?? ''), floatWeightBytes: 0, int8WeightBytes: 0 };
    this.inits = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
    // Initializers also listed as graph inputs can be fed at run time: not constants.
    this.overridable = new Set((graph.input ?? []).map((i) => i.name ?? ''));
    this.summary.inputs = [...this.overridable].filter((i) => !this.inits.has(i));
    for (const n of graph.node ?? []) for (const t of [...(n.input ?? []), ...(n.output ?? []), n.name ?? '']) this.names.add(t);
    for (const t of this.inits.keys()) this.names.add(t);
  }

  private constant(name: string | undefined): Tensor | undefined {
    return name && !this.overridable.has(name) ? this.inits.get(name) : undefined;
  }

  private fresh(stem: string): string {
    let name = stem;
    for (let i = 1; this.names.has(name); i++) name = `${stem}_${i}`;
    this.names.add(name);
    return name;
  }

  private init(stem: string, dims: number[], dataType: number, data: ArrayBufferView): string {
    const name = this.fresh(stem);
    this.added.push(onnx.TensorProto.create({ name, dims, dataType, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice() }));
    return name;
  }

  private emit(opType: string, input: string[], output: string[], attribute: protos.onnx.IAttributeProto[] = [], domain = ''): void {
    this.out.push(onnx.NodeProto.create({ opType, input, output, name: this.fresh(`${output[0]}_node`), attribute, ...(domain ? { domain } : {}) }));
  }

  /** Conv (constant weights) → BatchNormalization pairs become one Conv with folded weights, as onnxruntime fuses them. */
  foldBatchNorms(): void {
    const nodes = this.graph.node ?? [];
    const readers = new Map<string, number>();
    for (const n of nodes) for (const t of n.input ?? []) readers.set(t, (readers.get(t) ?? 0) + 1);
    for (const o of this.graph.output ?? []) readers.set(o.name ?? '', (readers.get(o.name ?? '') ?? 0) + 1);
    const producer = new Map(nodes.flatMap((n) => (n.output ?? []).map((o) => [o, n] as const)));
    const dropped = new Set<Node>();
    for (const bn of nodes) {
      if (bn.opType !== 'BatchNormalization' || (bn.output ?? []).length !== 1 || intAttr(bn, 'training_mode', 0)) continue;
      const conv = producer.get(bn.input![0]);
      const params = bn.input!.slice(1).map((t) => this.constant(t)).map((t) => (t ? floats(t) : undefined));
      const w = conv?.opType === 'Conv' ? this.constant(conv.input![1]) : undefined;
      const wv = w && floats(w);
      const bias = conv?.input?.[2] ? this.constant(conv.input[2]) : undefined;
      if (!conv || !wv || readers.get(bn.input![0]) !== 1 || params.some((p) => !p) || (conv.input?.[2] && !bias)) continue;
      const [gamma, beta, mean, variance] = params as Float32Array[];
      const m = dimsOf(w)[0];
      const inner = wv.length / m;
      const eps = floatAttr(bn, 'epsilon', 1e-5);
      const b = bias ? floats(bias)! : new Float32Array(m);
      const nw = new Float32Array(wv.length);
      const nb = new Float32Array(m);
      for (let c = 0; c < m; c++) {
        const k = gamma[c] / Math.sqrt(variance[c] + eps);
        for (let i = c * inner; i < (c + 1) * inner; i++) nw[i] = wv[i] * k;
        nb[c] = (b[c] - mean[c]) * k + beta[c];
      }
      conv.input = [conv.input![0], this.init(`${conv.input![1]}_bnfolded`, dimsOf(w), DT.FLOAT, nw), this.init(`${bn.output![0]}_bias`, [m], DT.FLOAT, nb)];
      conv.output = [bn.output![0]];
      dropped.add(bn);
      this.summary.foldedBatchNorms++;
    }
    this.graph.node = nodes.filter((n) => !dropped.has(n));
    for (const t of this.added) this.inits.set(t.name!, t);
  }

  run(): void {
    for (const n of this.graph.node ?? []) {
      const why = n.opType === 'MatMul' || n.opType === 'Gemm' ? this.matmul(n) : n.opType === 'Conv' && this.opt.conv ? this.conv(n) : 'keep';
      if (why === 'keep' || why === 'done') {
        if (why === 'keep') this.out.push(n);
        continue;
      }
      this.out.push(n);
      this.summary.skipped.push({ node: n.name || n.output![0], op: n.opType!, reason: why });
    }
    this.graph.node = this.out;
    // Float weights no node reads any more go; everything else (and the new parts) stays.
    const read = new Set(this.out.flatMap((n) => n.input ?? []));
    for (const o of this.graph.output ?? []) read.add(o.name ?? '');
    const kept = (this.graph.initializer ?? []).filter((t) => read.has(t.name ?? ''));
    this.graph.initializer = [...kept, ...this.added.filter((t) => read.has(t.name!) && !kept.includes(t))];
  }

  /** The DynamicQuantizeLinear outputs of an activation, emitted before its first quantized consumer. */
  private quantizedInput(x: string): [string, string, string] {
    let r = this.dql.get(x);
    if (!r) {
      r = [this.fresh(`${x}_quantized`), this.fresh(`${x}_scale`), this.fresh(`${x}_zero_point`)];
      this.emit('DynamicQuantizeLinear', [x], r);
      this.dql.set(x, r);
    }
    return r;
  }

  /** Quantize a constant weight once; `transpose` reads a [N, K] Gemm weight as [K, N]. */
  private weight(node: Node, t: Tensor, values: Float32Array, layout: 'columns' | 'filters', transpose = false): QuantizedWeight {
    const key = `${t.name}|${layout}|${transpose}`;
    const seen = this.done.get(key);
    if (seen) return seen;
    let shape = dimsOf(t);
    let w = values;
    if (transpose) {
      const [n, k] = shape;
      w = new Float32Array(values.length);
      for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) w[j * n + i] = values[i * k + j];
      shape = [k, n];
    }
    const conv = layout === 'filters';
    const type = conv ? 'uint8' : this.opt.weightType;
    // ConvInteger takes one zero point: per channel, conv weights are symmetric around 128.
    const perChannel = this.opt.perChannel;
    const channels = layout === 'columns' ? shape[1] : shape[0];
    const inner = w.length / shape[0];
    const channelOf = !perChannel ? () => 0 : layout === 'columns' ? (i: number) => i % channels : (i: number) => Math.floor(i / inner);
    const scheme = conv ? { type, symmetric: perChannel } : { type, reduceRange: this.opt.reduceRange };
    const { q, scale, zeroPoint } = quantizeWeights(w, perChannel ? channels : 1, channelOf, scheme);
    let maxError = 0;
    for (let i = 0; i < w.length; i++) {
      const c = channelOf(i);
      maxError = Math.max(maxError, Math.abs(w[i] - (q[i] - zeroPoint[zeroPoint.length === 1 ? 0 : c]) * scale[c]));
    }
    const qType = type === 'int8' ? DT.INT8 : DT.UINT8;
    const scaleDims = scale.length === 1 ? [] : layout === 'columns' ? [channels] : [1, channels, 1, 1];
    const parts = {
      q: this.init(`${t.name}_quantized`, shape, qType, q),
      scale: this.init(`${t.name}_scale`, scaleDims, DT.FLOAT, scale),
      zeroPoint: this.init(`${t.name}_zero_point`, zeroPoint.length === 1 ? [] : [channels], qType, zeroPoint),
    };
    const info: QuantizedWeight = { node: node.name || node.output![0], op: node.opType!, weight: t.name!, shape: dimsOf(t), type, channels: scale.length, parts, maxError, maxScale: Math.max(...scale) };
    this.done.set(key, info);
    this.summary.quantized.push(info);
    this.summary.floatWeightBytes += w.length * 4;
    this.summary.int8WeightBytes += w.length + scale.length * 4 + zeroPoint.length;
    return info;
  }

  /** MatMul / Gemm with a constant 2-D weight → integer product + scale (+ bias); a reason string when it stays float. */
  private matmul(n: Node): string {
    const [a, b, c] = n.input ?? [];
    const gemm = n.opType === 'Gemm';
    const t = this.constant(b);
    if (!t) return this.constant(a) ? 'constant first input (only the second is quantized)' : 'weight is computed, not a constant';
    const values = floats(t);
    if (!values) return `weight is ${DT[t.dataType ?? 0] ?? t.dataType}${t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL ? ' in external data' : ''}, not float32`;
    if (dimsOf(t).length !== 2) return `weight is ${dimsOf(t).length}-D [${dimsOf(t)}]; only 2-D weights are quantized`;
    if (gemm && intAttr(n, 'transA', 0)) return 'Gemm with transA=1';
    const alpha = gemm ? floatAttr(n, 'alpha', 1) : 1;
    const beta = gemm ? floatAttr(n, 'beta', 1) : 1;
    const biasT = gemm && c ? this.constant(c) : undefined;
    if (gemm && c && !biasT && beta !== 1) return 'Gemm with a computed bias and beta ≠ 1';
    const transB = gemm && intAttr(n, 'transB', 0) === 1;
    const cols = dimsOf(t)[transB ? 0 : 1];
    const bv = biasT && floats(biasT);
    if (biasT && !bv) return 'Gemm bias is not float32';
    const w = this.weight(n, t, values, 'columns', transB);
    let scale = w.parts.scale;
    if (alpha !== 1) scale = this.init(`${n.output![0]}_w_scale`, w.channels > 1 ? [cols] : [], DT.FLOAT, Float32Array.from(floats(this.added.find((x) => x.name === scale)!)!, (s) => s * alpha));
    let bias = c;
    const bias1d = !!bv && bv.length === cols && dimsOf(biasT).length === 1;
    if (bv) bias = this.init(`${n.output![0]}_bias`, dimsOf(biasT), DT.FLOAT, bv.map((v) => v * beta));
    const y = n.output![0];
    if (this.opt.contribOps) {
      const fused = bias && bias1d;
      const out = bias && !fused ? this.fresh(`${y}_unbiased`) : y;
      this.emit('DynamicQuantizeMatMul', [a, w.parts.q, scale, w.parts.zeroPoint, ...(fused ? [bias!] : [])], [out], [], 'com.microsoft');
      if (bias && !fused) this.emit('Add', [out, bias], [y]);
      return 'done';
    }
    const [xq, xs, xz] = this.quantizedInput(a);
    this.integerToFloat(y, 'MatMulInteger', [xq, w.parts.q, xz, w.parts.zeroPoint], [], xs, scale, bias);
    return 'done';
  }

  /** Conv with constant 4-D weights → ConvInteger + scale (+ bias). */
  private conv(n: Node): string {
    const [x, wName, bName] = n.input ?? [];
    const t = this.constant(wName);
    if (!t) return 'weight is computed, not a constant';
    const values = floats(t);
    if (!values) return `weight is ${DT[t.dataType ?? 0] ?? t.dataType}, not float32`;
    if (dimsOf(t).length !== 4) return `weight is ${dimsOf(t).length}-D; only 2-D convolutions (4-D weights) are quantized`;
    if (intAttr(n, 'group', 1) !== 1 && !this.opt.groupedConv) return GROUPED_NOTE;
    const biasT = bName ? this.constant(bName) : undefined;
    const bv = biasT && floats(biasT);
    if (bName && !bv) return 'bias is computed or not float32';
    const w = this.weight(n, t, values, 'filters');
    const m = w.shape[0];
    const bias = bv ? this.init(`${n.output![0]}_bias`, [1, m, 1, 1], DT.FLOAT, bv) : undefined;
    const attrs = (n.attribute ?? []).filter((a) => ['auto_pad', 'dilations', 'group', 'kernel_shape', 'pads', 'strides'].includes(a.name ?? ''));
    const [xq, xs, xz] = this.quantizedInput(x);
    this.integerToFloat(n.output![0], 'ConvInteger', [xq, w.parts.q, xz, w.parts.zeroPoint], attrs, xs, w.parts.scale, bias);
    return 'done';
  }

  /** op(...) as int32 → Cast float → Mul(x_scale · w_scale) → Add bias, ending in `y`: the pattern onnxruntime fuses. */
  private integerToFloat(y: string, op: string, inputs: string[], attrs: protos.onnx.IAttributeProto[], xScale: string, wScale: string, bias?: string): void {
    const acc = this.fresh(`${y}_int32`);
    const asFloat = this.fresh(`${y}_float`);
    const scale = this.fresh(`${y}_scale`);
    this.emit(op, inputs, [acc], attrs);
    this.emit('Cast', [acc], [asFloat], [onnx.AttributeProto.create({ name: 'to', type: AT.INT, i: DT.FLOAT })]);
    this.emit('Mul', [xScale, wScale], [scale]);
    const scaled = bias ? this.fresh(`${y}_unbiased`) : y;
    this.emit('Mul', [asFloat, scale], [scaled]);
    if (bias) this.emit('Add', [scaled, bias], [y]);
  }
}
