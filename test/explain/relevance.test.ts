import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { resolveBackbone } from '../../src/backbones/registry.ts';
import { ConfigError } from '../../src/errors.ts';
import { peak } from '../../src/explain/maps.ts';
import { pooledRow, relevance, relevanceMap } from '../../src/explain/relevance.ts';
import { attentionGrads } from '../../src/runtime/attention-grads.ts';
import { onnxToTfjs } from '../../src/runtime/onnx-tfjs.ts';
import { seeded } from '../../src/util/rng.ts';
import { tempDir } from '../helpers.ts';
import { tinyClipText } from '../fixtures/onnx-fixtures.ts';
import { attentionBackbone, attentionVit, blockName, onePatchWeights, type AttentionVitOptions } from '../fixtures/onnx-vit-attention.ts';
import { tinyVocab, writeTinyTokenizer } from '../fixtures/tiny-tokenizer.ts';

const VIT: AttentionVitOptions = { size: 16, patch: 4, width: 8, heads: 2, layers: 3, seed: 9 };
const rng = seeded(4);
const image = (size: number) => Float32Array.from({ length: 3 * size * size }, () => rng() * 2 - 1);
const dirs: string[] = [];
const dir = () => (dirs.push(tempDir()), dirs[dirs.length - 1]);
test.after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

test('relevance of hand-set attention and gradients is the hand-computed R', () => {
  // One block: Ā = (∇A ⊙ A)⁺ = [[0, 1], [0, 0]] → R = I + Ā.
  assert.deepEqual(Array.from(relevance([Float32Array.of(0.5, 0.5, 0.5, 0.5)], [Float32Array.of(0, 2, -2, 0)], 2)), [1, 1, 0, 1]);
  // Two heads average; a second block multiplies in: R2 = R1 + Ā2·R1 with Ā2 = [[0, 0], [0.5, 0]] → [[1, 1], [0.5, 1.5]].
  const twoHeads = Float32Array.of(1, 0, 1, 0, 1, 0, 1, 0);
  const blocks = [Float32Array.of(0.5, 0.5, 0.5, 0.5), twoHeads];
  const grads = [Float32Array.of(0, 2, -2, 0), Float32Array.of(0, 0, 1, 0, 0, 0, 0, 0)];
  assert.deepEqual(Array.from(relevance(blocks, grads, 2, { startLayer: 0 })), [1, 1, 0.5, 1.5]);
  assert.deepEqual(Array.from(relevance(blocks, grads, 2, { startLayer: -2 })), [1, 1, 0.5, 1.5]);
});

test("relevance starts at the last block by default, as Chefer et al.'s CLIP code (start_layer = -1); other start layers by index or from the end", () => {
  const blocks = [Float32Array.of(0.5, 0.5, 0.5, 0.5), Float32Array.of(1, 0, 1, 0, 1, 0, 1, 0)];
  const grads = [Float32Array.of(0, 2, -2, 0), Float32Array.of(0, 0, 1, 0, 0, 0, 0, 0)];
  // The last block alone: R = I + Ā2 = [[1, 0], [0.5, 1]] (block 1's Ā = [[0, 1], [0, 0]] left out).
  assert.deepEqual(Array.from(relevance(blocks, grads, 2)), [1, 0, 0.5, 1]);
  assert.deepEqual(Array.from(relevance(blocks, grads, 2, { startLayer: 1 })), [1, 0, 0.5, 1]);
  for (const bad of [2, -3, 0.5]) assert.throws(() => relevance(blocks, grads, 2, { startLayer: bad }), /--start-layer .*: the model has 2 attention blocks/);
});

test('∂score/∂attention is the total gradient: central differences through every later block, and the last block equals the gradient of a graph fed that attention', async () => {
  const bytes = attentionVit(VIT);
  const pixels = image(16);
  const dims = [1, 3, 16, 16];
  const output = { name: 'last_hidden_state', pooling: 'cls' as const };
  const g = await attentionGrads({ key: 'vit-9', name: 'the fixture', bytes: async () => bytes }, { data: pixels, dims }, output, { kind: 'class', index: 3 });
  assert.deepEqual(g.dims, [1, 2, 17, 17]);
  const graph = onnxToTfjs(bytes, { outputs: ['last_hidden_state'] });
  const score = (hooks = {}) => tf.tidy(() => graph.run({ pixel_values: tf.tensor(pixels, dims) }, hooks)[0].slice([0, 0, 3], [1, 1, 1]).dataSync()[0]);
  assert.ok(Math.abs(score() - g.score) < 1e-5);
  const eps = 1e-2;
  for (const [block, k] of [[0, 5], [0, 17 * 17 + 3], [1, 40], [2, 2]]) {
    const bump = (e: number) => ({ [blockName(VIT, block).softmax]: (t: tf.Tensor) => t.add(tf.oneHot(k, 2 * 17 * 17).reshape(t.shape).mul(e)) });
    const fd = (score(bump(eps)) - score(bump(-eps))) / (2 * eps);
    assert.ok(Math.abs(fd - g.grads[block][k]) < 2e-3 * Math.max(1, Math.abs(fd)), `block ${block} [${k}]: ${fd} vs ${g.grads[block][k]}`);
  }
  graph.dispose();
  // The last block's attention fed as an input: its gradient there has no later block to pass through.
  const last = blockName(VIT, 2).softmax;
  const fed = onnxToTfjs(bytes, { outputs: ['last_hidden_state'], inputs: ['pixel_values', last] });
  const grad = tf.tidy(() => tf.grad((a: tf.Tensor) => fed.run({ pixel_values: tf.tensor(pixels, dims), [last]: a })[0].slice([0, 0, 3], [1, 1, 1]).sum())(tf.tensor(g.attention[2], g.dims)).dataSync());
  fed.dispose();
  assert.ok(Array.from(grad).every((v, i) => Math.abs(v - g.grads[2][i]) < 1e-5));
});

