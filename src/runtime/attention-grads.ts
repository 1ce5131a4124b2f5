import * as tf from '@tensorflow/tfjs';
import { attentionTensors } from './onnx-attention.ts';
import { tfjsBackend } from './tfjs.ts';
import { BackboneError, ConfigError } from '../errors.ts';
import { onnxToTfjs, type TfjsGraph } from './onnx-tfjs.ts';
import { registerWasmTraining } from './training-kernels.ts';

/**
 * Gradients of a score with respect to a transformer's attention probabilities, through the trainable ONNX → tfjs
 * translation: each named Softmax output passes through an identity whose gradient is recorded, so ∂score/∂A is the
 * total gradient (through every later block), as a PyTorch hook on the probabilities gives it.
 */

/**
 * What is explained: one feature (a class score) of the pooled output, its largest one (`top`: the predicted class of
 * a classifier), or its cosine with a target times a scale (CLIP's image-text logit: logit scale · cosine).
 */
export type AttentionScore = { kind: 'class'; index: number } | { kind: 'top' } | { kind: 'cosine'; target: Float32Array; scale: number };

export interface AttentionGrads {
  /** Per block, in graph order, the attention probabilities and ∂score/∂probabilities (same shapes, batch one). */
  attention: Float32Array[];
  grads: Float32Array[];
  /** The attention's shape ([1, heads, T, T] or [heads, T, T]). */
  dims: number[];
  score: number;
}

/** The model bytes to translate, what identifies them (path, size, mtime) for the cache, and a name for messages. */
export interface GradModel {
  key: string;
  name: string;
  bytes: () => Promise<Uint8Array>;
}

interface Translated {
  graph: TfjsGraph;
  /** The attention probabilities (Softmax outputs) in block order. */
  attention: string[];
}

/** The last translated model (translating a ViT makes a tfjs variable of every weight: seconds, and its size in memory). */
let cached: { key: string; model: Translated } | undefined;

async function translated(model: GradModel, output: string): Promise<Translated> {
  const key = `${model.key}|${output}`;
  if (cached?.key === key) return cached.model;
  cached?.model.graph.dispose();
  cached = undefined;
  const bytes = await model.bytes();
  const attention = attentionTensors(bytes);
  if (!attention.length) throw new BackboneError(`${model.name} has no attention Softmax (a Softmax whose output a MatMul with V reads), so no attention to explain.`);
  cached = { key, model: { graph: onnxToTfjs(bytes, { outputs: [output], scope: 'attention-grads' }), attention } };
  return cached.model;
}

/** A card's output (backbones' OutputSpec): the tensor's name and how it is pooled into one feature row. */
export interface PooledOutput {
  name: string;
  pooling: 'cls' | 'mean' | 'gap' | 'none';
  prefixTokens?: number;
}

/** The card's pooling of a [1, T, d], [1, c, h, w] or [1, d] output → [d]. */
function pooled(t: tf.Tensor, out: PooledOutput): tf.Tensor1D {
  switch (out.pooling) {
    case 'cls':
      return t.slice([0, 0, 0], [1, 1, -1]).reshape([-1]);
    case 'mean':
      return t.slice([0, out.prefixTokens ?? 1, 0], [1, -1, -1]).mean(1).reshape([-1]);
    case 'gap':
      return t.mean([2, 3]).reshape([-1]);
    case 'none':
      return t.reshape([-1]);
  }
}

function scoreOf(features: tf.Tensor1D, s: AttentionScore): tf.Scalar {
  if (s.kind === 'top') return features.max() as tf.Scalar;
  if (s.kind === 'class') {
    const d = features.shape[0];
    if (!Number.isInteger(s.index) || s.index < 0 || s.index >= d) throw new ConfigError(`class ${s.index} is not one of the output's ${d} features; give 0 to ${d - 1}.`, '--class');
    // A one-hot dot product: gather's gradient would need UnsortedSegmentSum.
    return features.dot(tf.oneHot(s.index, d).toFloat()) as tf.Scalar;
  }
  if (s.target.length !== features.shape[0]) throw new RangeError(`the target has ${s.target.length} values; the output has ${features.shape[0]}`);
  const t = tf.tensor1d(s.target);
  return features.div(features.norm()).dot(t.div(t.norm())).mul(s.scale) as tf.Scalar;
}

/**
 * One preprocessed image ([1, ...] in the model's layout) → each block's attention and the gradient of `score`
 * (of the pooled `output`) with respect to it. Runs on the best tfjs backend; leaks no tensors besides the cached graph.
 */
export async function attentionGrads(model: GradModel, image: { data: Float32Array; dims: number[] }, output: PooledOutput, score: AttentionScore): Promise<AttentionGrads> {
  if ((await tfjsBackend()) === 'wasm') {
    registerWasmTraining();
  }
  const { graph, attention } = await translated(model, output.name);
  const probs: tf.Tensor[] = [];
  const grads: tf.Tensor[] = [];
  const hooks = Object.fromEntries(
    attention.map((name, i) => {
      // Identity forward, recording the gradient that reaches the probabilities (summed over all their readers) on the way back.
      const watch = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
        value: (args[0] as tf.Tensor).clone(),
        gradFunc: (dy: tf.Tensor) => {
          grads[i] = tf.keep(dy.clone());
          return dy;
        },
      }));
      return [name, (t: tf.Tensor) => ((probs[i] = tf.keep(t.clone())), watch(t) as tf.Tensor)];
    }),
  );
  const x = tf.tensor(image.data, image.dims);
  let value: tf.Scalar | undefined;
  try {
    const { value: v, grad } = tf.valueAndGrad((px: tf.Tensor) => scoreOf(pooled(graph.run({ [graph.inputs[0]]: px }, hooks)[0], output), score))(x);
    value = v as tf.Scalar;
    grad.dispose();
    const missing = attention.filter((_, i) => !probs[i] || !grads[i]);
    if (missing.length) throw new BackboneError(`the score does not depend on attention tensor(s) ${missing.join(', ')}; they are not on the path to "${output.name}".`);
    const read = (t: tf.Tensor) => Float32Array.from(t.dataSync());
    return { attention: probs.map(read), grads: grads.map(read), dims: probs[0].shape, score: value.dataSync()[0] };
  } finally {
    tf.dispose([x, ...probs.filter(Boolean), ...grads.filter(Boolean), ...(value ? [value] : [])]);
  }
}
