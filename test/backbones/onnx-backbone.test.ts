import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { parseCardFile } from '../../src/backbones/card-file.ts';
import { openOnnxBackbone } from '../../src/backbones/onnx-backbone.ts';
import { decodeForCard, packBatch } from '../../src/features/preprocess.ts';
import type { OnnxCard, OutputSpec } from '../../src/backbones/types.ts';
import { loadMnist } from '../../src/data/mnist.ts';
import { BackboneError } from '../../src/errors.ts';
import { extractFeatures } from '../../src/features/extract.ts';
import { tempDir } from '../helpers.ts';
import { tinyConvNet, tinyVit } from '../fixtures/onnx-fixtures.ts';

const dir = tempDir();
const digits = (await loadMnist()).samples.filter((_, i) => i % 1000 === 0); // 10 real digits
const write = (name: string, bytes: Uint8Array) => {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
};
const vitPath = write('vit.onnx', tinyVit({ size: 32, patch: 8, dim: 12 }));
const convPath = write('conv.onnx', tinyConvNet({ size: 32, stride: 4, dim: 10 }));
const cardFor = (path: string, output: Partial<OutputSpec> & { name: string }, extra: Record<string, unknown> = {}): OnnxCard =>
  parseCardFile({ input: { height: 32, width: 32 }, preprocess: { resizeTo: 36, interpolation: 'bicubic' }, output, ...extra }, path);

/** The raw output of a bare InferenceSession on the same preprocessed batch: the reference pooling is computed from it. */
async function bareOutput(path: string, card: OnnxCard, output: string): Promise<{ data: Float32Array; dims: number[] }> {
  const imgs = await Promise.all(digits.map((s) => decodeForCard(s.source, card)));
  const session = await ort.InferenceSession.create(path);
  const r = await session.run({ pixel_values: new ort.Tensor('float32', packBatch(imgs, card), [imgs.length, 3, 32, 32]) }, [output]);
  await session.release();
  return { data: r[output].data as Float32Array, dims: r[output].dims.map(Number) };
}

async function features(path: string, card: OnnxCard, batchSize = 4) {
  const bb = await openOnnxBackbone(card, path);
  const ext = await extractFeatures(bb, digits, { batchSize });
  await bb.dispose();
  return ext.features;
}

const close = (a: Float32Array, b: ArrayLike<number>, what: string) => {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-5, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
};

test('ViT fixture: CLS pooling is token 0 and mean pooling averages the patch tokens of last_hidden_state', async () => {
  const raw = await bareOutput(vitPath, cardFor(vitPath, { name: 'last_hidden_state' }), 'last_hidden_state');
  const [n, t, d] = raw.dims;
  assert.deepEqual([n, t, d], [digits.length, 17, 12]);
  const cls: number[] = [];
  const mean: number[] = [];
  for (let i = 0; i < n; i++)
    for (let j = 0; j < d; j++) {
      cls.push(raw.data[i * t * d + j]);
      let s = 0;
      for (let k = 1; k < t; k++) s += raw.data[(i * t + k) * d + j];
      mean.push(s / (t - 1));
    }
  const fCls = await features(vitPath, cardFor(vitPath, { name: 'last_hidden_state', pooling: 'cls' }));
  const fMean = await features(vitPath, cardFor(vitPath, { name: 'last_hidden_state', pooling: 'mean' }));
  assert.equal(fCls.cols, 12);
  close(fCls.data, cls, 'cls');
  close(fMean.data, mean, 'mean');
  assert.ok(Math.abs(cls[0] - mean[0]) > 1e-3, 'CLS and mean differ');
  const pooled = await features(vitPath, cardFor(vitPath, { name: 'pooler_output' }), 3);
  close(pooled.data, (await bareOutput(vitPath, cardFor(vitPath, { name: 'pooler_output' }), 'pooler_output')).data, 'pooler_output');
});

