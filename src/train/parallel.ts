import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { TrainingError } from '../errors.ts';
import type { TfBackendChoice } from '../runtime/tfjs.ts';

/**
 * How to build a TrainModel in another thread: a module (URL), its export and JSON-able arguments. The export
 * returns the same model as the main thread's, variables in the same order (their values are sent each step).
 */
export interface ModelRecipe {
  module: string;
  export: string;
  args: unknown[];
}

export type GradientRequest =
  | { kind: 'init'; id: number; recipe: ModelRecipe; backend: TfBackendChoice }
  | { kind: 'step'; id: number; weights: Float32Array[]; x: Float32Array; shape: number[]; labels: Int32Array; step: number; batchRows: number; numClasses: number }
  | { kind: 'eval'; id: number; weights: Float32Array[]; x: Float32Array; labels: Int32Array; batchSize: number; numClasses: number };

/** A step's gradients and loss share; an evaluation's summed loss and correct rows (no gradients). */
type Answer = { loss: number; grads: (Float32Array | undefined)[]; correct?: number };
export type GradientReply = ({ id: number } & Answer) | { id: number; error: string };

/**
 * Training threads: 2 on a machine of two cores or more, else 1; REPROBE_TRAIN_THREADS=1 keeps one. On 2 idle cores
 * (bench:finetune, each thread giving onnxruntime's products one core) MobileNetV2 `all` took 6.9-7.2 s an epoch
 * against 8.4-8.8 on one thread, InceptionV3 `last:1` 5.7 against 7.3, for 0.7 GB more memory; on a shared host
 * (load 10, Linux autogroup) it took as long as one thread, not longer (docs/benchmarks.md).
 */
export function trainThreads(env: NodeJS.ProcessEnv = process.env, cores = availableParallelism()): number {
  const v = env.REPROBE_TRAIN_THREADS;
  const n = v === undefined || v === '' ? 2 : Number(v);
  if (!Number.isInteger(n) || n < 1) throw new TrainingError(`REPROBE_TRAIN_THREADS is "${v}"; it takes a whole number of threads, 1 or more (2: half of each batch in a second thread).`);
  return Math.min(n, 2, Math.max(cores, 1));
}

/** onnxruntime threads per training thread for the matrix products (src/runtime/training-kernels.ts): the cores shared out. */
export function gemmThreadsPer(threads: number, cores = availableParallelism()): number {
  return Math.max(1, Math.floor(Math.max(cores, 1) / threads));
}

/**
 * A worker thread with its own tfjs backend and copy of the model: given the current weights and some rows of a batch,
 * it returns their gradients, which the main thread adds to its own half's before the optimizer step; given the
 * weights after an epoch and half the validation rows, their summed loss and correct count (evaluate). Data-parallel
 * training on two cores, as exact as summing the passes in one thread (the sum's order differs, nothing else):
 * everything random (shuffle, augmentation) is drawn on the main thread before the batch is split, and batch norm
 * runs on its running statistics, which training never changes.
 */
export class GradientWorker {
  private next = 0;
  private readonly pending = new Map<number, { resolve: (r: Answer) => void; reject: (e: Error) => void }>();
  private failure?: Error;
  private stopped = false;

  /** False once the thread has failed or been stopped: its rows are then this thread's. */
  get working(): boolean {
    return this.failure === undefined;
  }

  private constructor(private readonly worker: Worker) {
    const fail = (why: string) => {
      if (!this.failure) {
        this.failure = new TrainingError(`The second training thread ${why}.`);
        if (!this.stopped) process.emitWarning(`training thread ${why}; training on the main thread only (slower, same result)`);
        void worker.terminate();
      }
      for (const p of this.pending.values()) p.reject(this.failure);
      this.pending.clear();
    };
    worker.on('message', (reply: GradientReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      if ('error' in reply) return fail(`failed: ${reply.error.split('\n')[0]}`);
      this.pending.delete(reply.id);
      p.resolve(reply);
    });
    worker.on('error', (err) => fail(`failed: ${err.message}`));
    worker.on('exit', (code) => fail(`exited (code ${code})`));
  }

  /** Starts the thread and builds its model (its first request); one that fails to is not working (and has warned). */
  static async start(recipe: ModelRecipe, backend: TfBackendChoice): Promise<GradientWorker> {
    // The worker loads TypeScript through tsx, as bin/reprobe.mjs does for the main thread.
    const tsx = import.meta.resolve('tsx/esm/api');
    const body = new URL('./gradient-worker.ts', import.meta.url).href;
    const w = new GradientWorker(new Worker(`import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(body)}); });`, { eval: true }));
    await w.request({ kind: 'init', id: 0, recipe, backend }).catch(() => undefined);
    return w;
  }

  /** Gradients (in the model's variable order) and loss share of the rows in x at these weights; x and the weights move to the thread (their buffers are transferred). */
  gradients(r: Omit<Extract<GradientRequest, { kind: 'step' }>, 'kind' | 'id'>): Promise<{ loss: number; grads: (Float32Array | undefined)[] }> {
    return this.request({ kind: 'step', id: 0, ...r }, [r.x, ...r.weights].map((a) => a.buffer as ArrayBuffer));
  }

  /** Cross-entropy summed over the rows in x and how many it classifies right, at these weights (evalSums); x and the weights move to the thread. */
  async evaluate(r: Omit<Extract<GradientRequest, { kind: 'eval' }>, 'kind' | 'id'>): Promise<{ loss: number; correct: number }> {
    const a = await this.request({ kind: 'eval', id: 0, ...r }, [r.x, ...r.weights].map((w) => w.buffer as ArrayBuffer));
    if (a.correct === undefined) throw new TrainingError('The second training thread answered an evaluation without its correct count.');
    return { loss: a.loss, correct: a.correct };
  }

  private request(req: GradientRequest, transfer: ArrayBuffer[] = []): Promise<Answer> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...req, id }, transfer);
    });
  }

  async dispose(): Promise<void> {
    this.stopped = true;
    this.failure ??= new TrainingError('The second training thread was stopped.');
    await this.worker.terminate();
  }
}
