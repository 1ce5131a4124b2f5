import * as tf from '@tensorflow/tfjs';
import { TrainingError } from '../errors.ts';
import { seeded, shuffled, type Rng } from '../util/rng.ts';
import type { Checkpoint, EpochLog } from './checkpoint.ts';
import { observe, START, type StopState } from './early-stopping.ts';
import type { TrainModel } from './head.ts';
import { Optimizer, type OptimizerSettings } from './optimizer.ts';
import { evalSums, partGradients } from './gradients.ts';
import { GradientWorker, type ModelRecipe } from './parallel.ts';
import type { TfBackendChoice } from '../runtime/tfjs.ts';

/** Examples as rows of one flat array: row i is x[i*d .. (i+1)*d) with d = the model's input size. */
export interface Examples {
  x: Float32Array;
  y: Int32Array;
}

export interface TrainSettings {
  optimizer: OptimizerSettings;
  batchSize: number;
  patience: number;
  maxEpochs: number;
  numClasses: number;
  /** Seeds each epoch's shuffle and augmentation (the head's initial weights are seeded where the model is built). */
  seed: number;
  /** Images per forward/backward pass, their gradients summed into the batch's (memory, not results: default the batch). */
  microBatch?: number;
  /**
   * Where set, a worker thread builds the same model from this recipe and computes half of each batch's gradients
   * (see GradientWorker): the batch is split at a pass boundary, or in two when it is one pass; and the later half of
   * each epoch's validation rows.
   */
  secondThread?: { recipe: ModelRecipe; backend: TfBackendChoice };
  /** Transforms each training batch (augmentation), drawing from a generator seeded by (seed, epoch). */
  augment?: (x: tf.Tensor, rng: Rng) => tf.Tensor;
}

export interface TrainHooks {
  /** After each epoch (for epochs.jsonl and progress); awaited before the next. */
  onEpoch?(log: EpochLog, curve: readonly EpochLog[]): Promise<void> | void;
  /** Checkpoints: loaded once at the start (to resume), saved after every epoch. */
  checkpoint?: { load(): Promise<Checkpoint | undefined>; save(c: Checkpoint): Promise<void>; config: string };
}

export interface TrainOutcome {
  epochs: number;
  bestEpoch: number;
  bestValLoss: number;
  stoppedEarly: boolean;
  curve: EpochLog[];
  /** Epochs taken from a checkpoint (0 when the run started fresh). */
  resumedAt: number;
  /** Threads that trained every batch: 2 when a second thread ran to the end, else 1 (it was not asked for, or failed). */
  threads: number;
}

/**
 * Mini-batch training with validation every epoch and early stopping on validation loss (best epoch + patience);
 * the best epoch's weights are in the model when it returns. Each epoch's order is shuffled by (seed, epoch), so a
 * run resumed from its checkpoint takes the same steps as one never stopped.
 */
