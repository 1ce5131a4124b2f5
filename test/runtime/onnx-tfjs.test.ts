import assert from 'node:assert/strict';
import test from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { convertedOnnx } from '../../src/backbones/keras-backbone.ts';
import { loadNsfwjsModel } from '../../src/backbones/keras/nsfwjs-files.ts';
import { resolveCard } from '../../src/backbones/registry.ts';
import { loadTfjsModel, tfjsBackend } from '../../src/runtime/tfjs.ts';
import type { KerasCard } from '../../src/backbones/types.ts';
import { onnxToTfjs } from '../../src/runtime/onnx-tfjs.ts';
import { registerWasmTraining } from '../../src/runtime/training-kernels.ts';
import { OnnxGraph } from '../../src/runtime/onnx-graph.ts';
import { seeded } from '../../src/util/rng.ts';
import { tinyClipVision, tinyConvNet, tinyVit } from '../fixtures/onnx-fixtures.ts';
import { translationGaps } from '../fixtures/translation-gaps.ts';

const rng = seeded(11);
const randn = (n: number, scale = 1) => Float32Array.from({ length: n }, () => (rng() * 2 - 1) * scale);

/** Every op of the translation list in one graph (opset 17), weights drawn from a seed. */
function opZoo(): Uint8Array {
  const g = new OnnxGraph();
  const w = (name: string, dims: number[], scale = 0.5) => g.float(name, dims, randn(dims.reduce((a, b) => a * b, 1), scale));
  const f = (name: string, v: number) => g.float(name, [], Float32Array.of(v));
  const c1 = g.node('Conv', ['x', w('w1', [6, 3, 3, 3]), w('b1', [6])], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  const bn = g.node('BatchNormalization', [c1, w('bn_s', [6]), w('bn_b', [6]), w('bn_m', [6]), g.float('bn_v', [6], Float32Array.from(randn(6), (v) => Math.abs(v) + 0.5))], { epsilon: { f: 1e-3 } });
  const r6 = g.node('Clip', [bn, f('lo', 0), f('hi', 6)]);
  const dw = g.node('Conv', [r6, w('wd', [6, 1, 3, 3]), w('bd', [6])], { group: 6, strides: [2, 2], pads: [1, 1, 1, 1], kernel_shape: [3, 3] });
  const gc = g.node('Conv', [dw, w('wg', [6, 3, 1, 1])], { group: 2 });
  const hs = g.node('HardSigmoid', [gc], { alpha: { f: 0.3 } });
  const mp = g.node('MaxPool', [g.node('Relu', [hs])], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  const ap = g.node('AveragePool', [mp], { kernel_shape: [2, 2], strides: [2, 2] });
  const pd = g.node('Pad', [ap, g.int64('pads', [0, 0, 1, 1, 0, 0, 1, 1]), f('pv', 0.5)]);
  g.node('Split', [pd, g.int64('split', [2, 4])], { axis: 1 }, ['sa', 'sb']);
  const cat = g.node('Concat', ['sb', 'sa'], { axis: 1 });
  const sl = g.node('Slice', [cat, g.int64('st', [1]), g.int64('en', [3]), g.int64('ax', [2])]);
  const m = g.node('Mul', [g.node('Sigmoid', [sl]), g.node('Tanh', [sl])]);
  const fl = g.node('Flatten', [g.node('GlobalAveragePool', [m])], { axis: 1 });
  const ln = g.node('LayerNormalization', [g.node('Unsqueeze', [fl, g.int64('ua', [1])]), w('ln_s', [6]), w('ln_b', [6])], { axis: -1, epsilon: { f: 1e-5 } });
  const mm = g.node('MatMul', [ln, w('wm', [6, 8])]);
  const erf = g.node('Erf', [g.node('Div', [mm, f('sqrt2', Math.SQRT2)])]);
  const gelu = g.node('Mul', [g.node('Mul', [mm, g.node('Add', [erf, f('one', 1)])]), f('half', 0.5)]);
  const sq = g.node('Sqrt', [g.node('Add', [g.node('Pow', [gelu, f('two', 2)]), f('one_b', 1)])]);
  const sm = g.node('Squeeze', [g.node('Softmax', [sq], { axis: -1 }), g.int64('sqa', [1])]);
  // Shape arithmetic: [batch] from Shape and Gather, then [batch, 2, 4].
  const n = g.node('Gather', [g.node('Shape', [sm]), g.int64('i0', [0])], { axis: 0 });
  const shaped = g.node('Reshape', [sm, g.node('Concat', [n, g.int64('rest', [2, 4])], { axis: 0 })]);
  const rm = g.node('ReduceMean', [g.node('Transpose', [shaped], { perm: [0, 2, 1] })], { axes: [2], keepdims: 0 });
  const gm = g.node('Gemm', [rm, w('wgm', [3, 4]), w('bgm', [3])], { transB: 1, alpha: { f: 0.7 } });
  g.node('Sub', [g.node('Exp', [gm]), g.node('Neg', [gm])], {}, 'y');
  return g.encodeModel({ name: 'op_zoo', inputs: [{ name: 'x', dims: ['batch', 3, 8, 8] }], outputs: [{ name: 'y', dims: ['batch', 3] }], opset: 17 });
}

/** Reverse and strided slices, padded average pools (with and without the padding counted), a padded max pool. */
function slicesAndPools(): Uint8Array {
  const g = new OnnxGraph();
  const big = 2 ** 62;
  const rev = g.node('Slice', ['x', g.int64('r_st', [-1]), g.int64('r_en', [-big]), g.int64('r_ax', [3]), g.int64('r_sp', [-1])]);
  const strided = g.node('Slice', [rev, g.int64('s_st', [0]), g.int64('s_en', [big]), g.int64('s_ax', [2]), g.int64('s_sp', [2])]);
  const w = g.float('w', [4, 3, 3, 3], randn(108, 0.4));
  const c = g.node('Conv', [strided, w], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  const a1 = g.node('AveragePool', [c], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  const a2 = g.node('AveragePool', [c], { kernel_shape: [3, 3], pads: [1, 0, 1, 2], count_include_pad: 1 });
  const m = g.node('MaxPool', [c], { kernel_shape: [2, 2], strides: [2, 2], pads: [0, 0, 1, 1] });
  const flat = (t: string) => g.node('Flatten', [t], { axis: 1 });
  g.node('Concat', [flat(a1), flat(a2), flat(m)], { axis: 1 }, 'y');
  return g.encodeModel({ name: 'slices_pools', inputs: [{ name: 'x', dims: ['batch', 3, 8, 7] }], outputs: [{ name: 'y', dims: ['batch', 'n'] }] });
}

function gelu20(): Uint8Array {
  const g = new OnnxGraph();
  g.node('Gelu', ['x'], {}, 'y');
  g.node('Gelu', ['x'], { approximate: 'tanh' }, 'y_tanh');
  return g.encodeModel({ name: 'gelu', inputs: [{ name: 'x', dims: ['batch', 5] }], outputs: [{ name: 'y', dims: ['batch', 5] }, { name: 'y_tanh', dims: ['batch', 5] }], opset: 20 });
}

/** The largest difference of any output between the tfjs translation and onnxruntime on one random input. */
async function maxDiff(bytes: Uint8Array, dims: number[]): Promise<number> {
  return Math.max(...(await translationGaps(bytes, randn(dims.reduce((a, b) => a * b, 1)), dims)));
}

test('the ONNX translation runs as onnxruntime does (≤ 1e-4) on generated graphs covering every listed op', async () => {
  const backend = await tfjsBackend();
  if (backend === 'wasm') registerWasmTraining();
  const cases: [string, Uint8Array, number[]][] = [
    ['op zoo', opZoo(), [2, 3, 8, 8]],
    ['slices and pools', slicesAndPools(), [2, 3, 8, 7]],
    ['gelu (opset 20)', gelu20(), [3, 5]],
    ['tiny ViT', tinyVit({ size: 16, patch: 4, dim: 12 }), [2, 3, 16, 16]],
    ['tiny ConvNet', tinyConvNet({ size: 16, stride: 2, dim: 10 }), [2, 3, 16, 16]],
    ['tiny CLIP image tower', tinyClipVision({ size: 16, patch: 8, embed: 6 }), [2, 3, 16, 16]],
  ];
  for (const [name, bytes, dims] of cases) {
    const d = await maxDiff(bytes, dims);
    assert.ok(d <= 1e-4, `${name}: max |tfjs - onnxruntime| ${d}`);
  }
});

test('round trip on real weights: nsfwjs layers → reprobe ONNX converter → tfjs translation gives the layers model\'s features', async () => {
  await tfjsBackend();
  const card = resolveCard('mobilenet-v2') as KerasCard;
  const files = loadNsfwjsModel(card.source.model);
  const x = Float32Array.from(randn(2 * 224 * 224 * 3), (v) => (v + 1) / 2);
  const dims = [2, 224, 224, 3];
  const layers = await loadTfjsModel(files, [card.tap]);
  const graph = onnxToTfjs(await convertedOnnx(card, files, [card.tap]));
  try {
    const [ref] = await layers.run(x, dims);
    const got = tf.tidy(() => graph.run({ [graph.inputs[0]]: tf.tensor(x, dims) })[0].dataSync());
    let worst = 0;
    ref.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - got[i]))));
    assert.ok(worst <= 1e-4, `max |translated - layers model| ${worst}`);
    assert.ok(graph.variables.size > 50, 'the weights are variables');
  } finally {
    layers.dispose();
    graph.dispose();
  }
});

