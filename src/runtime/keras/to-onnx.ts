import { BackboneError } from '../../errors.ts';
import { OnnxGraph } from '../onnx-graph.ts';
import { inboundNames, type KerasLayer, type KerasModelFiles } from './topology.ts';
import { decodeWeights } from './weights.ts';

/** Bump when the generated graph changes, so cached conversions are rebuilt. */
export const CONVERTER_VERSION = 2;
const ONNX_INPUT = 'input';

export interface ConvertOptions {
  /** Layers whose outputs become graph outputs (the "taps"), in order. */
  taps: string[];
  /** Global average pooling over space for 4-D taps (the features probes use). */
  pool: boolean;
}

/**
 * Keras functional model (channels_last) → ONNX graph (NCHW inside, NHWC input) with one output per tap.
 * Hand-written because no npm package converts tfjs layers models to ONNX; only layers up to the taps are emitted.
 */
export function kerasToOnnx(files: KerasModelFiles, opt: ConvertOptions): Uint8Array {
  const byName = new Map(files.layers.map((l) => [l.name, l]));
  for (const tap of opt.taps) {
    if (!byName.has(tap)) throw new BackboneError(`Layer "${tap}" is not in the model. ${layerHint(files.layers)}`);
  }
  const needed = ancestors(opt.taps, byName);
  const weights = decodeWeights(files.weightSpecs, files.weightData);
  const g = new OnnxGraph();
  const consumers = new Map<string, number>();
  for (const l of files.layers) if (needed.has(l.name)) for (const i of inboundNames(l)) consumers.set(i, (consumers.get(i) ?? 0) + 1);
  const foldable = new Set([...needed].filter((n) => consumers.get(n) === 1 && !opt.taps.includes(n)));
  const conv = new LayerConverter(g, weights, foldable);
  for (const layer of files.layers) if (needed.has(layer.name)) conv.emit(layer);
  const outputs = opt.taps.map((tap) => conv.output(tap, opt.pool));
  return g.encode({ name: ONNX_INPUT, dims: files.inputShape }, outputs, 'reprobe');
}

/** Every layer the taps depend on, taps included. */
function ancestors(taps: string[], byName: Map<string, KerasLayer>): Set<string> {
  const seen = new Set<string>();
  const stack = [...taps];
  while (stack.length) {
    const name = stack.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    stack.push(...inboundNames(byName.get(name)!));
  }
  return seen;
}

export function layerHint(layers: KerasLayer[]): string {
  const names = layers.map((l) => l.name);
  return `It has ${names.length} layers: ${names.slice(0, 4).join(', ')}, …, ${names.slice(-3).join(', ')}. Run \`reprobe models layers NAME\` to list them.`;
}

type Pair = [number, number];
const pair = (v: unknown): Pair => (Array.isArray(v) ? [v[0] as number, v[1] as number] : [v as number, v as number]);

/** Emits ONNX nodes per Keras layer; tensor names are layer names, ranks are tracked for axis mapping. */
class LayerConverter {
  private rank = new Map<string, number>();
  private alias = new Map<string, string>();
  /** ZeroPadding2D layers not yet emitted: folded into a following 'valid' conv, else materialized as Pad. */
  private pendingPad = new Map<string, { input: string; pads: number[] }>();

  constructor(
    private g: OnnxGraph,
    private weights: Map<string, Float32Array>,
    /** Layers with a single consumer that is not a tap: their zero pad may merge into that consumer. */
    private foldable: Set<string>,
  ) {}

  private input(layer: KerasLayer, i = 0): string {
    return this.tensor(inboundNames(layer)[i]);
  }

  /** ONNX tensor holding a layer's output (emits a deferred Pad on first use). */
  private tensor(name: string): string {
    const pad = this.pendingPad.get(name);
    if (pad) {
      this.g.node('Pad', [pad.input, this.g.int64(`${name}/pads`, pad.pads)], { mode: 'constant' }, name);
      this.pendingPad.delete(name);
    }
    return this.alias.get(name) ?? name;
  }

  private weight(layer: string, key: string): Float32Array | undefined {
    return this.weights.get(`${layer}/${key}`);
  }