export async function trainModel(model: TrainModel, train: Examples, val: Examples, s: TrainSettings, hooks: TrainHooks = {}): Promise<TrainOutcome> {
  const d = model.inputShape.reduce((a, b) => a * b, 1);
  const n = train.y.length;
  if (n === 0) throw new TrainingError('No training examples.');
  if (val.y.length === 0) throw new TrainingError('Early stopping needs validation images; the split has none (raise --val-per-class).');
  const opt = new Optimizer(s.optimizer, model.variables);
  let stop: StopState = START;
  let curve: EpochLog[] = [];
  let best = await snapshot(model.variables);
  let epoch = 0;
  let done = false;
  const saved = await hooks.checkpoint?.load();
  if (saved) {
    const fits = (arrays: Float32Array[]) => arrays.length === model.variables.length && arrays.every((a, i) => a.length === model.variables[i].size);
    if (!fits(saved.weights) || !fits(saved.best)) throw new TrainingError(`The checkpoint in this run's folder does not fit the model; run without --resume to start over.`);
    restore(model.variables, saved.weights);
    const slots = saved.slots.map((a, i) => tf.tensor(a, opt.state().tensors[i].shape));
    opt.restore(saved.step, slots);
    tf.dispose(slots);
    ({ epoch, stop, curve, best, done } = { ...saved, curve: saved.curve.slice() });
  }
  const resumedAt = epoch;
  const worker = s.secondThread ? await GradientWorker.start(s.secondThread.recipe, s.secondThread.backend) : undefined;
  let threads = 1;
  // (A thread that fails to start or dies leaves its rows to this one, with one warning: the same training, slower.)
  try {
    while (!done && epoch < s.maxEpochs) {
      epoch += 1;
      const t0 = performance.now();
      const rng = seeded((s.seed + Math.imul(epoch, 0x9e3779b1)) >>> 0);
      const order = shuffled(
        Array.from({ length: n }, (_, i) => i),
        rng,
      );
      let lossSum = 0;
      for (let start = 0; start < n; start += s.batchSize) {
        const rows = order.slice(start, start + s.batchSize);
        const x = tf.tidy(() => (s.augment ? s.augment(batch(train, rows, d, model.inputShape), rng) : batch(train, rows, d, model.inputShape)));
        const { loss: batchLoss, grads } = await batchGradients(model, x, Int32Array.from(rows, (r) => train.y[r]), s.microBatch ?? rows.length, s.numClasses, worker);
        x.dispose();
        // Before any update a non-finite loss is the inputs' or the model's, not the learning rate's.
        if (epoch === 1 && start === 0 && !Number.isFinite(batchLoss)) {
          tf.dispose(grads.filter((g): g is tf.Tensor => g !== undefined));
          throw new TrainingError(`The loss is ${batchLoss} on the first batch, before any update: the model's outputs on the training images are not finite (NaN or Inf in the images or in the model), which no --learning-rate fixes.`);
        }
        lossSum += batchLoss * rows.length;
        try {
          opt.apply(grads);
        } finally {
          tf.dispose(grads.filter((g): g is tf.Tensor => g !== undefined));
        }
      }
      // Validation in passes no larger than training's: the forward pass keeps its activations until the pass ends.
      const v = await evaluate(model, val, Math.min(s.batchSize * 4, s.microBatch ?? Infinity), s.numClasses, worker);
      if (!Number.isFinite(lossSum) || !Number.isFinite(v.loss)) throw new TrainingError(`The loss became ${Number.isFinite(lossSum) ? v.loss : lossSum / n} at epoch ${epoch}; try a lower --learning-rate (or --weight-decay).`);
      const o = observe(stop, epoch, v.loss, s.patience);
      stop = o.state;
      if (o.improved) best = await snapshot(model.variables);
      done = o.stop || epoch >= s.maxEpochs;
      const log: EpochLog = { epoch, train_loss: lossSum / n, val_loss: v.loss, val_accuracy: v.accuracy, best_epoch: stop.bestEpoch, seconds: Math.round(performance.now() - t0) / 1000 };
      curve.push(log);
      if (hooks.checkpoint) {
        const st = opt.state();
        await hooks.checkpoint.save({ config: hooks.checkpoint.config, epoch, done, stop, curve, step: st.step, weights: await snapshot(model.variables), best, slots: await Promise.all(st.tensors.map(async (t) => (await t.data()) as Float32Array)) });
      }
      await hooks.onEpoch?.(log, curve);
    }
  } finally {
    // Asked before dispose(), which stops it.
    threads = worker?.working ? 2 : 1;
    opt.dispose();
    await worker?.dispose();
  }
  restore(model.variables, best);
  return { epochs: epoch, bestEpoch: stop.bestEpoch, bestValLoss: stop.bestLoss, stoppedEarly: epoch - stop.bestEpoch >= s.patience, curve, resumedAt, threads };
}

/**
 * Mean cross-entropy and accuracy over a set, in batches. With a working second thread, it evaluates the later half at
 * the same weights while this thread does the first (the sums' order differs, nothing else); if it fails, its half is
 * done here.
 */
async function evaluate(model: TrainModel, set: Examples, batchSize: number, numClasses: number, worker?: GradientWorker): Promise<{ loss: number; accuracy: number }> {
  const n = set.y.length;
  if (n === 0) return { loss: NaN, accuracy: NaN };
  const d = model.inputShape.reduce((a, b) => a * b, 1);
  const split = worker?.working && n >= 2 ? splitAt(n) : n;
  const [restX, restY] = [set.x.subarray(split * d), set.y.subarray(split)];
  // Its failure is handled at once (undefined), not only once this thread's half is done: no unhandled rejection.
  const remote = split < n ? worker!.evaluate({ weights: await snapshot(model.variables), x: restX.slice(), labels: restY.slice(), batchSize, numClasses }).catch(() => undefined) : undefined;
  const local = await evalSums(model, set.x.subarray(0, split * d), set.y.subarray(0, split), batchSize, numClasses);
  const other = split < n ? ((await remote) ?? (await evalSums(model, restX, restY, batchSize, numClasses))) : { loss: 0, correct: 0 };
  return { loss: (local.loss + other.loss) / n, accuracy: (local.correct + other.correct) / n };
}

