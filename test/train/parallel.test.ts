import assert from 'node:assert/strict';
import test from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { evenStep, trainModel, splitAt, type Examples } from '../../src/train/loop.ts';
import { partGradients } from '../../src/train/gradients.ts';
import { GradientWorker, trainThreads, type ModelRecipe } from '../../src/train/parallel.ts';
import { tfjsBackend } from '../../src/runtime/tfjs.ts';
import { registerWasmTraining } from '../../src/runtime/training-kernels.ts';
import { seeded } from '../../src/util/rng.ts';
import { tinyConvModel } from '../fixtures/tiny-conv-model.ts';

const CLASSES = 3;
const recipe: ModelRecipe = { module: new URL('../fixtures/tiny-conv-model.ts', import.meta.url).href, export: 'tinyConvModel', args: [CLASSES, 7] };

function examples(n: number, seed: number): Examples {
  const rng = seeded(seed);
  const y = Int32Array.from({ length: n }, (_, i) => i % CLASSES);
  // Each class brightens its own channel, so the loss falls and the gradients are far from zero.
  const x = Float32Array.from({ length: n * 8 * 8 * 3 }, (_, j) => rng() + (j % 3 === y[Math.floor(j / 192)] ? 0.5 : 0));
  return { x, y };
}

async function wasm(): Promise<void> {
  await tfjsBackend('wasm');
  registerWasmTraining();
}

test('the rows a worker leaves to the main thread: half the batch (the worker the larger half), each half in passes as even as they can be', () => {
  // By hand: 16 rows split 8/8, 15 7/8, one row stays there; 8 rows at passes of at most 6 are 4 + 4, 7 are 4 + 3, 12 at 4 are 4 passes of 4, 5 at 8 one pass of 5.
  assert.deepEqual([splitAt(16), splitAt(15), splitAt(1)], [8, 7, 0]);
  assert.deepEqual([evenStep(8, 6), evenStep(7, 6), evenStep(12, 4), evenStep(5, 8), evenStep(16, 6)], [4, 4, 4, 5, 6]);
  assert.equal(trainThreads({}, 16), 2, 'two by default on two cores or more');
  assert.equal(trainThreads({}, 1), 1, 'one on one core');
  assert.equal(trainThreads({ REPROBE_TRAIN_THREADS: '2' }, 2), 2);
  assert.equal(trainThreads({ REPROBE_TRAIN_THREADS: '4' }, 16), 2, 'two halves at most');
  assert.equal(trainThreads({ REPROBE_TRAIN_THREADS: '2' }, 1), 1, 'not on one core');
  assert.equal(trainThreads({ REPROBE_TRAIN_THREADS: '1' }, 16), 1);
  assert.throws(() => trainThreads({ REPROBE_TRAIN_THREADS: 'two' }, 2), /whole number/);
});

test("a worker's gradients of some rows equal this thread's at the weights it is sent, within 1e-5", async () => {
  await wasm();
  const model = await tinyConvModel(CLASSES, 99); // other weights than the worker builds: only the sent ones count
  const worker = await GradientWorker.start(recipe, 'wasm');
  try {
    const { x, y } = examples(6, 3);
    const xt = tf.tensor(x, [6, 8, 8, 3]);
    const local = await partGradients(model, xt, y, 2, 16, CLASSES);
    const weights = await Promise.all(model.variables.map(async (v) => ((await v.data()) as Float32Array).slice()));
    const remote = await worker.gradients({ weights, x: x.slice(), shape: [6, 8, 8, 3], labels: y.slice(), step: 2, batchRows: 16, numClasses: CLASSES });
    assert.ok(Math.abs(remote.loss - local.loss) < 1e-5, `loss ${remote.loss} vs ${local.loss}`);
    assert.ok(local.loss > 0.1, 'a loss far from zero');
    for (const [i, g] of local.grads.entries()) {
      const want = await g!.data();
      const got = remote.grads[i]!;
      assert.equal(got.length, want.length);
      const diff = Math.max(...Array.from(want, (v, j) => Math.abs(v - got[j])));
      assert.ok(diff < 1e-5, `variable ${i}: max difference ${diff}`);
    }
    tf.dispose([xt, ...local.grads.filter((g): g is tf.Tensor => g !== undefined)]);
  } finally {
    model.dispose();
    await worker.dispose();
  }
});

