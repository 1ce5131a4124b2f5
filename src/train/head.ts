import * as tf from '@tensorflow/tfjs';

/** A classifier being trained: logits for a batch, and the variables training changes. */
export interface TrainModel {
  /** Shape of one example (no batch dimension). */
  inputShape: number[];
  variables: tf.Variable[];
  /** Batch → [n, classes] logits; batch norm on its running statistics, dropout off (what frozen features assume). */
  logits(x: tf.Tensor): tf.Tensor2D;
  dispose(): void;
  /** Bytes of the layer outputs one example's forward pass makes (what a backward pass keeps), where known. */
  activationBytes?: number;
}

/** A new linear classifier: glorot-uniform weights from the seed and a zero bias, as Keras' Dense starts (PyTorch's Linear draws kaiming-uniform). */
export interface LinearHead {
  variables: tf.Variable[];
  apply(features: tf.Tensor): tf.Tensor2D;
  dispose(): void;
}

/** Variable names must be unique in a tfjs process. */
let heads = 0;

export function linearHead(inputs: number, classes: number, seed: number): LinearHead {
  const id = heads++;
  const [w, b] = tf.tidy(() => [tf.variable(tf.initializers.glorotUniform({ seed }).apply([inputs, classes]) as tf.Tensor2D, true, `head${id}/kernel`), tf.variable(tf.zeros([classes]), true, `head${id}/bias`)]);
  return {
    variables: [w, b],
    apply: (x) => tf.add(tf.matMul(x.reshape([x.shape[0], -1]), w), b) as tf.Tensor2D,
    dispose: () => tf.dispose([w, b]),
  };
}

/** A new linear head on fixed features: what `--train head` trains. */
export function headModel(inputs: number, classes: number, seed: number): TrainModel {
  const head = linearHead(inputs, classes, seed);
  return { inputShape: [inputs], variables: head.variables, logits: (x) => head.apply(x), dispose: () => head.dispose() };
}

/**
 * PRO's head (shared/study/002): cosine similarity between the L2-normalised input and L2-normalised class vectors,
 * times a learnable temperature exp(t). Started from the class text embeddings and CLIP's logit scale, its first
 * predictions are exactly zero-shot's; training moves both.
 */
export function cosineHeadModel(classVectors: Float32Array, classes: number, logitScale: number): TrainModel {
  const d = classVectors.length / classes;
  const id = heads++;
  const [w, t] = tf.tidy(() => [tf.variable(tf.tensor2d(classVectors, [classes, d]), true, `cos${id}/classes`), tf.variable(tf.scalar(Math.log(logitScale)), true, `cos${id}/log_scale`)]);
  const unit = (m: tf.Tensor2D) => tf.div(m, tf.maximum(tf.norm(m, 'euclidean', 1, true), 1e-12)) as tf.Tensor2D;
  return {
    inputShape: [d],
    variables: [w, t],
    logits: (x) => tf.mul(tf.matMul(unit(x.reshape([x.shape[0], d])), unit(w), false, true), tf.exp(t)) as tf.Tensor2D,
    dispose: () => tf.dispose([w, t]),
  };
}
