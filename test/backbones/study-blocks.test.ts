/**
 * Fine-tuning blocks of the study cards (`--train last:N`): on each real architecture's export (test/fixtures/hf) the
 * card's `blocks` pattern finds one block per repeated unit of the model's config, and a last:1 plan (the frozen
 * prefix on onnxruntime, the last block translated to tfjs) reproduces torch's loss and the last block's gradients; the patterns also accept the
 * transformers 4 names of the hub's existing exports (Xenova/*).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { STUDY_CARDS } from '../../src/backbones/cards/study.ts';
import { cutAt, onnxBlocks } from '../../src/runtime/onnx-blocks.ts';
import { tfjsBackend } from '../../src/runtime/tfjs.ts';
import type { OnnxCard } from '../../src/backbones/types.ts';
import { onnxTrainModel } from '../../src/finetune/onnx-model.ts';
import { registerWasmTraining } from '../../src/runtime/training-kernels.ts';
import { openOnnx } from '../../src/runtime/ort.ts';
import { hfReference, pixelsFormula, type HfReference } from '../fixtures/hf-references.ts';
import { hfBytes, onnxName, torchNames, trainStepKernel, trainStepLabels } from '../fixtures/hf-train.ts';
import { tinyVit } from '../fixtures/onnx-fixtures.ts';

const ready = tfjsBackend().then((b) => b === 'wasm' && registerWasmTraining());
const card = (id: string) => STUDY_CARDS.find((c) => c.id === id)!;

/**
 * The model's repeated units by its config (reference.json): a transformer's num_hidden_layers, ConvNeXt's layers
 * (sum of depths), EfficientNet's blocks (each stage's repeats scaled by depth_coefficient, rounded up).
 */
function expectedBlocks(ref: HfReference): number {
  const c = ref.config as { num_hidden_layers?: number; depths?: number[]; depth_coefficient?: number; num_block_repeats?: number[] };
  if (ref.class === 'ConvNextModel') return c.depths!.reduce((a, b) => a + b, 0);
  if (ref.class === 'EfficientNetModel') return c.num_block_repeats!.reduce((a, r) => a + Math.ceil(c.depth_coefficient! * r), 0);
  return c.num_hidden_layers!;
}

function reference(c: OnnxCard): HfReference {
  const ref = hfReference(c.id);
  assert.ok(ref, `${c.id}: no fixture in test/fixtures/hf`);
  return ref;
}

for (const c of STUDY_CARDS) {
  test(`${c.id}: its blocks pattern finds one block per unit of the config, and last:1 trains the last on torch's loss`, async (t) => {
    await ready;
    const ref = reference(c);
    assert.ok(c.blocks, 'the card lists no blocks');
    const bytes = hfBytes(ref);
    const blocks = onnxBlocks(bytes, c.blocks, c.output.name);
    t.diagnostic(`${blocks.length} blocks: ${blocks.map((b) => `${b.end} (${b.params} params)`).join(', ')}`);
    assert.equal(blocks.length, expectedBlocks(ref));
    assert.equal(blocks.at(-1)!.end, c.output.name);
    assert.ok(blocks.every((b) => b.params > 0), 'a block without weights');

    // last:1 as finetune-method.ts plans it: the prefix up to the second-last block's end on onnxruntime, the rest in tfjs.
    const cut = blocks.at(-2)!.end;
    const n = ref.features.length;
    const session = await openOnnx(cutAt(bytes, cut), { threads: 1 });
    let acts;
    try {
      [acts] = await session.runRaw({ [session.inputName]: { type: 'float32', data: pixelsFormula(n, ref.size), dims: [n, 3, ref.size, ref.size] } }, [cut]);
    } finally {
      await session.dispose();
    }
    const { classes } = ref.train_step;
    const model = onnxTrainModel(bytes, c, { featureDim: ref.feature.dim, numClasses: classes, seed: 0, trainBackbone: true, from: { tensor: cut, shape: acts.dims.slice(1) } });
    try {
      const [kernel, bias] = model.variables.slice(-2);
      kernel.assign(tf.tensor2d(trainStepKernel(ref.feature.dim, classes), [ref.feature.dim, classes]));
      bias.assign(tf.zerosLike(bias));
      const x = tf.tensor(acts.data, acts.dims);
      const labels = tf.oneHot(tf.tensor1d(trainStepLabels(n, classes), 'int32'), classes);
      const trainedVars = model.variables.slice(0, -2);
      const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(labels, model.logits(x)) as tf.Scalar, trainedVars);
      const loss = value.dataSync()[0];
      assert.ok(Math.abs(loss - ref.train_step.loss) <= 1e-4, `loss ${loss} after the cut at ${cut}, torch ${ref.train_step.loss}`);
      // Freezing the prefix leaves the last block's gradients as they are: torch's, for the parameters the export names.
      const names = torchNames(bytes);
      let compared = 0;
      for (const v of trainedVars) {
        const torch = names.get(onnxName(v.name, 'onnx') ?? '');
        if (torch === undefined || !(torch in ref.train_step.grad_norms) || !grads[v.name]) continue;
        const [got, want] = [grads[v.name].norm().dataSync()[0], ref.train_step.grad_norms[torch]];
        assert.ok(Math.abs(got - want) <= 1e-3 * want + 1e-8, `${torch}: |grad| ${got} after the cut, torch ${want}`);
        compared++;
      }
      assert.ok(compared >= 2, `only ${compared} gradient norms of the last block compared`);
      tf.dispose([x, labels, value, ...Object.values(grads)]);
      // Only the last block trains (and the head): fewer weights than the whole model, every one of them inside that block.
      const trained = model.variables.slice(0, -2).reduce((a, v) => a + v.size, 0);
      assert.ok(trained > 0 && trained <= blocks.at(-1)!.params, `${trained} weights train; the last block holds ${blocks.at(-1)!.params}`);
    } finally {
      model.dispose();
    }
  });
}

