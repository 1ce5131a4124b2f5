/**
 * The ops the Hugging Face exports added to the ONNX → tfjs translation, on generated graphs against onnxruntime:
 * ceil-mode pools (EfficientNet's pooler), Resize (BEiT's relative position table), ScatterND and Range (its index
 * arithmetic); Resize's gradient against central differences; and parameters the exporter deduplicated training apart.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { tfjsBackend } from '../../src/runtime/tfjs.ts';
import { onnxToTfjs } from '../../src/runtime/onnx-tfjs.ts';
import { registerWasmTraining } from '../../src/runtime/training-kernels.ts';
import { OnnxGraph } from '../../src/runtime/onnx-graph.ts';
import { seeded } from '../../src/util/rng.ts';
import { translationGaps } from '../fixtures/translation-gaps.ts';

const rng = seeded(24);
const randn = (n: number, scale = 1) => Float32Array.from({ length: n }, () => (rng() * 2 - 1) * scale);
const ready = tfjsBackend().then((b) => b === 'wasm' && registerWasmTraining());

/** Every output of the graph by tfjs and by onnxruntime on the same random input: the largest difference, per output. */
async function diffs(bytes: Uint8Array, dims: number[], outputs: string[]): Promise<number[]> {
  await ready;
  return translationGaps(bytes, randn(dims.reduce((a, b) => a * b, 1)), dims, outputs);
}

test('ceil-mode pools match onnxruntime: windows past the end, a kernel larger than the input, padding counted or not', async () => {
  const g = new OnnxGraph();
  g.node('AveragePool', ['x'], { kernel_shape: [4, 4], strides: [4, 4], ceil_mode: 1 }, 'a_ceil');
  g.node('AveragePool', ['x'], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1, count_include_pad: 1 }, 'a_ceil_pads');
  g.node('AveragePool', ['x'], { kernel_shape: [3, 2], strides: [2, 3], pads: [0, 1, 1, 0], ceil_mode: 1 }, 'a_ceil_uncounted');
  // EfficientNet's pooler: AvgPool2d(hidden_dim, ceil_mode=True), a kernel larger than the feature map.
  g.node('AveragePool', ['x'], { kernel_shape: [16, 16], strides: [16, 16], ceil_mode: 1, count_include_pad: 1 }, 'a_big');
  g.node('MaxPool', ['x'], { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 }, 'm_ceil');
  // Ceil division would add a window starting in the end pad (at 9 of 9 rows); ONNX and PyTorch drop it.
  g.node('AveragePool', ['x'], { kernel_shape: [2, 2], strides: [3, 3], pads: [0, 0, 1, 1], ceil_mode: 1 }, 'a_ceil_dropped');
  const outs = ['a_ceil', 'a_ceil_pads', 'a_ceil_uncounted', 'a_big', 'm_ceil', 'a_ceil_dropped'];
  const bytes = g.encodeModel({ name: 'ceil_pools', inputs: [{ name: 'x', dims: ['batch', 3, 9, 7] }], outputs: outs.map((name) => ({ name, dims: ['batch', 3, 'h', 'w'] })) });
  (await diffs(bytes, [2, 3, 9, 7], outs)).forEach((d, i) => assert.ok(d <= 1e-5, `${outs[i]}: max |tfjs - onnxruntime| ${d}`));
});

