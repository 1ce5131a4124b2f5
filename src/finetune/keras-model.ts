import * as tf from '@tensorflow/tfjs';
import { loadKerasLayers } from '../runtime/tfjs.ts';
import { inboundNames, type KerasModelFiles } from '../runtime/keras/topology.ts';
import { loadNsfwjsModel } from '../backbones/keras/nsfwjs-files.ts';
import { channelAffineGrad, channelAffineRelu6, channelAffineValue, relu6 } from '../runtime/training-kernels.ts';
import { TrainingError } from '../errors.ts';
import { linearHead, type TrainModel } from '../train/head.ts';
import type { ModelRecipe } from '../train/parallel.ts';

export interface KerasTrainSpec {
  /** The layer whose output the model reads: a cut point, or the model's input layer to start from the pixels. */
  from: string;
  /** Layers after this one are trained (with the head); the ones up to it stay frozen. */
  trainAfter: string;
  tap: string;
  numClasses: number;
  /** Seeds the head's initial weights. */
  seed: number;
}

/**
 * A Keras BatchNormalization on its running statistics, written as x·a + b with a = γ / √(var + ε) and b = β − mean·a
 * from plain ops: the gradient reaches γ and β (when the layer has them) without tfjs's FusedBatchNorm, whose gradient
 * fails on a layer without γ (InceptionV3's) and whose wasm forward is slow.
 */
class RunningStatsNorm extends tf.layers.Layer {
  static readonly className: string = 'ReprobeRunningStatsNorm';
  private readonly bn: tf.layers.Layer;

  constructor(bn: tf.layers.Layer) {
    super({ name: `${bn.name}__running_stats` });
    this.bn = bn;
    const axis = (bn.getConfig().axis as number | undefined) ?? -1;
    if (axis !== -1 && axis !== 3) throw new TrainingError(`Batch norm layer ${bn.name} normalises axis ${axis}; only the channel axis of NHWC trains.`);
  }

  private weight(suffix: string): tf.LayerVariable | undefined {
    return this.bn.weights.find((w) => w.originalName.endsWith(`/${suffix}`) || w.name.endsWith(`/${suffix}`));
  }

  /** γ and β, the weights that train. */
  affine(): tf.LayerVariable[] {
    return ['gamma', 'beta'].map((s) => this.weight(s)).filter((w): w is tf.LayerVariable => w !== undefined);
  }

  override computeOutputShape(shape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return shape;
  }

  /** The per-channel scale and shift the running statistics make of γ and β: y = x·a + b. */
  protected scaleShift(): [tf.Tensor, tf.Tensor] {
    const eps = (this.bn.getConfig().epsilon as number | undefined) ?? 1e-3;
    const [gamma, beta, mean, variance] = ['gamma', 'beta', 'moving_mean', 'moving_variance'].map((s) => this.weight(s)?.read());
    const a = gamma ? tf.mul(gamma, tf.rsqrt(tf.add(variance!, eps))) : tf.rsqrt(tf.add(variance!, eps));
    const b = beta ? tf.sub(beta, tf.mul(mean!, a)) : tf.neg(tf.mul(mean!, a));
    return [a, b];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return channelAffine(Array.isArray(inputs) ? inputs[0] : inputs, ...this.scaleShift());
  }
}

/**
 * A batch norm whose only consumer is a ReLU(max_value=6), both in one step: relu6(x·a + b) keeps no batch-norm output
 * for the backward pass (its mask is taken again from x), a third less memory for MobileNetV2's blocks and one pass
 * each way instead of two.
 */
class RunningStatsNormRelu6 extends RunningStatsNorm {
  static override readonly className = 'ReprobeRunningStatsNormRelu6';

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return channelAffineRelu6(Array.isArray(inputs) ? inputs[0] : inputs, ...this.scaleShift());
  }
}

/**
 * x·a + b per channel (last axis) as one step for the gradient tape: it keeps x (kept anyway) instead of x·a as well,
 * which is what lets a whole MobileNetV2 train at batch 16 inside wasm's 4 GB.
 */
