import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import protos from 'onnx-proto';
import { parseCardFile } from '../../src/backbones/card-file.ts';
import { runAttention, withAttentionOutputs } from '../../src/runtime/onnx-attention.ts';
import { resolveBackbone } from '../../src/backbones/registry.ts';
import { ConfigError } from '../../src/errors.ts';
import { EXPLAINERS } from '../../src/explain/explainers.ts';
import { clsPatchMap, rollout, rolloutMap } from '../../src/explain/rollout.ts';
import { openOnnx } from '../../src/runtime/ort.ts';
import { seeded } from '../../src/util/rng.ts';
import { tempDir } from '../helpers.ts';
import { tinyConvNet } from '../fixtures/onnx-fixtures.ts';
import { attentionBackbone, attentionVit, blockName, type AttentionVitOptions } from '../fixtures/onnx-vit-attention.ts';

const { onnx } = protos;
const VIT: AttentionVitOptions = { size: 16, patch: 4, width: 8, heads: 2, layers: 3, seed: 5 };
const rng = seeded(3);
const image = (size: number) => Float32Array.from({ length: 3 * size * size }, () => rng() * 2 - 1);
const dirs: string[] = [];
const dir = () => (dirs.push(tempDir()), dirs[dirs.length - 1]);
test.after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number) => Array.from(a).every((v, i) => Math.abs(v - b[i]) <= tol);

test('rollout of hand-set attention is the hand-computed product and map', () => {
  // T = 4 (CLS + a 1x3 grid). Block 1, two heads: I and the cyclic shift P → Â1 = 0.75 I + 0.25 P.
  const eye = (t: number) => Float32Array.from({ length: t * t }, (_, k) => (k % (t + 1) === 0 ? 1 : 0));
  const shift = Float32Array.from({ length: 16 }, (_, k) => (k % 4 === (Math.floor(k / 4) + 1) % 4 ? 1 : 0));
  const block1 = Float32Array.from([...eye(4), ...shift]);
  // Block 2, one head: CLS attends half to patches 1 and 3, the patches to themselves → Â2 row 0 = [.5, .25, 0, .25].
  const block2 = Float32Array.from([0, 0.5, 0, 0.5, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
  const r = rollout([block1, block2], 4);
  // Row 0 of Â2·Â1 = .5·[.75, .25, 0, 0] + .25·[0, .75, .25, 0] + .25·[.25, 0, 0, .75].
  assert.ok(close(r.subarray(0, 4), [0.4375, 0.3125, 0.0625, 0.1875], 1e-12), String(r.subarray(0, 4)));
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(r.subarray(i * 4, i * 4 + 4).reduce((a, b) => a + b, 0) - 1) < 1e-12, 'rows of R sum to 1');
  const map = clsPatchMap(r, 4, [1, 3]);
  assert.deepEqual([map.height, map.width], [1, 3]);
  assert.deepEqual(Array.from(map.values), [1, 0, 0.5]);
  // Rows are renormalised: 2·I (rows summing to 2) rolls out to I.
  assert.deepEqual(Array.from(rollout([Float32Array.from(eye(3), (v) => 2 * v)], 3)), Array.from(eye(3)));
});

test('rollout head fusion: max and min of the heads, hand-computed; the discard ratio drops the lowest values but never CLS→CLS', () => {
  const eye = Float32Array.from({ length: 16 }, (_, k) => (k % 5 === 0 ? 1 : 0));
  const shift = Float32Array.from({ length: 16 }, (_, k) => (k % 4 === (Math.floor(k / 4) + 1) % 4 ? 1 : 0));
  const heads = Float32Array.from([...eye, ...shift]);
  // max(I, P) = I + P → 0.5(I + P) + 0.5 I = I + 0.5 P, rows summing to 1.5 → (2/3) I + (1/3) P.
  const max = rollout([heads], 4, { headFusion: 'max', discardRatio: 0 });
  assert.ok(close(max, Array.from(eye, (v, k) => (2 / 3) * v + (1 / 3) * shift[k]), 1e-12), String(max));
  // min(I, P) = 0 → 0.5 I, renormalised → I.
  assert.deepEqual(Array.from(rollout([heads], 4, { headFusion: 'min', discardRatio: 0 })), Array.from(eye));
  // Mean is the default: (I + P) / 2 → 0.75 I + 0.25 P.
  assert.ok(close(rollout([heads], 4), Array.from(eye, (v, k) => 0.75 * v + 0.25 * shift[k]), 1e-12));
  // T = 2, A = [[0.1, 0.9], [0.6, 0.4]], ratio 0.5: the 2 lowest are 0.1 (CLS→CLS, kept) and 0.4 (dropped) →
  // F = [[0.1, 0.9], [0.6, 0]] → 0.5 F + 0.5 I = [[0.55, 0.45], [0.3, 0.5]] → rows renormalised.
  const a = Float32Array.of(0.1, 0.9, 0.6, 0.4);
  assert.ok(close(rollout([a], 2, { headFusion: 'mean', discardRatio: 0.5 }), [0.55, 0.45, 0.375, 0.625], 1e-7));
  // Ratio 0.75: 0.6 goes too → row 1 = [0, 0.5] → [0, 1].
  assert.ok(close(rollout([a], 2, { headFusion: 'mean', discardRatio: 0.75 }), [0.55, 0.45, 0, 1], 1e-7));
  assert.throws(() => rollout([a], 2, { headFusion: 'mean', discardRatio: 1 }), /--discard-ratio 1: give a fraction/);
});

test('the attention outputs added to the graph are softmax(Q·Kᵀ/√d) of each block, [1, heads, T, T]', async () => {
  const bytes = attentionVit(VIT);
  const { bytes: rewritten, attention } = withAttentionOutputs(bytes);
  assert.deepEqual(attention, [0, 1, 2].map((i) => blockName(VIT, i).softmax));
  // The test's own copy also returns each block's Q and K (after the heads transpose), to recompute the softmax.
  const model = onnx.ModelProto.decode(rewritten);
  const qk = [0, 1, 2].flatMap((i) => ['query', 'key'].map((w) => `${blockName(VIT, i).prefix}/${w}/Transpose_output_0`));
  for (const name of qk) model.graph!.output!.push(onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } }));
  const session = await openOnnx(onnx.ModelProto.encode(model).finish());
  const pixels = image(16);
  const out = await session.runRaw({ pixel_values: { type: 'float32', data: pixels, dims: [1, 3, 16, 16] } }, [...attention, ...qk]);
  await session.dispose();
  const path = join(dir(), 'model.onnx');
  writeFileSync(path, bytes);
  const probs = await runAttention(path, pixels, [1, 3, 16, 16]);
  const [T, H, dh] = [17, 2, 4];
  probs.forEach((p, l) => {
    assert.deepEqual(p.dims, [1, H, T, T]);
    const [q, k] = [out[3 + 2 * l], out[4 + 2 * l]];
    const want = new Float32Array(H * T * T);
    for (let h = 0; h < H; h++)
      for (let i = 0; i < T; i++) {
        const row = Array.from({ length: T }, (_, j) => {
          let s = 0;
          for (let c = 0; c < dh; c++) s += q.data[(h * T + i) * dh + c] * k.data[(h * T + j) * dh + c];
          return s / Math.sqrt(dh);
        });
        const m = Math.max(...row);
        const e = row.map((v) => Math.exp(v - m));
        const z = e.reduce((a, b) => a + b, 0);
        e.forEach((v, j) => (want[(h * T + i) * T + j] = v / z));
      }
    assert.ok(close(p.data, want, 1e-5), `block ${l}`);
    assert.ok(close(p.data, out[l].data, 0), `block ${l}: the cached session gives the rewritten graph's outputs`);
  });
});

