// The layers a Keras backbone trains through (keras-model.ts): imported when a model is built, since defining them
// (classes extending tfjs' Layer, a customGrad) loads tfjs, which the CLI's bundle otherwise loads on first use.
import * as tf from '@tensorflow/tfjs';
import { TrainingError } from '../errors.ts';
import { channelAffineGrad, channelAffineRelu6, channelAffineValue, relu6 } from '../runtime/training-kernels.ts';

/**
 * A Keras BatchNormalization on its running statistics, written as x·a + b with a = γ / √(var + ε) and b = β − mean·a
 * from plain ops: the gradient reaches γ and β (when the layer has them) without tfjs's FusedBatchNorm, whose gradient
 * fails on a layer without γ (InceptionV3's) and whose wasm forward is slow.
 */
export class RunningStatsNorm extends tf.layers.Layer {
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
export class RunningStatsNormRelu6 extends RunningStatsNorm {
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
export class PlainConv extends tf.layers.Layer {
  static readonly className = 'ReprobePlainConv';
  private readonly conv: tf.layers.Layer;
  private readonly pad?: ZeroPadding;

  /** `pad`: a ZeroPadding2D before the convolution, folded into it as explicit padding (no padded copy, no slice back). */
  constructor(conv: tf.layers.Layer, pad?: ZeroPadding) {
    super({ name: `${conv.name}__plain` });
    this.conv = conv;
    this.pad = pad;
  }

  override computeOutputShape(shape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    const s = shape as tf.Shape;
    const p = this.pad;
    return this.conv.computeOutputShape(p ? [s[0], s[1] === null ? null : s[1] + p[0][0] + p[0][1], s[2] === null ? null : s[2] + p[1][0] + p[1][1], s[3]] : s);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
    const c = this.conv.getConfig() as { strides: [number, number]; padding: 'same' | 'valid'; dilationRate: [number, number] };
    const pad = this.pad ? ([[0, 0], this.pad[0], this.pad[1], [0, 0]] as tf.backend_util.ExplicitPadding) : c.padding;
    const depthwise = (this.conv as unknown as { depthwiseKernel?: tf.LayerVariable }).depthwiseKernel;
    if (depthwise) return tf.depthwiseConv2d(x, depthwise.read() as tf.Tensor4D, c.strides, pad, 'NHWC', c.dilationRate);
    const kernel = (this.conv as unknown as { kernel: tf.LayerVariable }).kernel.read() as tf.Tensor4D;
    return tf.conv2d(x, kernel, c.strides, pad, 'NHWC', c.dilationRate);
  }
}

/** Keras ZeroPadding2D's ((top, bottom), (left, right)). */
export type ZeroPadding = [[number, number], [number, number]];

const plainConv = (l: tf.layers.Layer): boolean => {
  const c = l.getConfig();
  return c.useBias === false && c.activation === 'linear' && (c.dataFormat ?? 'channelsLast') === 'channelsLast';
};

/** A Conv2D or DepthwiseConv2D a ZeroPadding2D before it can fold into (no bias, no activation, unpadded itself). */
export const foldsPadding = (className: string, l: tf.layers.Layer): boolean => (className === 'Conv2D' || className === 'DepthwiseConv2D') && plainConv(l) && l.getConfig().padding === 'valid' && (className === 'Conv2D' || l.getConfig().depthMultiplier === 1);

/** The layer that replaces a Keras one for training: batch norms on running statistics, relu6 fused, convolutions plain. */
export function trainingLayer(className: string, original: tf.layers.Layer): tf.layers.Layer {
  if (className === 'BatchNormalization') return new RunningStatsNorm(original);
  if (className === 'ReLU' && original.getConfig().maxValue === 6) return new Relu6(original.name);
  if (className === 'Conv2D' && plainConv(original)) return new PlainConv(original);
  return original;
}
