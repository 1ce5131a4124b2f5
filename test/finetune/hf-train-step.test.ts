/**
 * Fine-tuning on the study cards' real architectures (test/fixtures/hf: transformers' own models, shrunk, exported as
 * the hub's files are): every export translates to tfjs with no op left out, its output is transformers' feature,
 * and one training step through reprobe's fine-tuning model (onnxTrainModel under tools/hf_export.py's fixed head)
 * has torch's loss and torch's gradient norms; central differences check the gradients of a few weights.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { STUDY_CARDS } from '../../src/backbones/cards/study.ts';
import { tfjsBackend } from '../../src/runtime/tfjs.ts';
import type { OnnxCard } from '../../src/backbones/types.ts';
import { trainModel } from '../../src/train/loop.ts';
import { onnxTrainModel } from '../../src/finetune/onnx-model.ts';
import { onnxToTfjs } from '../../src/runtime/onnx-tfjs.ts';
import { registerWasmTraining } from '../../src/runtime/training-kernels.ts';
import { hfReference, pixelsFormula, type HfReference } from '../fixtures/hf-references.ts';
import { biasTableParts, hfBytes, onnxName, torchNames, trainStepKernel, trainStepLabels } from '../fixtures/hf-train.ts';

const ready = tfjsBackend().then((b) => b === 'wasm' && registerWasmTraining());

function reference(card: OnnxCard): HfReference {
  const ref = hfReference(card.id);
  assert.ok(ref, `${card.id}: no fixture in test/fixtures/hf`);
  return ref;
}

/** The fine-tuning model of the whole graph with the reference's head; its variables by ONNX name. */
function trainStepModel(card: OnnxCard, ref: HfReference) {
  const { classes } = ref.train_step;
  const model = onnxTrainModel(hfBytes(ref), card, { featureDim: ref.feature.dim, numClasses: classes, seed: 0, trainBackbone: true });
  const [kernel, bias] = model.variables.slice(-2);
  kernel.assign(tf.tensor2d(trainStepKernel(ref.feature.dim, classes), [ref.feature.dim, classes]));
  bias.assign(tf.zerosLike(bias));
  const byName = new Map(model.variables.slice(0, -2).map((v) => [onnxName(v.name, 'onnx')!, v]));
  return { model, byName, x: pixelsFormula(2, ref.size), y: trainStepLabels(2, classes) };
}

const lossOf = (m: ReturnType<typeof trainStepModel>, classes: number) =>
  tf.tidy(() => tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(m.y, 'int32'), classes), m.model.logits(tf.tensor(m.x, [m.y.length, ...m.model.inputShape]))) as tf.Scalar);

for (const card of STUDY_CARDS) {
  test(`${card.id}: the export translates whole, and its output pooled is transformers' feature (≤ 1e-4)`, async () => {
    await ready;
    const ref = reference(card);
    const graph = onnxToTfjs(hfBytes(ref), { outputs: [card.output.name], scope: `hf-${card.id}` });
    try {
      const n = ref.features.length;
      const y = tf.tidy(() => {
        const out = graph.run({ [graph.inputs[0]]: tf.tensor(pixelsFormula(n, ref.size), [n, 3, ref.size, ref.size]) })[0];
        const pooled = card.output.pooling === 'cls' ? out.slice([0, 0, 0], [-1, 1, -1]) : card.output.pooling === 'mean' ? out.slice([0, 1, 0], [-1, -1, -1]).mean(1) : out;
        return pooled.reshape([n, -1]).arraySync() as number[][];
      });
      let worst = 0;
      y.forEach((row, i) => row.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - ref.features[i][j])))));
      assert.equal(y[0].length, ref.feature.dim);
      assert.ok(worst <= 1e-4, `max |tfjs - transformers| ${worst}`);
    } finally {
      graph.dispose();
    }
  });

  test(`${card.id}: one fine-tuning step has torch's loss (≤ 1e-4) and gradient norms (rel. ≤ 1e-3) for every parameter the export names`, async (t) => {
    await ready;
    const ref = reference(card);
    const { classes, loss: torchLoss, grad_norms: torchNorms } = ref.train_step;
    const m = trainStepModel(card, ref);
    try {
      const { grads } = tf.variableGrads(() => lossOf(m, classes), [...m.byName.values()]);
      const names = torchNames(hfBytes(ref));
      let compared = 0;
      let worst = 0;
      for (const [onnx, v] of m.byName) {
        const torch = names.get(onnx);
        if (torch === undefined || !(torch in torchNorms)) continue;
        const got = grads[v.name] ? grads[v.name].norm().dataSync()[0] : 0;
        const want = torchNorms[torch];
        // Norms that are zero in exact arithmetic (a key bias: softmax ignores it) come out near 1e-10 on both sides.
        assert.ok(Math.abs(got - want) <= 1e-3 * want + 1e-8, `${torch} (${onnx}): |grad| ${got}, torch ${want}`);
        if (want > 1e-6) worst = Math.max(worst, Math.abs(got - want) / want);
        compared++;
      }
      // Every torch parameter the export keeps under its name is compared (folded ones, e.g. batch norms into convolutions, are not).
      const kept = new Set(names.values());
      assert.equal(compared, Object.keys(torchNorms).filter((t) => kept.has(t)).length);
      assert.ok(compared >= 10, `only ${compared} parameters compared`);
      // BEiT's relative position bias table is folded into the tensors its Resize and Concat read: their gradients
      // together are the table's (the check of Resize's gradient against torch).
      const table = Object.keys(torchNorms).find((n) => n.endsWith('relative_position_bias_table'));
      if (table) {
        const parts = biasTableParts(hfBytes(ref));
        const got = Math.hypot(...parts.map((p) => (grads[m.byName.get(p)!.name] ? grads[m.byName.get(p)!.name].norm().dataSync()[0] : 0)));
        assert.ok(parts.length >= 2 && Math.abs(got - torchNorms[table]) <= 1e-3 * torchNorms[table], `${table}: |grad| ${got} over ${parts.join(', ')}, torch ${torchNorms[table]}`);
      }
      tf.dispose(Object.values(grads));

      // The loss of one step of reprobe's training loop (micro-batches of one, summed into the batch's gradient).
      const out = await trainModel(m.model, { x: m.x, y: m.y }, { x: m.x, y: m.y }, { optimizer: { name: 'sgd', lr: 1e-10, weightDecay: 0 }, batchSize: 2, microBatch: 1, patience: 1, maxEpochs: 1, numClasses: classes, seed: 0 });
      const loss = out.curve[0].train_loss;
      assert.ok(Math.abs(loss - torchLoss) <= 1e-4, `loss ${loss}, torch ${torchLoss}`);
      t.diagnostic(`|loss - torch| ${Math.abs(loss - torchLoss).toExponential(2)}; ${compared} of ${Object.keys(torchNorms).length} gradient norms compared, worst rel. error ${worst.toExponential(2)} (norms > 1e-6)`);
    } finally {
      m.model.dispose();
    }
  });
}