test('relevance on a fixture where only one patch reaches the score puts the maximum on that patch', async () => {
  const target = 6; // row 1, column 2 of the 4x4 grid
  const { weights, channel } = onePatchWeights(VIT, target);
  const backbone = attentionBackbone(dir(), { ...VIT, weights });
  const map = await relevanceMap({ backbone, pixels: image(16), classIndex: channel });
  assert.deepEqual([map.height, map.width], [4, 4]);
  assert.deepEqual(peak(map), { row: 1, col: 2 });
  assert.ok(map.values.every((v, i) => (i === target ? v === 1 : v === 0)), String(map.values));
  // The top feature is explained when no class is given; a class outside the output is refused.
  const top = await relevanceMap({ backbone, pixels: image(16) });
  assert.ok(top.values.every((v) => v >= 0 && v <= 1));
  // A user's error (--class named, exit 2), as Grad-CAM's: it was a RangeError, an `internal error` on the terminal.
  await assert.rejects(relevanceMap({ backbone, pixels: image(16), classIndex: 8 }), (e: unknown) => e instanceof ConfigError && /^--class: class 8 is not one of the output's 8 features; give 0 to 7\.$/.test(e.message));
});

test('CLIP-like tower: the image-text similarity with a prompt, through the text tower beside the model; no tensor leaks', async () => {
  const d = dir();
  writeFileSync(join(d, 'text_model.onnx'), tinyClipText({ vocab: Object.keys(tinyVocab()).length, embed: 6 }));
  const tokenizerDir = writeTinyTokenizer(join(d, 'tokenizer'));
  const backbone = attentionBackbone(d, { ...VIT, clip: { embed: 6 } }, { text: { file: 'text_model.onnx', output: 'text_embeds', contextLength: 77 } });
  const pixels = image(16);
  const map = await relevanceMap({ backbone, pixels, text: 'a photo of a cat', tokenizerDir });
  assert.deepEqual([map.height, map.width], [4, 4]);
  assert.ok(map.values.every((v) => v >= 0 && v <= 1) && Math.max(...map.values) === 1);
  const before = tf.memory().numTensors;
  const again = await relevanceMap({ backbone, pixels, text: 'a photo of a cat', tokenizerDir });
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(again.values, map.values);
  await assert.rejects(relevanceMap({ backbone, pixels, tokenizerDir }), (err: Error) => err instanceof ConfigError && /give a prompt \(--text/.test(err.message));
});

test('a backbone that is not a ViT-family ONNX card is one line naming the method that explains it', async () => {
  const backbone = await resolveBackbone('mobilenet-v2');
  await assert.rejects(relevanceMap({ backbone, pixels: image(224), classIndex: 0 }), (err: Error) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.message, '--method relevance explains ViT-family ONNX backbones (a card with "patch": ViT, DINO, BEiT, MAE, data2vec, CLIP); mobilenet-v2 is not one: explain it with --method gradcam.');
    return true;
  });
});

test('a mean-pooled card reads the mean of the pooled tokens\' rows less the identity; a CLS card reads row 0', () => {
  // By hand: R − I = [[0,0,0], [0,0.2,0.4], [0,0.6,0]] → mean of rows 1 and 2 = [0, 0.4, 0.2].
  const r = Float64Array.from([1, 0, 0, 0, 1.2, 0.4, 0, 0.6, 1]);
  assert.deepEqual(Array.from(pooledRow(r, 3, { name: 'last_hidden_state', pooling: 'mean', prefixTokens: 1 }), (v) => +v.toFixed(12)), [0, 0.4, 0.2]);
  assert.deepEqual(Array.from(pooledRow(r, 3, { name: 'last_hidden_state', pooling: 'cls' })), [1, 0, 0]);
});
