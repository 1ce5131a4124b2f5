import * as tf from '@tensorflow/tfjs';
import { toMap } from './maps.ts';
import { ConfigError } from '../errors.ts';
import type { ExplainMap } from './types.ts';

/**
 * A ConvNet cut at the explained layer: `forward` runs the image to that layer's activation A ([1, gh, gw, C], NHWC) and
 * returns, with it, the class scores as a function of A (everything else the graph needs before the layer held fixed).
 */
export interface ConvNetSplit {
  forward(x: tf.Tensor4D): { activation: tf.Tensor4D; scores: (a: tf.Tensor4D) => tf.Tensor2D };
}

export interface GradCamResult {
  /** [gh, gw], the explained layer's grid, normalised to [0, 1]. */
  map: ExplainMap;
  /** The class explained: the one asked for, else the top-scoring one. */
  classIndex: number;
  /** [K] class scores (logits) of the image. */
  scores: Float32Array;
}

/**
 * Grad-CAM (Selvaraju et al. 2017): for class k with score y_k and layer activations A ([gh, gw, C]), channel weights
 * α_c = mean over (i, j) of ∂y_k/∂A_ijc, map = ReLU(Σ_c α_c A_c), normalised. One image ([1, h, w, c]); no tensor leaks.
 */
export function gradCam(net: ConvNetSplit, x: tf.Tensor4D, classIndex?: number): GradCamResult {
  const [cam, logits, k] = tf.tidy(() => {
    const { activation, scores } = net.forward(x);
    const all = scores(activation);
    const K = all.shape[1];
    if (classIndex !== undefined && (!Number.isInteger(classIndex) || classIndex < 0 || classIndex >= K)) throw new ConfigError(`class ${classIndex} is not one of the model's ${K} classes; give 0 to ${K - 1}.`, '--class');
    const kk = classIndex ?? all.argMax(1).dataSync()[0];
    // y_k as a one-hot dot product: gather's gradient needs UnsortedSegmentSum, which wasm lacks.
    const pick = tf.oneHot([kk], K).toFloat();
    const grads = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(scores(a as tf.Tensor4D), pick)))(activation);
    const alpha = grads.mean([1, 2], true); // [1, 1, 1, C]
    const map = tf.relu(tf.sum(tf.mul(activation, alpha), -1)).squeeze([0]); // [gh, gw]
    return [map, all.squeeze([0]), tf.scalar(kk, 'int32')];
  });
  try {
    const [gh, gw] = cam.shape;
    return { map: toMap(cam.dataSync(), gh, gw), classIndex: k.dataSync()[0], scores: logits.dataSync() as Float32Array };
  } finally {
    tf.dispose([cam, logits, k]);
  }
}