test('Resize matches onnxruntime: linear and nearest, each coordinate transform, sizes and scales, up and down', async () => {
  const g = new OnnxGraph();
  const sizes = (name: string, v: number[]) => g.int64(name, v);
  const scales = (name: string, v: number[]) => g.float(name, [v.length], Float32Array.from(v));
  g.node('Resize', ['x', '', '', sizes('s1', [2, 2, 8, 6])], { mode: 'linear' }, 'lin_half_up');
  g.node('Resize', ['x', '', '', sizes('s2', [2, 2, 3, 7])], { mode: 'linear', coordinate_transformation_mode: 'align_corners' }, 'lin_corners');
  g.node('Resize', ['x', '', scales('c1', [1, 1, 0.5, 1.5])], { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' }, 'lin_pytorch');
  g.node('Resize', ['x', '', scales('c2', [1, 1, 2, 2])], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }, 'near_asym');
  g.node('Resize', ['x', '', '', sizes('s3', [2, 2, 7, 3])], { mode: 'nearest' }, 'near_half');
  g.node('Resize', ['x', '', '', sizes('s4', [2, 2, 5, 4])], { mode: 'linear' }, 'identity');
  const outs = ['lin_half_up', 'lin_corners', 'lin_pytorch', 'near_asym', 'near_half', 'identity'];
  const bytes = g.encodeModel({ name: 'resize', inputs: [{ name: 'x', dims: [2, 2, 5, 4] }], outputs: outs.map((name) => ({ name, dims: [2, 2, 'h', 'w'] })), opset: 13 });
  (await diffs(bytes, [2, 2, 5, 4], outs)).forEach((d, i) => assert.ok(d <= 1e-5, `${outs[i]}: max |tfjs - onnxruntime| ${d}`));
});

test('ScatterND and Range (integer index arithmetic) match onnxruntime', async () => {
  const g = new OnnxGraph();
  const scalar = (name: string, v: number) => g.node('Squeeze', [g.int64(name, [v]), g.int64(`${name}_axes`, [0])]);
  const width = g.node('Squeeze', [g.node('Gather', [g.node('Shape', ['x']), g.int64('i3', [3])]), g.int64('sq', [0])]);
  const range = g.node('Range', [scalar('zero', 0), width, scalar('one', 1)]);
  const idx = g.node('Reshape', [g.int64('idx', [1, -3]), g.int64('idx_shape', [2, 1])]);
  const scattered = g.node('ScatterND', [range, idx, g.int64('upd', [7, 9])]);
  g.node('Mul', ['x', g.node('Cast', [scattered], { to: 1 })], {}, 'y');
  const bytes = g.encodeModel({ name: 'index_ops', inputs: [{ name: 'x', dims: ['batch', 2, 3, 6] }], outputs: [{ name: 'y', dims: ['batch', 2, 3, 6] }] });
  const [d] = await diffs(bytes, [2, 2, 3, 6], ['y']);
  assert.ok(d <= 1e-6, `max |tfjs - onnxruntime| ${d}`);
});

test("Resize's gradient (a trainable table resized, as BEiT's position bias) equals central differences", async () => {
  await ready;
  const g = new OnnxGraph();
  const table = g.float('table', [1, 2, 3, 3], randn(18));
  g.node('Add', ['x', g.node('Resize', [table, '', '', g.int64('size', [1, 2, 5, 4])], { mode: 'linear' })], {}, 'y');
  const graph = onnxToTfjs(g.encodeModel({ name: 'resize_grad', inputs: [{ name: 'x', dims: [1, 2, 5, 4] }], outputs: [{ name: 'y', dims: [1, 2, 5, 4] }] }));
  const x = tf.tensor(randn(40), [1, 2, 5, 4]);
  const r = tf.tensor(randn(40), [1, 2, 5, 4]);
  const v = graph.variables.get('table')!;
  const loss = () => tf.tidy(() => graph.run({ x })[0].mul(r).sum() as tf.Scalar);
  try {
    const { grads } = tf.variableGrads(loss, [v]);
    const grad = grads[v.name].dataSync();
    const keep = v.clone();
    for (let k = 0; k < v.size; k++) {
      const at = (h: number) => {
        v.assign(tf.tidy(() => keep.add(tf.oneHot(k, v.size).reshape(v.shape).mul(h))));
        return loss().dataSync()[0];
      };
      // The loss is linear in the table: the quotient is exact up to float32 rounding.
      const numeric = (at(0.5) - at(-0.5)) / 1;
      assert.ok(Math.abs(numeric - grad[k]) <= 1e-4, `table[${k}]: gradient ${grad[k]}, central difference ${numeric}`);
    }
    v.assign(keep);
    tf.dispose([keep, ...Object.values(grads)]);
  } finally {
    tf.dispose([x, r]);
    graph.dispose();
  }
});

test('parameters the exporter deduplicated (Identity copies named as parameters) train apart; folded copies stay tied', async () => {
  await ready;
  const g = new OnnxGraph();
  const b = g.float('model.a.bias', [3], Float32Array.of(0, 0, 0));
  g.node('Identity', [b], {}, 'model.b.bias');
  g.node('Identity', [b], {}, 'onnx::Add_7');
  const y = g.node('Add', [g.node('Add', ['x', b]), g.node('Mul', ['model.b.bias', g.float('two', [1], Float32Array.of(2))])]);
  g.node('Add', [y, g.node('Mul', ['onnx::Add_7', g.float('ten', [1], Float32Array.of(10))])], {}, 'out');
  const graph = onnxToTfjs(g.encodeModel({ name: 'dedup', inputs: [{ name: 'x', dims: [1, 3] }], outputs: [{ name: 'out', dims: [1, 3] }] }));
  try {
    assert.deepEqual([...graph.variables.keys()].sort(), ['model.a.bias', 'model.b.bias']);
    const x = tf.ones([1, 3]);
    const { grads } = tf.variableGrads(() => graph.run({ x })[0].sum() as tf.Scalar, [...graph.variables.values()]);
    const of = (name: string) => Array.from(grads[graph.variables.get(name)!.name].dataSync());
    // d/da = 1 + 10 (the onnx::* copy is a folded use of a), d/db = 2.
    assert.deepEqual(of('model.a.bias'), [11, 11, 11]);
    assert.deepEqual(of('model.b.bias'), [2, 2, 2]);
    tf.dispose([x, ...Object.values(grads)]);
  } finally {
    graph.dispose();
  }
});