/** Tensor names of the hub's transformers 4 exports (Xenova/*, optimum's feature-extraction files), block ends first. */
const OLD_NAMES: { cards: string[]; ends: string[]; inside: string[] }[] = [
  {
    cards: ['vit-b16', 'vit-b32', 'vit-l16', 'vit-l32', 'dino-vits16', 'dino-vitb16', 'mae-base'],
    ends: ['/encoder/layer.0/output/Add_output_0', '/encoder/layer.11/output/Add_output_0', '/vit/encoder/layer.3/output/Add_output_0'],
    inside: ['/encoder/layer.0/Add_output_0', '/encoder/layer.0/output/dense/Add_output_0', '/encoder/layer.0/attention/output/dense/Add_output_0', '/encoder/layer.0/layernorm_before/Add_1_output_0', '/layernorm/Add_1_output_0'],
  },
  {
    cards: ['beit-base', 'data2vec-base'],
    ends: ['/encoder/layer.0/Add_1_output_0', '/beit/encoder/layer.11/Add_1_output_0', '/data2vec_vision/encoder/layer.5/Add_1_output_0'],
    inside: ['/encoder/layer.0/Add_output_0', '/encoder/layer.0/output/dense/Add_output_0', '/encoder/layer.0/layernorm_after/Add_1_output_0', '/encoder/relative_position_bias/Add_1_output_0'],
  },
  {
    cards: ['clip-vit-b32'],
    ends: ['/vision_model/encoder/layers.0/Add_1_output_0', '/vision_model/encoder/layers.10/Add_1_output_0'],
    inside: ['/vision_model/encoder/layers.0/Add_output_0', '/vision_model/encoder/layers.0/mlp/fc1/Add_output_0', '/vision_model/encoder/layers.0/layer_norm2/Add_1_output_0', '/vision_model/post_layernorm/Add_1_output_0'],
  },
  {
    cards: ['convnext-tiny', 'convnext-base'],
    ends: ['/encoder/stages.0/layers.2/Add_output_0', '/convnext/encoder/stages.2/layers.26/Add_output_0'],
    inside: ['/encoder/stages.0/layers.2/pwconv1/Add_output_0', '/encoder/stages.0/layers.2/layernorm/Add_1_output_0', '/encoder/stages.1/downsampling_layer.0/Add_1_output_0', '/layernorm/Add_1_output_0'],
  },
  {
    cards: ['efficientnet-b2', 'efficientnet-b6'],
    ends: ['/encoder/blocks.0/projection/project_bn/BatchNormalization_output_0', '/encoder/blocks.4/projection/Add_output_0', '/efficientnet/encoder/blocks.22/projection/project_conv/Conv_output_0'],
    inside: ['/encoder/blocks.4/squeeze_excite/Mul_output_0', '/encoder/blocks.4/expansion/expand_bn/BatchNormalization_output_0', '/encoder/top_conv/Conv_output_0', '/encoder/top_bn/BatchNormalization_output_0'],
  },
];

test('the blocks patterns accept the transformers 4 names of the hub files and no tensor inside a unit', () => {
  assert.deepEqual(OLD_NAMES.flatMap((g) => g.cards).sort(), STUDY_CARDS.map((c) => c.id).sort(), 'every card has its old names');
  for (const { cards, ends, inside } of OLD_NAMES) {
    for (const id of cards) {
      const re = new RegExp(card(id).blocks!);
      for (const name of ends) assert.ok(re.test(name), `${id}: ${name} should end a block`);
      for (const name of inside) assert.ok(!re.test(name), `${id}: ${name} is inside a unit`);
    }
  }
});

test("on a graph named as the hub's transformers 4 ViT exports, the ViT pattern cuts after each layer", () => {
  // tinyVit names its layers as those exports do (/encoder/layer.<i>/output/Add_output_0), then projects to `dim`.
  const bytes = tinyVit({ size: 32, patch: 8, dim: 12, layers: 3, fixedSpatial: true });
  const blocks = onnxBlocks(bytes, card('vit-b16').blocks!, 'last_hidden_state');
  assert.deepEqual(
    blocks.map((b) => b.end),
    ['/encoder/layer.0/output/Add_output_0', '/encoder/layer.1/output/Add_output_0', 'last_hidden_state'],
  );
});
