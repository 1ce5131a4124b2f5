import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { TrainingError } from '../../src/errors.ts';
import { augmenter } from '../../src/finetune/augment.ts';
import { CheckpointFile } from '../../src/train/checkpoint.ts';
import { observe, START } from '../../src/train/early-stopping.ts';
import type { TrainModel } from '../../src/train/head.ts';
import { trainModel, type Examples } from '../../src/train/loop.ts';
import { Optimizer } from '../../src/train/optimizer.ts';
import { seeded } from '../../src/util/rng.ts';
import { tempDir } from '../helpers.ts';

test('early stopping stops at exactly the best epoch + patience; an equal loss is no improvement', () => {
  const losses = [5, 4, 3, 3.5, 3, 3.1, 2.9, 3.0, 3.0, 3.2, 1.0];
  let s = START;
  const stops: number[] = [];
  losses.forEach((loss, i) => {
    const o = observe(s, i + 1, loss, 3);
    s = o.state;
    if (o.stop) stops.push(i + 1);
  });
  // Best 3 at epoch 3, then 3.5, 3 (equal), 3.1 would stop at 6; 2.9 at epoch 7 comes after, so the first stop is at 6.
  assert.equal(stops[0], 6);
  let t = START;
  for (const [i, loss] of [9, 8, 7.5, 7.6, 7.7].entries()) t = observe(t, i + 1, loss, 2).state;
  assert.deepEqual(t, { bestEpoch: 3, bestLoss: 7.5 });
  assert.equal(observe(t, 5, 7.8, 2).stop, true, '3 + 2');
  assert.equal(observe(t, 4, 7.8, 2).stop, false);
});

test("Adam's first step moves every weight by lr against its gradient's sign (PyTorch's rule); AdamW also decays", () => {
  const w = tf.variable(tf.tensor1d([1, -2, 3]));
  const adam = new Optimizer({ name: 'adam', lr: 0.1, weightDecay: 0 }, [w]);
  adam.apply([tf.tensor1d([0.5, -4, 0])]);
  const got = Array.from(w.dataSync());
  [0.9, -1.9, 3].forEach((v, i) => assert.ok(Math.abs(got[i] - v) < 1e-6, `adam ${got}`));
  const u = tf.variable(tf.tensor1d([2]));
  const adamw = new Optimizer({ name: 'adamw', lr: 0.1, weightDecay: 0.5 }, [u]);
  adamw.apply([tf.tensor1d([1])]);
  assert.ok(Math.abs(u.dataSync()[0] - (2 * (1 - 0.05) - 0.1)) < 1e-6, `adamw ${u.dataSync()[0]}`);
  tf.dispose([w, u]);
  adam.dispose();
  adamw.dispose();
});

/** A linear softmax classifier as a TrainModel, its weights drawn from the seed. */
function linearModel(d: number, k: number, seed: number): TrainModel {
  const rng = seeded(seed);
  const w = tf.variable(tf.tensor2d(Float32Array.from({ length: d * k }, () => (rng() - 0.5) * 0.2), [d, k]));
  const b = tf.variable(tf.zeros([k]));
  return { inputShape: [d], variables: [w, b], logits: (x) => tf.add(tf.matMul(x as tf.Tensor2D, w), b) as tf.Tensor2D, dispose: () => tf.dispose([w, b]) };
}

/** Noisy labels that a linear model overfits: validation loss falls, then rises. */
function noisy(n: number, d: number, k: number, seed: number): Examples {
  const rng = seeded(seed);
  const y = Int32Array.from({ length: n }, () => Math.floor(rng() * k));
  const x = Float32Array.from({ length: n * d }, (_, i) => (rng() - 0.5) + (i % d === y[Math.floor(i / d)] ? 0.4 : 0));
  return { x, y };
}

const SETTINGS = { optimizer: { name: 'adam' as const, lr: 0.05, weightDecay: 0 }, batchSize: 8, patience: 4, maxEpochs: 200, numClasses: 3, seed: 5 };

test('training stops at best + patience and hands back the best epoch\'s weights', async () => {
  await tf.setBackend('cpu');
  const model = linearModel(12, 3, 1);
  const seen = new Map<number, Float32Array[]>();
  const out = await trainModel(model, noisy(24, 12, 3, 2), noisy(30, 12, 3, 3), SETTINGS, {
    onEpoch: (log) => void seen.set(log.epoch, model.variables.map((v) => v.dataSync().slice() as Float32Array)),
  });
  assert.ok(out.bestEpoch > 1 && out.bestEpoch < out.epochs, `best ${out.bestEpoch} of ${out.epochs}: the loss fell, then rose`);
  assert.equal(out.epochs, out.bestEpoch + SETTINGS.patience);
  assert.ok(out.stoppedEarly);
  assert.equal(out.bestValLoss, Math.min(...out.curve.map((l) => l.val_loss)));
  model.variables.forEach((v, i) => assert.deepEqual(v.dataSync(), seen.get(out.bestEpoch)![i], 'best weights restored'));
  assert.notDeepEqual(seen.get(out.epochs)![0], seen.get(out.bestEpoch)![0]);
  model.dispose();
});