  private required(layer: string, key: string): Float32Array {
    const w = this.weight(layer, key);
    if (!w) throw new BackboneError(`Weight "${layer}/${key}" is missing from the model's weights manifest.`);
    return w;
  }

  emit(layer: KerasLayer): void {
    const c = layer.config;
    const name = layer.name;
    const inRank = () => this.rank.get(this.input(layer)) ?? 4;
    switch (layer.class_name) {
      case 'InputLayer':
        this.g.node('Transpose', [ONNX_INPUT], { perm: [0, 3, 1, 2] }, name);
        this.rank.set(name, 4);
        return;
      case 'Dropout':
        this.alias.set(name, this.input(layer));
        return;
      case 'ZeroPadding2D': {
        const [[t, b], [l, r]] = c.padding as [Pair, Pair];
        this.pendingPad.set(name, { input: this.input(layer), pads: [0, 0, t, l, 0, 0, b, r] });
        break;
      }
      case 'Conv2D':
      case 'DepthwiseConv2D':
        this.convolution(layer);
        break;
      case 'BatchNormalization': {
        const mean = this.required(name, 'moving_mean');
        const ones = new Float32Array(mean.length).fill(1);
        const gamma = this.weight(name, 'gamma') ?? ones;
        const beta = this.weight(name, 'beta') ?? new Float32Array(mean.length);
        const d = [mean.length];
        const ins = [
          this.input(layer),
          this.g.float(`${name}/gamma`, d, gamma),
          this.g.float(`${name}/beta`, d, beta),
          this.g.float(`${name}/moving_mean`, d, mean),
          this.g.float(`${name}/moving_variance`, d, this.required(name, 'moving_variance')),
        ];
        this.g.node('BatchNormalization', ins, { epsilon: { f: (c.epsilon as number) ?? 1e-3 } }, name);
        break;
      }
      case 'ReLU': {
        if ((c.threshold as number) || (c.negative_slope as number)) throw new BackboneError(`ReLU "${name}" with threshold or negative slope is not supported.`);
        const max = c.max_value as number | null;
        this.activation(this.input(layer), max == null ? 'relu' : `relu:${max}`, name);
        break;
      }
      case 'Activation':
        this.activation(this.input(layer), c.activation as string, name);
        break;
      case 'Add': {
        const ins = inboundNames(layer).map((_, i) => this.input(layer, i));
        this.g.node(ins.length === 2 ? 'Add' : 'Sum', ins, {}, name);
        break;
      }
      case 'Concatenate': {
        const ins = inboundNames(layer).map((_, i) => this.input(layer, i));
        const axis = c.axis as number;
        const rank = inRank();
        const last = axis === -1 || axis === rank - 1;
        this.g.node('Concat', ins, { axis: rank === 4 ? (last ? 1 : axis + 1) : axis < 0 ? rank + axis : axis }, name);
        break;
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        const op = layer.class_name === 'MaxPooling2D' ? 'MaxPool' : 'AveragePool';
        const pool = pair(c.pool_size);
        this.g.node(op, [this.input(layer)], { kernel_shape: pool, strides: pair(c.strides ?? pool), ...this.padding(c.padding as string) }, name);
        break;
      }
      case 'GlobalAveragePooling2D':
        this.g.node('Flatten', [this.g.node('GlobalAveragePool', [this.input(layer)])], { axis: 1 }, name);
        this.rank.set(name, 2);
        return;
      case 'Flatten': {
        // Keras flattens in HWC order.
        const x = inRank() === 4 ? this.g.node('Transpose', [this.input(layer)], { perm: [0, 2, 3, 1] }) : this.input(layer);
        this.g.node('Flatten', [x], { axis: 1 }, name);
        this.rank.set(name, 2);
        return;
      }
      case 'Dense': {
        const kernel = this.required(name, 'kernel');
        const units = c.units as number;
        const ins = [this.input(layer), this.g.float(`${name}/kernel`, [kernel.length / units, units], kernel)];
        const bias = this.weight(name, 'bias');
        if (bias) ins.push(this.g.float(`${name}/bias`, [units], bias));
        const act = c.activation as string;
        const out = this.g.node('Gemm', ins, {}, act === 'linear' ? name : `${name}/linear`);
        if (act !== 'linear') this.activation(out, act, name);
        this.rank.set(name, 2);
        return;
      }
      default:
        throw new BackboneError(`Keras layer type ${layer.class_name} ("${name}") is not supported by reprobe's ONNX converter.`);
    }
    this.rank.set(name, inRank());
  }

