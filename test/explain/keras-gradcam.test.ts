import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadNsfwjsModel } from '../../src/backbones/keras/nsfwjs-files.ts';
import { tfjsBackend } from '../../src/runtime/tfjs.ts';
import { ConfigError } from '../../src/errors.ts';
import { kerasGradcam } from '../../src/explain/keras-gradcam.ts';
import { kerasTrainModel } from '../../src/finetune/keras-model.ts';
import { registerWasmTraining } from '../../src/runtime/training-kernels.ts';
import { seeded } from '../../src/util/rng.ts';

const TAP = 'block_13_expand_relu';
const CUT = 'block_12_add';

test("the rebuilt fine-tuned MobileNetV2 (trained block and head restored from the checkpoint's tensors) scores as the model training built", async () => {
  if ((await tfjsBackend()) === 'wasm') registerWasmTraining();
  const files = loadNsfwjsModel('mobilenet_v2');
  const trained = await kerasTrainModel(files, { from: files.layers[0].name, trainAfter: CUT, tap: TAP, numClasses: 3, seed: 1 });
  const rng = seeded(7);
  // Moved off the pretrained values, as training would: a wrong order or a missed tensor shows in the scores.
  const weights = trained.variables.map((v) => Float32Array.from(v.dataSync(), (w) => w + 0.1 * (rng() - 0.5)));
  trained.variables.forEach((v, i) => v.assign(tf.tensor(weights[i], v.shape)));
  const x = tf.tensor4d(Float32Array.from({ length: 224 * 224 * 3 }, () => rng()), [1, 224, 224, 3]);
  const want = tf.tidy(() => trained.logits(x).dataSync());
  trained.dispose();

  const net = await kerasGradcam(files, { head: { trainAfter: CUT, tap: TAP, weights }, what: 'the test run' });
  assert.equal(net.layer, TAP, 'Grad-CAM on the tap by default: the last convolutional block before the pooled features');
  const got = tf.tidy(() => {
    const { activation, scores } = net.forward(x);
    assert.deepEqual(activation.shape, [1, 14, 14, 576]);
    return scores(activation).dataSync();
  });
  assert.equal(got.length, 3);
  for (let k = 0; k < 3; k++) assert.ok(Math.abs(got[k] - want[k]) < 1e-3 * Math.max(1, Math.abs(want[k])), `class ${k}: ${got[k]} vs ${want[k]}`);
  net.dispose();

  // A checkpoint of another model, and layers Grad-CAM cannot use, are one-line errors.
  await assert.rejects(kerasGradcam(files, { head: { trainAfter: CUT, tap: TAP, weights: weights.slice(1) }, what: 'run x' }), (e: Error) => e instanceof ConfigError && /checkpoint of run x does not fit/.test(e.message));
  await assert.rejects(kerasGradcam(files, { head: { trainAfter: CUT, tap: TAP, weights }, what: 'run x', layer: 'block_15_add' }), /comes after block_13_expand_relu/);
  await assert.rejects(kerasGradcam(files, { head: { trainAfter: CUT, tap: TAP, weights }, what: 'run x', layer: 'nope' }), /not a layer of the model/);
  const early = await kerasGradcam(files, { head: { trainAfter: CUT, tap: TAP, weights }, what: 'run x', layer: 'block_6_expand_relu' });
  const shape = tf.tidy(() => early.forward(x).activation.shape);
  assert.deepEqual(shape, [1, 28, 28, 192], "block 6 expands before its stride-2 depthwise convolution");
  early.dispose();
  x.dispose();
});