/**
 * Central differences in float32: the loss (≈ 1) is exact to ~1e-7, so a step h leaves ~1e-7 / h of rounding in the
 * quotient; h = 1e-2 keeps that near 1e-5, small next to the gradients checked (≥ 1e-3), while the O(h²) term stays
 * small for these smooth losses. Per card, the weights with the largest gradients among a few kinds of parameter.
 */
const CHECKED: [string, RegExp][] = [
  ['vit-b16', /projection\.weight|onnx::MatMul|layernorm\.weight|mlp/],
  ['convnext-tiny', /dwconv\.weight|layer_scale|onnx::MatMul|downsampling_layer\.1\.weight/],
  ['efficientnet-b2', /onnx::Conv/],
  // BEiT's CLS token starts at zero, where its LayerNorm (eps 1e-12) is singular: weights the CLS row reaches are far
  // from linear over 1e-2 (torch's own float64 central difference needs h ≤ 1e-4 there), so the patch embedding only.
  ['beit-base', /patch_embeddings\.projection/],
];
for (const [id, pick] of CHECKED) {
  test(`${id}: translated gradients equal central differences of the loss for single weights`, async (t) => {
    await ready;
    const card = STUDY_CARDS.find((c) => c.id === id)!;
    const ref = reference(card);
    const { classes } = ref.train_step;
    const m = trainStepModel(card, ref);
    try {
      const vars = [...m.byName].filter(([n]) => pick.test(n)).map(([, v]) => v);
      const { grads } = tf.variableGrads(() => lossOf(m, classes), vars);
      const h = 1e-2;
      const at = (v: tf.Variable, k: number, delta: number) => {
        const keep = v.clone();
        v.assign(tf.tidy(() => v.add(tf.oneHot(k, v.size).reshape(v.shape).mul(delta))));
        const l = lossOf(m, classes);
        const value = l.dataSync()[0];
        v.assign(keep);
        tf.dispose([keep, l]);
        return value;
      };
      // Each variable's largest gradient entry; the three largest of those.
      const top = vars
        .filter((v) => grads[v.name])
        .map((v) => {
          const g = grads[v.name].dataSync();
          let k = 0;
          for (let i = 1; i < g.length; i++) if (Math.abs(g[i]) > Math.abs(g[k])) k = i;
          return { v, k, g: g[k] };
        })
        .filter((e) => Math.abs(e.g) >= 1e-3)
        .sort((a, b) => Math.abs(b.g) - Math.abs(a.g))
        .slice(0, 3);
      for (const { v, k, g } of top) {
        const numeric = (at(v, k, h) - at(v, k, -h)) / (2 * h);
        t.diagnostic(`${v.name}[${k}]: gradient ${g.toExponential(4)}, central difference ${numeric.toExponential(4)}, rel. ${(Math.abs(numeric - g) / Math.abs(g)).toExponential(2)}`);
        assert.ok(Math.abs(numeric - g) <= 2e-2 * Math.abs(g) + 2e-5, `${v.name}[${k}]: gradient ${g}, central difference ${numeric}`);
      }
      assert.ok(top.length >= 2, `only ${top.length} weights with a gradient ≥ 1e-3 among ${vars.map((v) => v.name).join(', ')}`);
      tf.dispose(Object.values(grads));
    } finally {
      m.model.dispose();
    }
  });
}
