// Worker-thread body of train/parallel.ts: its own tfjs (and wasm heap), its own copy of the model built from a recipe,
// and per request, at the weights the main thread sends, the gradients of some rows of a batch or the summed loss and
// correct count of some validation rows.
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { registerWasmTraining } from '../runtime/training-kernels.ts';
import { tfjsBackend, type TfBackendChoice } from '../runtime/tfjs.ts';
import { evalSums, partGradients } from './gradients.ts';
import type { TrainModel } from './head.ts';
import { gemmThreadsPer, type GradientRequest, type GradientReply, type ModelRecipe } from './parallel.ts';

let model: TrainModel | undefined;

async function build(recipe: ModelRecipe, backend: TfBackendChoice): Promise<TrainModel> {
  // This thread is the second of two: half the cores for its matrix products.
  if ((await tfjsBackend(backend)) === 'wasm') registerWasmTraining({ gemmThreads: gemmThreadsPer(2) });
  const mod = (await import(recipe.module)) as Record<string, (...args: unknown[]) => Promise<TrainModel>>;
  return mod[recipe.export](...recipe.args);
}

async function answer(req: GradientRequest): Promise<Exclude<GradientReply, { error: string }>> {
  if (req.kind === 'init') {
    model = await build(req.recipe, req.backend);
    return { id: req.id, loss: 0, grads: [] };
  }
  const m = model!;
  if (req.weights.length !== m.variables.length) throw new Error(`the worker's model has ${m.variables.length} trained variables, the main thread's ${req.weights.length}`);
  m.variables.forEach((v, i) => {
    const t = tf.tensor(req.weights[i], v.shape);
    v.assign(t);
    t.dispose();
  });
  if (req.kind === 'eval') return { id: req.id, grads: [], ...(await evalSums(m, req.x, req.labels, req.batchSize, req.numClasses)) };
  const x = tf.tensor(req.x, req.shape);
  try {
    const { loss, grads } = await partGradients(m, x, req.labels, req.step, req.batchRows, req.numClasses);
    // wasm's data() is a copy of its heap, cpu's may be the tensor's own store (which a transfer would detach).
    const own = tf.getBackend() === 'wasm' ? (a: Float32Array) => a : (a: Float32Array) => a.slice();
    const out = await Promise.all(grads.map(async (g) => (g ? own((await g.data()) as Float32Array) : undefined)));
    tf.dispose(grads.filter((g): g is tf.Tensor => g !== undefined));
    return { id: req.id, loss, grads: out };
  } finally {
    x.dispose();
  }
}

parentPort!.on('message', (req: GradientRequest) => {
  answer(req).then(
    (reply) => parentPort!.postMessage(reply, reply.grads.flatMap((g) => (g ? [g.buffer as ArrayBuffer] : []))),
    (err: unknown) => parentPort!.postMessage({ id: req.id, error: String((err as Error)?.stack ?? err) }),
  );
});