for (const [fixture, make, dims, names] of [
  ['the op zoo', opZoo, [2, 3, 8, 8], ['w1', 'wd', 'ln_s', 'wm', 'wgm']],
  ['padded pools and strided slices', slicesAndPools, [2, 3, 8, 7], ['w']],
] as const) {
test(`translated gradients match central differences on ${fixture}; only weights train`, async () => {
  await tf.setBackend('cpu');
  const graph = onnxToTfjs(make());
  const x = tf.tensor(randn(dims.reduce((a, b) => a * b, 1)), [...dims]);
  const loss = () => tf.tidy(() => graph.run({ x })[0].square().sum() as tf.Scalar);
  if (fixture === 'the op zoo') for (const constant of ['bn_m', 'bn_v', 'lo', 'hi', 'pv', 'two', 'half']) assert.ok(!graph.variables.has(constant), `${constant} is not a weight`);
  const vars = names.map((n) => graph.variables.get(n)!);
  const { grads } = tf.variableGrads(loss, vars);
  for (const [k, v] of vars.entries()) {
    const analytic = grads[v.name].dataSync();
    const values = v.dataSync().slice();
    // The three largest components of each gradient, where float32 differences are meaningful.
    const top = [...analytic.keys()].sort((a, b) => Math.abs(analytic[b]) - Math.abs(analytic[a])).slice(0, 3);
    for (const i of top) {
      const at = (delta: number) => {
        const moved = values.slice();
        moved[i] += delta;
        v.assign(tf.tensor(moved, v.shape));
        return loss().dataSync()[0];
      };
      const h = 1e-2;
      const numeric = (at(h) - at(-h)) / (2 * h);
      v.assign(tf.tensor(values, v.shape));
      assert.ok(Math.abs(numeric - analytic[i]) <= 0.02 * Math.abs(analytic[i]) + 1e-3, `${names[k]}[${i}]: analytic ${analytic[i]} vs numeric ${numeric}`);
    }
  }
  tf.dispose([x, ...Object.values(grads)]);
  graph.dispose();
});
}

test('an op without a translation stops with one line naming the op and its node', () => {
  const g = new OnnxGraph();
  g.node('Relu', [g.node('LpNormalization', ['x'], {}, 'odd')], {}, 'y');
  const bytes = g.encodeModel({ name: 'odd', inputs: [{ name: 'x', dims: ['b', 4] }], outputs: [{ name: 'y', dims: ['b', 4] }] });
  assert.throws(() => onnxToTfjs(bytes), (err: Error) => /^ONNX op LpNormalization \(node "odd_node"\) has no tfjs translation; translated: .*Conv.*$/.test(err.message) && !err.message.includes('\n'));
});
