import assert from 'node:assert/strict';
import test from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { resolveCard, openBackbone } from '../../src/backbones/registry.ts';
import { kerasBlocks } from '../../src/backbones/keras/blocks.ts';
import { loadNsfwjsModel } from '../../src/backbones/keras/nsfwjs-files.ts';
import { tfjsBackend } from '../../src/runtime/tfjs.ts';
import type { KerasCard } from '../../src/backbones/types.ts';
import { loadMnist } from '../../src/data/mnist.ts';
import { extractFeatures } from '../../src/features/extract.ts';
import { kerasTrainModel } from '../../src/finetune/keras-model.ts';
import { trainModel } from '../../src/train/loop.ts';
import { registerWasmTraining } from '../../src/runtime/training-kernels.ts';
import { finetuneMethod } from '../../src/finetune/method.ts';
import type { ImageCell } from '../../src/method/contract.ts';
import type { Dataset } from '../../src/data/types.ts';

const mobilenet = resolveCard('mobilenet-v2') as KerasCard;

test('MobileNetV2 blocks: the stem, block 0, then each inverted residual ends at its add exactly when it has a shortcut', () => {
  const blocks = kerasBlocks(loadNsfwjsModel(mobilenet.source.model), mobilenet.blocks, mobilenet.tap);
  // The paper's table 2: blocks with stride 1 and unchanged width add their input (2, 4, 5, 7, 8, 9, 11, 12 up to 13).
  const residual = new Set([2, 4, 5, 7, 8, 9, 11, 12]);
  const expected = ['Conv1_relu', 'expanded_conv_project_BN', ...Array.from({ length: 12 }, (_, i) => `block_${i + 1}_${residual.has(i + 1) ? 'add' : 'project_BN'}`), 'block_13_expand_relu'];
  assert.deepEqual(blocks.map((b) => b.end), expected);
  assert.equal(blocks.flatMap((b) => b.layers).length, loadNsfwjsModel(mobilenet.source.model).layers.findIndex((l) => l.name === mobilenet.tap));
  assert.throws(() => kerasBlocks(loadNsfwjsModel(mobilenet.source.model), mobilenet.blocks, 'block_12_project_BN'), /not a cut point/);
});

/** 3 MNIST digits per class to train on, 1 per class to validate. */
async function digits() {
  const ds = await loadMnist();
  const byClass = (k: number, from: number, n: number) => ds.samples.map((s, i) => [s.label, i] as const).filter(([l]) => l === k).slice(from, from + n).map(([, i]) => i);
  const pick = (from: number, n: number) => Array.from({ length: 10 }, (_, k) => byClass(k, from, n)).flat();
  return { ds, train: pick(0, 3), val: pick(3, 1) };
}

test('the cached frozen prefix (activations from onnxruntime) trains the same head as running the whole network in tfjs', async () => {
  const backend = await tfjsBackend();
  if (backend === 'wasm') registerWasmTraining();
  const { ds, train, val } = await digits();
  const files = loadNsfwjsModel(mobilenet.source.model);
  const cut = 'block_12_add';
  const rows = async (layer: string, idx: number[]) => {
    const bb = await openBackbone('mobilenet-v2', { runtime: 'onnx', layer, unpooled: true });
    try {
      const ext = await extractFeatures(bb, idx.map((i) => ds.samples[i]), { batchSize: 16 });
      return { x: ext.features.data as Float32Array, y: Int32Array.from(idx, (i) => ds.samples[i].label) };
    } finally {
      await bb.dispose();
    }
  };
  const settings = { optimizer: { name: 'adam' as const, lr: 1e-3, weightDecay: 0 }, batchSize: 8, patience: 10, maxEpochs: 3, numClasses: 10, seed: 3 };
  const trainOn = async (from: string) => {
    const model = await kerasTrainModel(files, { from, trainAfter: cut, tap: mobilenet.tap, numClasses: 10, seed: 3 });
    try {
      const out = await trainModel(model, await rows(from, train), await rows(from, val), settings);
      return { out, weights: model.variables.map((v) => Array.from(v.dataSync())), count: model.variables.length };
    } finally {
      model.dispose();
    }
  };
  const cached = await trainOn(cut);
  const whole = await trainOn(files.layers[0].name);
  assert.equal(cached.count, whole.count, 'the same variables train');
  assert.ok(cached.out.curve[2].val_loss < cached.out.curve[0].val_loss, 'it learns');
  cached.out.curve.forEach((l, i) => assert.ok(Math.abs(l.val_loss - whole.out.curve[i].val_loss) < 1e-4, `epoch ${i + 1}: val loss ${l.val_loss} vs ${whole.out.curve[i].val_loss}`));
  const head = cached.weights.length - 2;
  const diff = Math.max(...cached.weights[head].map((w, i) => Math.abs(w - whole.weights[head][i])));
  assert.ok(diff < 1e-4, `head weights differ by ${diff}`);
});

test('fine-tuning refuses a val or test class that has no training images, before any work', async () => {
  const ds = { name: 'toy', classes: ['a', 'b', 'c'], samples: [0, 1, 2, 0, 1, 2].map((label, i) => ({ id: `s${i}`, label })) } as unknown as Dataset;
  const cell = { dataset: ds, backbone: { name: 'mobilenet-v2', card: mobilenet }, train: [0, 1], val: [2], tests: [{ name: 'test', idx: [3] }] } as unknown as ImageCell;
  await assert.rejects(finetuneMethod.run(cell, {}), /^ProbeError: Class "c" appears in val\/test but has no training images/);
});

test('every weight after the cut trains, whatever the model file marks frozen; InceptionV3 (batch norm without γ) gets gradients too', async () => {
  const backend = await tfjsBackend();
  if (backend === 'wasm') registerWasmTraining();
  for (const [id, from] of [['mobilenet-v2', 'input_1'], ['inception-v3', 'mixed5']] as const) {
    const card = resolveCard(id) as KerasCard;
    const files = loadNsfwjsModel(card.source.model);
    const model = await kerasTrainModel(files, { from, trainAfter: from, tap: card.tap, numClasses: 4, seed: 0 });
    try {
      // What the weight manifest holds for the layers after `from` up to the tap, less batch norm's running statistics.
      const names = files.layers.map((l) => l.name);
      const after = new Set(names.slice(names.indexOf(from) + 1, names.indexOf(card.tap) + 1));
      const expected = files.weightSpecs.filter((w) => after.has(w.name.split('/')[0]) && !/moving_(mean|variance)$/.test(w.name)).reduce((a, w) => a + w.shape.reduce((p, d) => p * d, 1), 0);
      assert.equal(model.variables.reduce((a, v) => a + v.size, 0), expected + card.featureDim * 4 + 4, id);
      const x = tf.randomNormal([2, ...model.inputShape]);
      const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(tf.oneHot([1, 2], 4), model.logits(x)) as tf.Scalar, model.variables);
      assert.ok(Number.isFinite(value.dataSync()[0]));
      assert.equal(Object.keys(grads).length, model.variables.length, `${id}: a gradient for every trained weight`);
      tf.dispose([x, value, ...Object.values(grads)]);
    } finally {
      model.dispose();
    }
  }
});
