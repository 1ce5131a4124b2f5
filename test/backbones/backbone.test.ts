import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tempDir } from '../helpers.ts';
process.env.REPROBE_HOME = tempDir();
const { openBackbone } = await import('../../src/backbones/registry.ts');
const { extractFeatures } = await import('../../src/features/extract.ts');
const { loadMnist } = await import('../../src/data/mnist.ts');
const { ConfigError } = await import('../../src/errors.ts');

const samples = (await loadMnist()).samples.filter((_, i) => i % 500 === 0); // 20 real digits

test('mobilenet-v2 embeds real digits into [n, 576] finite, non-constant features, deterministically', async () => {
  const bb = await openBackbone('mobilenet-v2', { runtime: 'auto' });
  assert.match(bb.runtime, /onnxruntime-node/);
  const a = await extractFeatures(bb, samples, { batchSize: 8 });
  const b = await extractFeatures(bb, samples, { batchSize: 5 });
  await bb.dispose();
  assert.equal(a.features.rows, samples.length);
  assert.equal(a.features.cols, 576);
  assert.ok(a.features.data.every(Number.isFinite));
  assert.ok(new Set(a.features.data.slice(0, 576)).size > 10);
  // Same images, other batch size: the same features (ORT's batched kernels may differ in the last bits).
  for (let i = 0; i < a.features.data.length; i++) assert.ok(Math.abs(a.features.data[i] - b.features.data[i]) < 1e-4);
});

test('the converted graph is cached under REPROBE_HOME and reused', async () => {
  const { readdirSync } = await import('node:fs');
  const files = readdirSync(`${process.env.REPROBE_HOME}/onnx`);
  assert.ok(files.some((f) => f.startsWith('mobilenet-v2--block_13_expand_relu--') && f.endsWith('.onnx')), files.join(','));
  const bb = await openBackbone('mobilenet-v2', { runtime: 'onnx' });
  await bb.dispose();
  assert.equal(readdirSync(`${process.env.REPROBE_HOME}/onnx`).length, files.length);
});

test('--layer picks another tap; tfjs runtime gives the same features as onnxruntime', async () => {
  const few = samples.slice(0, 3);
  const ort = await openBackbone('mobilenet-v2', { runtime: 'onnx', layer: 'block_6_expand_relu' });
  const tf = await openBackbone('mobilenet-v2', { runtime: 'tfjs', layer: 'block_6_expand_relu' });
  assert.match(tf.runtime, /^tfjs .*\((wasm|cpu|tensorflow)\)/);
  const a = await extractFeatures(ort, few, { batchSize: 3 });
  const b = await extractFeatures(tf, few, { batchSize: 3 });
  await ort.dispose();
  await tf.dispose();
  assert.equal(a.features.cols, 192);
  for (let i = 0; i < a.features.data.length; i++) assert.ok(Math.abs(a.features.data[i] - b.features.data[i]) < 1e-4);
});

test('an unknown backbone is a ConfigError listing the known names', async () => {
  await assert.rejects(openBackbone('dinov3', { runtime: 'auto' }), (e: unknown) => e instanceof ConfigError && /Known: mobilenet-v2, inception-v3/.test(e.message));
});