/** Predicted classes of every row. */
export async function predict(model: TrainModel, x: Float32Array, batchSize: number): Promise<Int32Array> {
  const d = model.inputShape.reduce((a, b) => a * b, 1);
  const n = x.length / d;
  const out = new Int32Array(n);
  for (let start = 0; start < n; start += batchSize) {
    const m = Math.min(batchSize, n - start);
    const p = tf.tidy(() => model.logits(tf.tensor(x.subarray(start * d, (start + m) * d), [m, ...model.inputShape])).argMax(1));
    out.set(await p.data(), start);
    p.dispose();
  }
  return out;
}

/**
 * The batch's mean loss and its gradient (model.variables' order), summed over passes of `step` rows. With a worker,
 * the later passes run there at the same weights while this thread runs the first ones.
 */
async function batchGradients(model: TrainModel, x: tf.Tensor, labels: Int32Array, step: number, numClasses: number, worker?: GradientWorker): Promise<{ loss: number; grads: (tf.Tensor | undefined)[] }> {
  const n = labels.length;
  const split = worker?.working ? splitAt(n) : n;
  if (split === 0 || split === n) return partGradients(model, x, labels, step, n, numClasses);
  const weights = await snapshot(model.variables);
  const rest = x.slice(split, n - split);
  const data = ((await rest.data()) as Float32Array).slice();
  const shape = rest.shape;
  rest.dispose();
  // Its failure is handled at once (undefined), not only once this thread's half is done: no unhandled rejection.
  const remote = worker!.gradients({ weights, x: data, shape, labels: labels.slice(split), step: evenStep(n - split, step), batchRows: n, numClasses }).catch(() => undefined);
  const first = x.slice(0, split);
  let local: { loss: number; grads: (tf.Tensor | undefined)[] };
  try {
    local = await partGradients(model, first, labels.subarray(0, split), evenStep(split, step), n, numClasses);
  } finally {
    first.dispose();
  }
  const r = await remote;
  let other: { loss: number; grads: (tf.Tensor | undefined)[] };
  if (r) other = { loss: r.loss, grads: r.grads.map((g, i) => (g ? tf.tensor(g, model.variables[i].shape) : undefined)) };
  else {
    // The thread failed (its warning is out): its rows here, at the same weights (the optimizer has not stepped).
    const later = x.slice(split, n - split);
    try {
      other = await partGradients(model, later, labels.subarray(split), step, n, numClasses);
    } finally {
      later.dispose();
    }
  }
  const grads = local.grads.map((g, i) => {
    const o = other.grads[i];
    if (!g || !o) return g ?? o;
    const sum = tf.add(g, o);
    tf.dispose([g, o]);
    return sum;
  });
  return { loss: local.loss + other.loss, grads };
}

/** Rows this thread takes when a worker takes the rest: half the passes (the worker the larger half), or half a single pass. */
export function splitAt(n: number): number {
  return Math.floor(n / 2);
}

/** Passes of at most `step` rows over `rows`, as even as they can be (8 rows at 6: 4 and 4, not 6 and 2). */
export function evenStep(rows: number, step: number): number {
  return Math.ceil(rows / Math.ceil(rows / step));
}

function batch(set: Examples, rows: readonly number[], d: number, shape: number[]): tf.Tensor {
  const buf = new Float32Array(rows.length * d);
  rows.forEach((r, i) => buf.set(set.x.subarray(r * d, (r + 1) * d), i * d));
  return tf.tensor(buf, [rows.length, ...shape]);
}

async function snapshot(vars: readonly tf.Variable[]): Promise<Float32Array[]> {
  return Promise.all(vars.map(async (v) => ((await v.data()) as Float32Array).slice()));
}

function restore(vars: readonly tf.Variable[], values: readonly Float32Array[]): void {
  vars.forEach((v, i) => {
    const t = tf.tensor(values[i], v.shape);
    v.assign(t);
    t.dispose();
  });
}

/** Logits of every row, [n, classes] row-major (for top-k and scores). */
export async function predictLogits(model: TrainModel, x: Float32Array, batchSize: number): Promise<Float32Array> {
  const d = model.inputShape.reduce((a, b) => a * b, 1);
  const n = x.length / d;
  const parts: Float32Array[] = [];
  for (let start = 0; start < n; start += batchSize) {
    const m = Math.min(batchSize, n - start);
    const l = tf.tidy(() => model.logits(tf.tensor(x.subarray(start * d, (start + m) * d), [m, ...model.inputShape])));
    parts.push((await l.data()) as Float32Array);
    l.dispose();
  }
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