async function trainTiny(secondThread?: ModelRecipe, maxEpochs = 2): Promise<{ curve: { train_loss: number; val_loss: number; val_accuracy: number }[]; weights: number[][]; threads: number }> {
  const model = await tinyConvModel(CLASSES, 7);
  try {
    const out = await trainModel(model, examples(22, 11), examples(6, 12), {
      optimizer: { name: 'sgd', lr: 0.5, weightDecay: 0 },
      batchSize: 8, // batches of 8, 8, 6: 4, 4 and 3 passes
      microBatch: 2,
      patience: 5,
      maxEpochs,
      numClasses: CLASSES,
      seed: 4,
      ...(secondThread ? { secondThread: { recipe: secondThread, backend: 'wasm' as const } } : {}),
    });
    return { curve: out.curve, weights: await Promise.all(model.variables.map(async (v) => Array.from(await v.data()))), threads: out.threads };
  } finally {
    model.dispose();
  }
}

function assertSameTraining(one: Awaited<ReturnType<typeof trainTiny>>, two: Awaited<ReturnType<typeof trainTiny>>): void {
  one.curve.forEach((l, e) => {
    assert.ok(Math.abs(l.train_loss - two.curve[e].train_loss) < 1e-4, `epoch ${e + 1} train loss ${l.train_loss} vs ${two.curve[e].train_loss}`);
    assert.ok(Math.abs(l.val_loss - two.curve[e].val_loss) < 1e-4, `epoch ${e + 1} val loss`);
    assert.equal(l.val_accuracy, two.curve[e].val_accuracy, `epoch ${e + 1} val accuracy`);
  });
  one.weights.forEach((w, i) => {
    const diff = Math.max(...w.map((v, j) => Math.abs(v - two.weights[i][j])));
    assert.ok(diff < 1e-4, `variable ${i}: max difference ${diff}`);
  });
}

test('a training thread that breaks mid-run, in a batch or in its half of the validation, leaves its rows to the main thread: one warning, the same training', async () => {
  await wasm();
  // The worker's passes in an epoch: 2 of each batch's 4, 4 and 3 (passes of 2 rows; the third batch's 2 and 1). Its 5th
  // throws in the third batch; after its 6th, the next is its half of the validation, the run's last with one epoch.
  for (const [failAfter, epochs] of [[4, 2], [6, 1]]) {
    const one = await trainTiny(undefined, epochs);
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      const broken = await trainTiny({ ...recipe, export: 'flakyTinyConvModel', args: [CLASSES, 7, failAfter] }, epochs);
      assertSameTraining(one, broken);
      assert.equal(broken.threads, 1, 'the outcome names one thread: the second did not train every batch');
      await new Promise((r) => setImmediate(r));
      assert.equal(warnings.filter((w) => /training thread failed: .*broke on purpose.*main thread only/.test(w)).length, 1, `failing after ${failAfter} passes: ${warnings.join('\n')}`);
    } finally {
      process.off('warning', onWarning);
    }
  }
});

test('training with a second thread gives the losses and updated weights of one thread within 1e-4 (SGD, passes of 2 in batches of 8)', async () => {
  await wasm();
  const one = await trainTiny();
  const start = (await tinyConvModel(CLASSES, 7)).variables;
  const moved = Math.max(...(await Promise.all(start.map(async (v, i) => Math.max(...Array.from(await v.data(), (a, j) => Math.abs(a - one.weights[i][j])))))));
  tf.dispose(start);
  assert.ok(moved > 1e-2, `training moved the weights (by ${moved})`);
  const two = await trainTiny(recipe);
  assertSameTraining(one, two);
  assert.deepEqual([one.threads, two.threads], [1, 2]);
});