  private padding(mode: string): Record<string, string> {
    return mode === 'same' ? { auto_pad: 'SAME_UPPER' } : { auto_pad: 'VALID' };
  }

  private convolution(layer: KerasLayer): void {
    const c = layer.config;
    const name = layer.name;
    const [kh, kw] = pair(c.kernel_size);
    const depthwise = layer.class_name === 'DepthwiseConv2D';
    const k = this.required(name, depthwise ? 'depthwise_kernel' : 'kernel');
    // Keras [kh, kw, cin, cout|mult] → ONNX [cout, cin/group, kh, kw]; depthwise output channel = c * mult + m.
    const cin = depthwise ? k.length / (kh * kw * ((c.depth_multiplier as number) ?? 1)) : 0;
    const cout = depthwise ? k.length / (kh * kw) : (c.filters as number);
    const inner = k.length / (kh * kw * cout);
    const w = new Float32Array(k.length);
    for (let y = 0; y < kh; y++)
      for (let x = 0; x < kw; x++)
        for (let i = 0; i < inner; i++)
          for (let o = 0; o < cout; o++) w[((o * inner + i) * kh + y) * kw + x] = k[((y * kw + x) * inner + i) * cout + o];
    // A zero pad feeding a 'valid' conv becomes the conv's own pads (keeps ORT's NCHWc kernels unbroken).
    const padName = inboundNames(layer)[0];
    const pad = c.padding === 'valid' && this.foldable.has(padName) ? this.pendingPad.get(padName) : undefined;
    if (pad) this.pendingPad.delete(padName);
    const ins = [pad ? pad.input : this.input(layer), this.g.float(`${name}/kernel`, [cout, inner, kh, kw], w)];
    const bias = this.weight(name, 'bias');
    if (bias) ins.push(this.g.float(`${name}/bias`, [cout], bias));
    const padding = pad ? { pads: [pad.pads[2], pad.pads[3], pad.pads[6], pad.pads[7]] } : this.padding(c.padding as string);
    const attrs = {
      kernel_shape: [kh, kw],
      strides: pair(c.strides ?? 1),
      dilations: pair(c.dilation_rate ?? 1),
      group: depthwise ? cin : 1,
      ...padding,
    };
    const act = (c.activation as string) ?? 'linear';
    const out = this.g.node('Conv', ins, attrs, act === 'linear' ? name : `${name}/linear`);
    if (act !== 'linear') this.activation(out, act, name);
  }

  /** relu | relu:<max> | relu6 | linear | softmax | sigmoid | tanh, written to `out`. */
  private activation(x: string, act: string, out: string): void {
    if (act === 'relu6') act = 'relu:6';
    if (act.startsWith('relu:')) {
      const max = Number(act.slice(5));
      this.g.node('Clip', [x, this.g.float(`${out}/min`, [], new Float32Array([0])), this.g.float(`${out}/max`, [], new Float32Array([max]))], {}, out);
      return;
    }
    const ops: Record<string, string> = { relu: 'Relu', linear: 'Identity', softmax: 'Softmax', sigmoid: 'Sigmoid', tanh: 'Tanh' };
    const op = ops[act];
    if (!op) throw new BackboneError(`Activation "${act}" (layer "${out}") is not supported by reprobe's ONNX converter.`);
    this.g.node(op, [x], op === 'Softmax' ? { axis: -1 } : {}, out);
  }

  /** Graph output for a tap: pooled [N, C] for 4-D taps when asked, else flattened. */
  output(tap: string, pool: boolean): string {
    const x = this.tensor(tap);
    if ((this.rank.get(x) ?? 4) === 2) return this.g.node('Identity', [x], {}, `feat:${tap}`);
    const pooled = pool ? this.g.node('GlobalAveragePool', [x]) : this.g.node('Transpose', [x], { perm: [0, 2, 3, 1] });
    return this.g.node('Flatten', [pooled], { axis: 1 }, `feat:${tap}`);
  }
}
