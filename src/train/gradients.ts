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

/**
 * A set's evaluation, or a share of it: cross-entropy summed over the rows of x (flat, each row model.inputShape) and
 * how many rows' top logit is their class, in batches of `batchSize` rows.
 */
export async function evalSums(model: TrainModel, x: Float32Array, labels: Int32Array, batchSize: number, numClasses: number): Promise<{ loss: number; correct: number }> {
  const d = model.inputShape.reduce((a, b) => a * b, 1);
  let loss = 0;
  let correct = 0;
  for (let start = 0; start < labels.length; start += batchSize) {
    const k = Math.min(batchSize, labels.length - start);
    const y = labels.subarray(start, start + k);
    const [l, p] = tf.tidy(() => {
      const logits = model.logits(tf.tensor(x.subarray(start * d, (start + k) * d), [k, ...model.inputShape]));
      return [crossEntropy(logits, y, numClasses).sum(), logits.argMax(1)];
    });
    loss += (await l.data())[0];
    const pred = await p.data();
    y.forEach((c, i) => (correct += pred[i] === c ? 1 : 0));
    tf.dispose([l, p]);
  }
  return { loss, correct };
}

/** Per-example softmax cross-entropy against the classes in y (one per row of the logits). */
function crossEntropy(logits: tf.Tensor, y: Int32Array, numClasses: number): tf.Tensor1D {
  const labels = tf.oneHot(tf.tensor1d(y, 'int32'), numClasses);
  return tf.losses.softmaxCrossEntropy(labels, logits, undefined, 0, tf.Reduction.NONE) as tf.Tensor1D;
}
