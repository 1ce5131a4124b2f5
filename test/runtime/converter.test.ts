import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EMBEDDED_CARDS as CARDS } from '../../src/backbones/cards/embedded.ts';
import { loadNsfwjsModel } from '../../src/backbones/keras/nsfwjs-files.ts';
import { kerasToOnnx } from '../../src/runtime/keras/to-onnx.ts';
import { openOnnx } from '../../src/runtime/ort.ts';
import { decodeForCard, packBatch } from '../../src/features/preprocess.ts';
import { loadTfjsModel, tfjsBackend } from '../../src/runtime/tfjs.ts';
import { loadMnist } from '../../src/data/mnist.ts';

const digits = (await loadMnist()).samples.filter((_, i) => i % 997 === 0).slice(0, 2);

// Contract test over the registry: every card's converted ONNX graph must match the original tfjs model,
// at the card's tap, at a folded zero-pad / early layer, and at the final softmax.
for (const card of CARDS) {
  test(`${card.id}: converted ONNX graph matches tfjs at the tap, an early layer and the output`, async () => {
    const files = loadNsfwjsModel(card.source.model);
    const early = files.layers[2].name;
    const last = files.layers[files.layers.length - 1].name;
    const taps = [card.tap, early, last];
    const batch = packBatch(await Promise.all(digits.map((d) => decodeForCard(d.source, card))), card);
    const dims = [digits.length, card.input.height, card.input.width, 3];
    const session = await openOnnx(kerasToOnnx(files, { taps, pool: true }));
    const ours = await session.run(batch, dims);
    await session.dispose();
    await tfjsBackend();
    const model = await loadTfjsModel(files, taps);
    const ref = await model.run(batch, dims);
    model.dispose();
    assert.equal(ours[0].cols, card.featureDim);
    taps.forEach((tap, t) => {
      assert.equal(ours[t].cols, ref[t].cols, tap);
      let maxDiff = 0;
      let maxAbs = 0;
      for (let i = 0; i < ref[t].data.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(ours[t].data[i] - ref[t].data[i]));
        maxAbs = Math.max(maxAbs, Math.abs(ref[t].data[i]));
      }
      assert.ok(maxAbs > 0, `${tap}: reference is all zeros`);
      assert.ok(maxDiff <= 1e-4 * Math.max(1, maxAbs), `${tap}: max |onnx - tfjs| = ${maxDiff}`);
    });
  });
}

test('an unknown layer is one clear error that points at `models layers`', () => {
  const files = loadNsfwjsModel('mobilenet_v2');
  assert.throws(() => kerasToOnnx(files, { taps: ['no_such_layer'], pool: true }), /Layer "no_such_layer" is not in the model.*reprobe models layers/);
});

test("every card's tap and swept taps exist in its model, and the tap is among the swept", () => {
  for (const card of CARDS) {
    const names = new Set(loadNsfwjsModel(card.source.model).layers.map((l) => l.name));
    for (const tap of [card.tap, ...card.altTaps]) assert.ok(names.has(tap), `${card.id}: ${tap}`);
    assert.ok(card.altTaps.includes(card.tap), card.id);
  }
});
