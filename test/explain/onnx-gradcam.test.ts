/**
 * Grad-CAM on ONNX ConvNets through the tfjs translation: on the real ConvNeXt and EfficientNet architectures
 * (test/fixtures/hf) the split reproduces transformers' features and the map covers the explained layer's grid, in
 * [0, 1]; on a hand-made graph the feature explained decides where the map peaks.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { OnnxCardSchema } from '../../src/backbones/card-schema.ts';
import { STUDY_CARDS } from '../../src/backbones/cards/study.ts';
import { cutAt } from '../../src/runtime/onnx-blocks.ts';
import type { ResolvedBackbone } from '../../src/backbones/registry.ts';
import { peak } from '../../src/explain/maps.ts';
import { explainersFor } from '../../src/explain/explainers.ts';
import { onnxGradcam, openOnnxGradcam } from '../../src/explain/onnx-gradcam.ts';
import type { ExplainMap } from '../../src/explain/types.ts';
import { gradCam } from '../../src/explain/gradcam.ts';
import { OnnxGraph } from '../../src/runtime/onnx-graph.ts';
import { openOnnx } from '../../src/runtime/ort.ts';
import { hfModelPath, hfReference, pixelsFormula } from '../fixtures/hf-references.ts';
import { hfBytes } from '../fixtures/hf-train.ts';

const convnets = STUDY_CARDS.filter((c) => c.patch === undefined);

/** Finite, in [0, 1]; true when the map has a peak (all zeros: no positive evidence for the feature, ReLU's zero map). */
function unitMap(map: ExplainMap): boolean {
  assert.ok(map.values.every((v) => Number.isFinite(v) && v >= 0 && v <= 1), 'values outside [0, 1]');
  const max = Math.max(...map.values);
  assert.ok(max === 1 || map.values.every((v) => v === 0), `a map with maximum ${max}`);
  return max === 1;
}

test('the ONNX ConvNet study cards are served by gradcam', () => {
  assert.deepEqual(convnets.map((c) => c.id).sort(), ['convnext-base', 'convnext-tiny', 'efficientnet-b2', 'efficientnet-b6']);
  for (const c of convnets) assert.deepEqual(explainersFor(c), ['gradcam'], c.id);
});

for (const card of convnets) {
  test(`${card.id}: Grad-CAM of a feature on the real architecture covers the last unit's grid in [0, 1]; its scores are transformers' features`, async () => {
    const ref = hfReference(card.id);
    assert.ok(ref, `${card.id}: no fixture`);
    const backbone: ResolvedBackbone = { name: card.id, card, files: { image: hfModelPath(ref) } };
    const g = await openOnnxGradcam(backbone, {});
    try {
      // The last unit: ConvNeXt's last layer (named last_hidden_state), EfficientNet's last block by its config.
      if (ref.class === 'ConvNextModel') assert.equal(g.layer, 'last_hidden_state');
      else {
        const c = ref.config as { depth_coefficient: number; num_block_repeats: number[] };
        const blocks = c.num_block_repeats.reduce((a, r) => a + Math.ceil(c.depth_coefficient * r), 0);
        assert.match(g.layer, new RegExp(`/blocks\\.${blocks - 1}/`));
      }
      // The layer's grid as onnxruntime computes it.
      const session = await openOnnx(cutAt(hfBytes(ref), g.layer), { threads: 1 });
      const pixels = pixelsFormula(1, ref.size);
      let dims: number[];
      try {
        [{ dims }] = await session.runRaw({ [session.inputName]: { type: 'float32', data: pixels, dims: [1, 3, ref.size, ref.size] } }, [g.layer]);
      } finally {
        await session.dispose();
      }
      let peaked = 0;
      for (const classIndex of [undefined, 5, 11]) {
        const out = g.explain({ backbone, pixels, ...(classIndex !== undefined ? { classIndex } : {}) });
        assert.deepEqual([out.map.height, out.map.width], dims.slice(2));
        if (unitMap(out.map)) peaked++;
        let worst = 0;
        out.scores.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - ref.features[0][j]))));
        assert.ok(worst <= 1e-4, `scores differ from transformers' features by ${worst}`);
        assert.equal(out.classIndex, classIndex ?? out.scores.indexOf(Math.max(...out.scores)));
      }
      assert.ok(peaked >= 2, `${peaked} of 3 features give a map with a peak`);
    } finally {
      g.dispose();
    }
  });
}

test('a hand-made ConvNet, feature 0 the red area and feature 1 green minus red: each map is exactly its colour\'s square', () => {
  // 1x1 convolution keeping R and G, ReLU (the explained layer), global average, then [R, G - R]: feature 1 counts red against it.
  const g = new OnnxGraph();
  const pick = g.float('pick', [2, 3, 1, 1], Float32Array.of(1, 0, 0, 0, 1, 0));
  g.node('Relu', [g.node('Conv', ['x', pick], { kernel_shape: [1, 1] })], {}, 'act');
  const mean = g.node('Flatten', [g.node('GlobalAveragePool', ['act'])], { axis: 1 });
  g.node('MatMul', [mean, g.float('mix', [2, 2], Float32Array.of(1, -1, 0, 1))], {}, 'features');
  const bytes = g.encodeModel({ name: 'red_green', inputs: [{ name: 'x', dims: [1, 3, 8, 8] }], outputs: [{ name: 'features', dims: [1, 2] }] });
  const card = OnnxCardSchema.parse({ id: 'red-green', source: { kind: 'file', path: 'x.onnx' }, input: { name: 'x', height: 8, width: 8 }, output: { name: 'features', pooling: 'none' } });
  // A red square top right (rows 1-2, columns 4-6), a green one bottom left (rows 5-6, columns 0-1): not symmetric.
  const inRed = (y: number, x: number) => y >= 1 && y <= 2 && x >= 4 && x <= 6;
  const inGreen = (y: number, x: number) => y >= 5 && y <= 6 && x <= 1;
  const img = new Float32Array(3 * 64);
  for (let y = 0; y < 8; y++)
    for (let x = 0; x < 8; x++) {
      if (inRed(y, x)) img[y * 8 + x] = 1;
      if (inGreen(y, x)) img[64 + y * 8 + x] = 1;
    }
  const net = onnxGradcam(bytes, card, 'act');
  const x = tf.tensor4d(img, [1, 3, 8, 8]);
  try {
    const red = gradCam(net, x, 0);
    const green = gradCam(net, x, 1);
    assert.deepEqual(Array.from(red.scores), [6 / 64, 4 / 64 - 6 / 64]);
    for (let y = 0; y < 8; y++)
      for (let xx = 0; xx < 8; xx++) {
        assert.equal(red.map.values[y * 8 + xx], inRed(y, xx) ? 1 : 0, `red map at ${y}, ${xx}`);
        assert.equal(green.map.values[y * 8 + xx], inGreen(y, xx) ? 1 : 0, `green map at ${y}, ${xx}`);
      }
    assert.deepEqual(peak(green.map), { row: 5, col: 0 });
  } finally {
    x.dispose();
    net.dispose();
  }
});