test('a run killed after an epoch and resumed from its checkpoint ends exactly as an uninterrupted one', async () => {
  await tf.setBackend('cpu');
  const [train, val] = [noisy(24, 12, 3, 2), noisy(30, 12, 3, 3)];
  const run = async (dir: string, killAt?: number) => {
    const model = linearModel(12, 3, 1);
    const file = new CheckpointFile(dir);
    try {
      const out = await trainModel(model, train, val, SETTINGS, {
        checkpoint: { config: 'c', load: () => file.load('c'), save: (c) => file.save(c) },
        onEpoch: (log) => {
          if (log.epoch === killAt) throw new Error('killed');
        },
      });
      return { out, weights: model.variables.map((v) => Array.from(v.dataSync())) };
    } finally {
      model.dispose();
    }
  };
  const whole = await run(tempDir('ft-whole-'));
  const dir = tempDir('ft-killed-');
  await assert.rejects(run(dir, 3), /killed/);
  assert.equal(await new CheckpointFile(dir).load('another config'), undefined, 'a checkpoint of other settings is not resumed');
  const resumed = await run(dir);
  assert.equal(resumed.out.resumedAt, 3);
  const strip = (o: typeof whole.out) => ({ ...o, resumedAt: 0, curve: o.curve.map(({ seconds: _s, ...l }) => l) });
  assert.deepEqual(strip(resumed.out), strip(whole.out));
  assert.deepEqual(resumed.weights, whole.weights);
});

test('a NaN in the training images is named as such, not as a learning rate to lower; a loss that diverges later still is', async () => {
  await tf.setBackend('cpu');
  const [train, val] = [noisy(24, 12, 3, 2), noisy(30, 12, 3, 3)];
  const bad = { ...train, x: train.x.slice() };
  bad.x.fill(NaN, 0, bad.x.length); // every image: the first batch, whatever the shuffle
  const model = linearModel(12, 3, 1);
  await assert.rejects(trainModel(model, bad, val, SETTINGS, {}), (e) => e instanceof TrainingError && /^The loss is NaN on the first batch, before any update: .*which no --learning-rate fixes\.$/.test(e.message));
  model.dispose();
  const diverging = linearModel(12, 3, 1);
  await assert.rejects(trainModel(diverging, train, val, { ...SETTINGS, optimizer: { name: 'adam' as const, lr: 1e38, weightDecay: 0 } }, {}), (e) => e instanceof TrainingError && /try a lower --learning-rate/.test(e.message));
  diverging.dispose();
});

test('a damaged checkpoint is one line naming the file and the damage, not "nothing to resume"', async () => {
  const dir = tempDir('ft-damaged-');
  const file = new CheckpointFile(dir);
  const w = [Float32Array.from([1, 2, 3])];
  await file.save({ config: 'c', epoch: 2, done: false, stop: START, curve: [], step: 4, weights: w, best: w, slots: [] });
  const path = join(dir, 'checkpoint.bin');
  const good = readFileSync(path);
  assert.ok(await file.load('c'), 'the whole file loads');
  const cases: [Buffer, RegExp][] = [
    [good.subarray(0, good.length - 4), /20 bytes of weights where its header lists 24/],
    [Buffer.concat([good.subarray(0, good.length - 1), Buffer.from([good[good.length - 1] ^ 1])]), /does not match its sha256/],
    [Buffer.from([1, 0]), /2 bytes, less than its header/],
    [Buffer.concat([good.subarray(0, 4), Buffer.from('x'.repeat(good.readUInt32LE(0)))]), /header is not JSON/],
  ];
  for (const [bytes, why] of cases) {
    writeFileSync(path, bytes);
    await assert.rejects(file.load('c'), (e) => e instanceof TrainingError && e.message.startsWith(`${path}: damaged checkpoint: `) && why.test(e.message), String(why));
  }
  rmSync(path);
  assert.equal(await file.load('c'), undefined, 'no checkpoint: nothing to resume');
});

test('augmentation: seeded random resized crops and flips, the same for the same seed, in either layout', async () => {
  await tf.setBackend('cpu');
  const img = tf.tensor4d(Float32Array.from({ length: 2 * 8 * 10 * 3 }, (_, i) => i % 97), [2, 8, 10, 3]);
  const aug = augmenter('NHWC');
  const a = aug(img, seeded(4)).arraySync();
  assert.deepEqual(aug(img, seeded(4)).arraySync(), a, 'same seed, same views');
  assert.notDeepEqual(aug(img, seeded(5)).arraySync(), a);
  assert.deepEqual(aug(img, seeded(4)).shape, [2, 8, 10, 3]);
  // NCHW goes through the same crops.
  const nchw = augmenter('NCHW')(img.transpose([0, 3, 1, 2]), seeded(4));
  assert.deepEqual(nchw.transpose([0, 2, 3, 1]).arraySync(), a);
  img.dispose();
});

test('micro-batches sum to the batch\'s gradient: the same training, a smaller peak', async () => {
  await tf.setBackend('cpu');
  const [train, val] = [noisy(24, 12, 3, 2), noisy(30, 12, 3, 3)];
  const run = async (microBatch?: number) => {
    const model = linearModel(12, 3, 1);
    const out = await trainModel(model, train, val, { ...SETTINGS, maxEpochs: 3, ...(microBatch ? { microBatch } : {}) });
    const w = model.variables.map((v) => Array.from(v.dataSync()));
    model.dispose();
    return { out, w };
  };
  const [whole, parts] = [await run(), await run(3)];
  whole.w.flat().forEach((v, i) => assert.ok(Math.abs(v - parts.w.flat()[i]) < 1e-5, `weight ${i}: ${v} vs ${parts.w.flat()[i]}`));
  whole.out.curve.forEach((l, i) => assert.ok(Math.abs(l.val_loss - parts.out.curve[i].val_loss) < 1e-5));
});