const channelAffine = tf.customGrad((x, a, b, save) => {
  const [xt, at, bt] = [x, a, b] as tf.Tensor[];
  (save as tf.GradSaveFunc)([xt, at]);
  return {
    value: channelAffineValue(xt, at, bt),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const [xs, as] = saved;
      return channelAffineGrad(dy as tf.Tensor, xs, as);
    },
  };
}) as (x: tf.Tensor, a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/** Keras's ReLU(max_value=6) as one op with a fused gradient (tfjs-layers applies relu, then clipByValue). */
class Relu6 extends tf.layers.Layer {
  static readonly className = 'ReprobeRelu6';

  constructor(name: string) {
    super({ name: `${name}__relu6` });
  }

  override computeOutputShape(shape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return shape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return relu6(Array.isArray(inputs) ? inputs[0] : inputs);
  }
}

/**
 * A Keras Conv2D without bias or activation as a plain tf.conv2d: tfjs-layers applies fused.conv2d, whose gradient
 * (a customGrad) computes the input gradient even where nothing needs it. From the pixels that is the stem's gradient
 * to the image (5 % of training MobileNetV2 in the profile); the plain op's gradients run only when asked.
 */
class PlainConv extends tf.layers.Layer {
  static readonly className = 'ReprobePlainConv';
  private readonly conv: tf.layers.Layer;

  constructor(conv: tf.layers.Layer) {
    super({ name: `${conv.name}__plain` });
    this.conv = conv;
  }

  override computeOutputShape(shape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return this.conv.computeOutputShape(shape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
    const c = this.conv.getConfig() as { strides: [number, number]; padding: 'same' | 'valid'; dilationRate: [number, number] };
    const kernel = (this.conv as unknown as { kernel: tf.LayerVariable }).kernel.read() as tf.Tensor4D;
    return tf.conv2d(x, kernel, c.strides, c.padding, 'NHWC', c.dilationRate);
  }
}

const plainConv = (l: tf.layers.Layer): boolean => {
  const c = l.getConfig();
  return c.useBias === false && c.activation === 'linear' && (c.dataFormat ?? 'channelsLast') === 'channelsLast';
};

const isRelu6 = (l: KerasModelFiles['layers'][number]): boolean => l.class_name === 'ReLU' && (l.config as { max_value?: number }).max_value === 6;

/** The layer that replaces a Keras one for training: batch norms on running statistics, relu6 fused, convolutions plain. */
function trainingLayer(className: string, original: tf.layers.Layer): tf.layers.Layer {
  if (className === 'BatchNormalization') return new RunningStatsNorm(original);
  if (className === 'ReLU' && original.getConfig().maxValue === 6) return new Relu6(original.name);
  if (className === 'Conv2D' && plainConv(original)) return new PlainConv(original);
  return original;
}

/** A Keras backbone from `from` to its tap, global-average-pooled, under a new linear head. */
export async function kerasTrainModel(files: KerasModelFiles, spec: KerasTrainSpec): Promise<TrainModel> {
  const full = await loadKerasLayers(files);
  const tapOut = full.getLayer(spec.tap).output as tf.SymbolicTensor;
  const channels = tapOut.shape[tapOut.shape.length - 1] as number;
  const head = linearHead(channels, spec.numClasses, spec.seed);
  const names = files.layers.map((l) => l.name);
  const [from, after, tap] = [spec.from, spec.trainAfter, spec.tap].map((n) => names.indexOf(n));
  const input = tf.input({ shape: (full.getLayer(spec.from).output as tf.SymbolicTensor).shape.slice(1) as number[] });
  const sym = new Map<string, tf.SymbolicTensor>([[spec.from, input]]);
  const trained: tf.LayerVariable[] = [];
  const consumers = new Map<string, KerasModelFiles['layers']>();
  for (const l of files.layers) for (const n of inboundNames(l)) consumers.set(n, [...(consumers.get(n) ?? []), l]);
  // relu6 layers applied inside the batch norm before them (RunningStatsNormRelu6): the batch norm's name for each.
  const fusedInto = new Map<string, string>();
  for (let i = from + 1; i <= tap; i++) {
    const l = files.layers[i];
    const ins = inboundNames(l).map((n) => sym.get(n));
    if (ins.some((t) => t === undefined)) continue; // not on the path from `from` to the tap
    if (fusedInto.has(l.name)) {
      sym.set(l.name, sym.get(fusedInto.get(l.name)!)!);
      continue;
    }
    const original = full.getLayer(l.name);
    const next = consumers.get(l.name) ?? [];
    const fuse = l.class_name === 'BatchNormalization' && l.name !== spec.tap && next.length === 1 && isRelu6(next[0]) && names.indexOf(next[0].name) <= tap;
    if (fuse) fusedInto.set(next[0].name, l.name);
    const layer = fuse ? new RunningStatsNormRelu6(original) : trainingLayer(l.class_name, original);
    sym.set(l.name, layer.apply(ins.length === 1 ? ins[0]! : (ins as tf.SymbolicTensor[])) as tf.SymbolicTensor);
    if (i > after) {
      // nsfwjs ships its early layers with trainable: false; what --train names trains here.
      original.trainable = true;
      trained.push(...(layer instanceof RunningStatsNorm ? layer.affine() : original.trainableWeights));
    }
  }
  const out = sym.get(spec.tap)!;
  // Every layer output is kept for the backward pass (some twice: an op's input and its gradient's saved tensor).
  const activationBytes = 4 * [...new Set(sym.values())].reduce((a, t) => a + t.shape.slice(1).reduce((p: number, d) => p * (d ?? 1), 1), 0);
  const body = tf.model({ inputs: input, outputs: out.shape.length === 4 ? (tf.layers.globalAveragePooling2d({}).apply(out) as tf.SymbolicTensor) : out });
  return {
    inputShape: body.inputs[0].shape.slice(1) as number[],
    activationBytes,
    variables: [...trained.map((w) => w.read() as tf.Variable), ...head.variables],
    logits: (x) => head.apply(body.apply(x, { training: false }) as tf.Tensor),
    dispose: () => {
      full.dispose();
      head.dispose();
    },
  };
}

/** kerasTrainModel of an nsfwjs model by name: what a second training thread builds (train/parallel.ts's recipe). */
export function nsfwjsTrainModel(model: string, spec: KerasTrainSpec): Promise<TrainModel> {
  return kerasTrainModel(loadNsfwjsModel(model), spec);
}

/** The recipe for nsfwjsTrainModel(model, spec) in another thread. */
export function nsfwjsTrainRecipe(model: string, spec: KerasTrainSpec): ModelRecipe {
  return { module: import.meta.url, export: 'nsfwjsTrainModel', args: [model, spec] };
}
