/**
 * Rollout and relevance on the real ViT-family architectures (test/fixtures/hf: transformers' own ViT, DINO, BEiT,
 * MAE, data2vec and CLIP image tower, shrunk, exported as the hub's files are): one attention tensor per layer of the
 * config, maps over the card's patch grid in [0, 1], and the gradient path of relevance reaching every layer.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { STUDY_CARDS } from '../../src/backbones/cards/study.ts';
import { attentionTensors } from '../../src/runtime/onnx-attention.ts';
import type { ResolvedBackbone } from '../../src/backbones/registry.ts';
import { relevanceMap } from '../../src/explain/relevance.ts';
import { rolloutMap } from '../../src/explain/rollout.ts';
import type { ExplainMap } from '../../src/explain/types.ts';
import { attentionGrads } from '../../src/runtime/attention-grads.ts';
import { hfModelPath, hfReference, pixelsFormula } from '../fixtures/hf-references.ts';
import { hfBytes } from '../fixtures/hf-train.ts';

const vits = STUDY_CARDS.filter((c) => c.patch !== undefined);

function assertMap(map: ExplainMap, grid: [number, number]): void {
  assert.deepEqual([map.height, map.width], grid);
  assert.equal(map.values.length, grid[0] * grid[1]);
  assert.ok(map.values.every((v) => Number.isFinite(v) && v >= 0 && v <= 1), 'values outside [0, 1]');
  assert.equal(Math.max(...map.values), 1);
  assert.ok(Math.min(...map.values) < 1, 'a constant map');
}

test('every ViT-family study card is explained here', () => {
  assert.deepEqual(vits.map((c) => c.id).sort(), ['beit-base', 'clip-vit-b32', 'data2vec-base', 'dino-vitb16', 'dino-vits16', 'mae-base', 'vit-b16', 'vit-b32', 'vit-l16', 'vit-l32']);
});

for (const card of vits) {
  test(`${card.id}: rollout and relevance on the real architecture map the ${card.input.height / card.patch!}-patch grid in [0, 1]; relevance's gradients reach every layer`, async () => {
    const ref = hfReference(card.id);
    assert.ok(ref, `${card.id}: no fixture`);
    const layers = ref.config.num_hidden_layers as number;
    assert.equal(attentionTensors(hfBytes(ref)).length, layers, 'one attention Softmax per layer of the config');
    const backbone: ResolvedBackbone = { name: card.id, card, files: { image: hfModelPath(ref) } };
    const pixels = pixelsFormula(1, ref.size);
    // The patch grid from the config (image size / patch size), not from the card.
    const side = ref.size / (ref.config.patch_size as number);
    const grid: [number, number] = [side, side];
    assertMap(await rolloutMap({ backbone, pixels }), grid);
    assertMap(await relevanceMap({ backbone, pixels, classIndex: 3 }), grid);

    const dims = [1, 3, ref.size, ref.size];
    const g = await attentionGrads({ key: `hf-${card.id}`, name: card.id, bytes: async () => hfBytes(ref) }, { data: pixels, dims }, card.output, { kind: 'class', index: 3 });
    const tokens = grid[0] * grid[1] + 1;
    assert.equal(g.dims.at(-1), tokens);
    assert.equal(g.grads.length, layers);
    for (const [l, grad] of g.grads.entries()) {
      assert.ok(grad.every(Number.isFinite), `layer ${l}: a gradient is not finite`);
      assert.ok(grad.some((v) => v !== 0), `layer ${l}: the score's gradient does not reach this attention`);
    }
  });
}