test('ConvNet fixture: gap pooling of the [n, c, h, w] map and the pooled output as is', async () => {
  const card = cardFor(convPath, { name: 'last_hidden_state', pooling: 'gap' });
  const raw = await bareOutput(convPath, card, 'last_hidden_state');
  const [n, c, h, w] = raw.dims;
  const gap = Array.from({ length: n * c }, (_, i) => raw.data.subarray(i * h * w, (i + 1) * h * w).reduce((a, b) => a + b, 0) / (h * w));
  close((await features(convPath, card)).data, gap, 'gap');
  const pooled = await features(convPath, cardFor(convPath, { name: 'pooler_output' }, { featureDim: 10 }));
  close(pooled.data, (await bareOutput(convPath, card, 'pooler_output')).data, 'pooler_output');
});

test('a model exported with batch 1 runs in chunks and gives the same features', async () => {
  const fixed = write('vit-b1.onnx', tinyVit({ size: 32, patch: 8, dim: 12, fixedBatch: 1, fixedSpatial: true }));
  const card = cardFor(fixed, { name: 'last_hidden_state', pooling: 'cls' });
  close((await features(fixed, card, 5)).data, (await features(vitPath, card, 5)).data, 'batch-1 model');
});

const oneLine = (re: RegExp) => (e: unknown) => e instanceof BackboneError && re.test(e.message) && !e.message.includes('\n');

test('bad models: truncated file, input shape unlike the card, unknown output, wrong pooling, wrong feature size', async () => {
  const bytes = tinyVit({ size: 32, patch: 8, dim: 12, fixedSpatial: true });
  const truncated = write('truncated.onnx', bytes.subarray(0, bytes.length >> 1));
  await assert.rejects(openOnnxBackbone(cardFor(truncated, { name: 'pooler_output' }), truncated), oneLine(/cannot load .*truncated\.onnx/));
  const fixed = write('fixed32.onnx', bytes);
  const at224 = parseCardFile({ input: { height: 224, width: 224 }, output: { name: 'pooler_output' } }, fixed);
  await assert.rejects(openOnnxBackbone(at224, fixed), oneLine(/input "pixel_values" has shape \[batch_size, 3, 32, 32\] but the card .* says \[batch, 3, 224, 224\]/));
  await assert.rejects(openOnnxBackbone(cardFor(fixed, { name: 'features' }), fixed), oneLine(/no output "features"; its outputs: last_hidden_state \[batch_size, 17, 12\], pooler_output/));
  await assert.rejects(openOnnxBackbone(cardFor(fixed, { name: 'pooler_output', pooling: 'cls' }), fixed), oneLine(/pooling "cls" needs rank 3/));
  const wrongDim = await openOnnxBackbone(cardFor(fixed, { name: 'pooler_output' }, { featureDim: 99 }), fixed);
  await assert.rejects(extractFeatures(wrongDim, digits.slice(0, 2), { batchSize: 2 }), oneLine(/gives 12-d features, the card says 99/));
  await wrongDim.dispose();
});

test('--device cuda without the CUDA provider falls back to cpu with a message', async () => {
  const bb = await openOnnxBackbone(cardFor(vitPath, { name: 'pooler_output' }), vitPath, { device: 'cuda' });
  assert.match(bb.runtime, /\(cpu\)$/);
  assert.match(bb.warnings?.[0] ?? '', /CUDA execution provider is not installed .*; running on CPU/);
  await bb.dispose();
});

test('a card with a patch size refuses an input that is not a whole number of patches; every built-in card fits its own', async () => {
  assert.throws(() => cardFor(vitPath, { name: 'last_hidden_state', pooling: 'cls' }, { input: { height: 30, width: 30 }, patch: 8 }), /input 30x30 is not a whole number of 8-pixel patches; use a multiple of 8 \(e\.g\. 32\)/);
  assert.equal(cardFor(vitPath, { name: 'last_hidden_state', pooling: 'cls' }, { patch: 8 }).patch, 8);
  const { STUDY_CARDS } = await import('../../src/backbones/cards/study.ts');
  const { patchProblem } = await import('../../src/backbones/card-schema.ts');
  assert.ok(STUDY_CARDS.filter((c) => c.patch).length >= 6);
  for (const c of STUDY_CARDS) assert.equal(patchProblem(c), undefined, c.id);
});
