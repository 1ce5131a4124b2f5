import * as tf from '@tensorflow/tfjs';
import type { TrainModel } from './head.ts';

/**
 * Gradients of a batch's mean cross-entropy with respect to model.variables (in their order) from some of its rows, in
 * passes of `step` rows summed: x holds those rows, `labels` their classes, `batchRows` the whole batch's size (the
 * mean's divisor). Also the rows' share of the batch's mean loss. Exact to summation order: batch norm uses no batch
 * statistics, so the passes and the rows' split between threads change no term.
 */
export async function partGradients(model: TrainModel, x: tf.Tensor, labels: Int32Array, step: number, batchRows: number, numClasses: number): Promise<{ loss: number; grads: (tf.Tensor | undefined)[] }> {
  const n = labels.length;
  let loss = 0;
  let total: (tf.Tensor | undefined)[] | undefined;
  for (let m = 0; m < n; m += step) {
    const k = Math.min(step, n - m);
    const xm = k === x.shape[0] ? x : x.slice(m, k);
    const y = labels.subarray(m, m + k);
    const mean = (ce: tf.Tensor1D) => (k === batchRows ? ce.mean() : ce.sum().div(batchRows)) as tf.Scalar;
    const { value, grads } = tf.variableGrads(() => tf.tidy(() => mean(crossEntropy(model.logits(xm), y, numClasses))), model.variables);
    if (xm !== x) xm.dispose();
    loss += (await value.data())[0];
    value.dispose();
    const g = model.variables.map((v) => grads[v.name]);
    // A variable the loss does not reach has no gradient; the optimizer names it.
    const extra = Object.entries(grads).filter(([name]) => !model.variables.some((v) => v.name === name));
    tf.dispose(extra.map(([, t]) => t));
    if (!total) total = g;
    else {
      const prev = total;
      total = prev.map((t, i) => (t && g[i] ? tf.add(t, g[i]) : (t ?? g[i])));
      tf.dispose(prev.flatMap((t, i) => (t && g[i] ? [t, g[i]] : [])));
    }
  }
  return { loss, grads: total ?? [] };
}

/** Per-example softmax cross-entropy against the classes in y (one per row of the logits). */
export function crossEntropy(logits: tf.Tensor, y: Int32Array, numClasses: number): tf.Tensor1D {
  const labels = tf.oneHot(tf.tensor1d(y, 'int32'), numClasses);
  return tf.losses.softmaxCrossEntropy(labels, logits, undefined, 0, tf.Reduction.NONE) as tf.Tensor1D;
}