test('rollout end to end on the ViT and CLIP-like fixtures: a [grid, grid] map in [0, 1]', async () => {
  for (const o of [VIT, { ...VIT, clip: { embed: 6 } }]) {
    const backbone = attentionBackbone(dir(), o);
    const map = await rolloutMap({ backbone, pixels: image(16) });
    assert.deepEqual([map.height, map.width, map.values.length], [4, 4, 16]);
    assert.ok(map.values.every((v) => v >= 0 && v <= 1));
    assert.equal(Math.max(...map.values), 1);
    assert.equal(Math.min(...map.values), 0);
  }
});

test('the registry passes the options through: rollout --head-fusion/--discard-ratio and relevance --start-layer reach the maps', async () => {
  const backbone = attentionBackbone(dir(), VIT);
  const pixels = image(16);
  const opened = await EXPLAINERS.rollout.open(backbone, { rollout: { headFusion: 'max', discardRatio: 0.5 } });
  const viaRegistry = (await opened.explain({ backbone, pixels })).map.values;
  assert.deepEqual(Array.from(viaRegistry), Array.from((await rolloutMap({ backbone, pixels }, { headFusion: 'max', discardRatio: 0.5 })).values));
  assert.notDeepEqual(Array.from(viaRegistry), Array.from((await rolloutMap({ backbone, pixels })).values));
  const relevance = await EXPLAINERS.relevance.open(backbone, { relevance: { startLayer: 7 } });
  await assert.rejects(relevance.explain({ backbone, pixels, classIndex: 0 }), (err: Error) => err instanceof ConfigError && /--start-layer 7: the model has 3 attention blocks/.test(err.message));
});

test('a backbone that is not a ViT-family ONNX card is one line naming the method that explains it (or that none does)', async () => {
  const path = join(dir(), 'convnet.onnx');
  writeFileSync(path, tinyConvNet({ size: 16, stride: 4, dim: 8 }));
  const convnet = { name: 'convnet.onnx', card: parseCardFile({ input: { height: 16, width: 16 }, output: { name: 'pooler_output' } }, path), files: { image: path } };
  for (const backbone of [await resolveBackbone('mobilenet-v2'), convnet]) {
    await assert.rejects(rolloutMap({ backbone, pixels: image(16) }), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /^--method rollout explains ViT-family ONNX backbones .*; (mobilenet-v2 is not one: explain it with --method gradcam|convnet\.onnx is not one: no explanation method serves it yet \(gradcam explains the Keras ConvNets\))\.$/);
      assert.ok(!err.message.includes('\n'));
      return true;
    });
  }
});
