/**
 * Dynamic int8 quantization (src/runtime/quantize.ts) on generated graphs, run on onnxruntime-node. No assertion
 * depends on one CPU's int8 kernels: the default 7-bit weights never saturate AVX2's 16-bit pair sums, so the integer
 * products are exact everywhere and the int8 model is checked against a plain JS replay of its arithmetic; full-range
 * and float comparisons use tolerances measured on AVX-512 VNNI and on an emulated AVX2 CPU (tools/avx2-check.sh).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import protos from 'onnx-proto';
import { parseCardFile } from '../../src/backbones/card-file.ts';
import { EMBEDDED_CARDS } from '../../src/backbones/cards/embedded.ts';
import { STUDY_CARDS } from '../../src/backbones/cards/study.ts';
import { quantizeDynamic, quantizeWeights, type QuantizeOptions, type WeightScheme } from '../../src/runtime/quantize.ts';
import { quantizedCard } from '../../src/backbones/quantized-card.ts';
import { BackboneError } from '../../src/errors.ts';
import { OnnxGraph } from '../../src/runtime/onnx-graph.ts';
import { seeded } from '../../src/util/rng.ts';
import { tinyConvNet, tinyVit } from '../fixtures/onnx-fixtures.ts';

const { onnx } = protos;
const rng = seeded(7);
const uniform = (n: number, scale = 1) => Float32Array.from({ length: n }, () => (rng() * 2 - 1) * scale);

async function run(bytes: Uint8Array, feeds: Record<string, { data: Float32Array; dims: number[] }>): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  const out = await session.run(Object.fromEntries(Object.entries(feeds).map(([k, f]) => [k, new ort.Tensor('float32', f.data, f.dims)])));
  await session.release();
  return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, t.data as Float32Array]));
}

/** Cosine and relative L2 error of b against a. */
function closeness(a: Float32Array, b: Float32Array): { cos: number; rel: number } {
  let [ab, aa, bb, dd] = [0, 0, 0, 0];
  for (let i = 0; i < a.length; i++) [ab, aa, bb, dd] = [ab + a[i] * b[i], aa + a[i] * a[i], bb + b[i] * b[i], dd + (a[i] - b[i]) ** 2];
  return { cos: ab / Math.sqrt(aa * bb), rel: Math.sqrt(dd / aa) };
}

const opCounts = (bytes: Uint8Array) => {
  const counts: Record<string, number> = {};
  for (const n of onnx.ModelProto.decode(bytes).graph!.node!) counts[n.opType!] = (counts[n.opType!] ?? 0) + 1;
  return counts;
};

/** A float initializer of a model by name. */
function initializer(bytes: Uint8Array, name: string): { dims: number[]; data: Float32Array | Int8Array | Uint8Array } {
  const t = onnx.ModelProto.decode(bytes).graph!.initializer!.find((x) => x.name === name)!;
  const raw = new Uint8Array(t.rawData!).buffer; // a copy: decoded bytes may view a larger buffer
  const data = t.dataType === onnx.TensorProto.DataType.FLOAT ? new Float32Array(raw) : t.dataType === onnx.TensorProto.DataType.INT8 ? new Int8Array(raw) : new Uint8Array(raw);
  return { dims: (t.dims ?? []).map(Number), data };
}

test('weights round-trip within scale / 2: int8, 7-bit int8, uint8, uint8 around 128; per tensor and per channel', () => {
  const [rows, cols] = [37, 11];
  const w = uniform(rows * cols);
  for (let c = 0; c < cols; c++) w[3 * cols + c] *= 1 + c; // columns of very different ranges
  const schemes: [WeightScheme, number, number, number | undefined][] = [
    // scheme, lowest and highest q, the one zero point of a symmetric scheme
    [{ type: 'int8' }, -127, 127, 0],
    [{ type: 'int8', reduceRange: true }, -64, 64, 0],
    [{ type: 'uint8' }, 0, 255, undefined],
    [{ type: 'uint8', symmetric: true }, 1, 255, 128],
  ];
  for (const [scheme, lo, hi, zero] of schemes)
    for (const channels of [1, cols]) {
      const channelOf = channels === 1 ? () => 0 : (i: number) => i % cols;
      const { q, scale, zeroPoint } = quantizeWeights(w, channels, channelOf, scheme);
      const what = `${JSON.stringify(scheme)} channels=${channels}`;
      for (let i = 0; i < w.length; i++) {
        const c = channelOf(i);
        const z = zeroPoint[zeroPoint.length === 1 ? 0 : c];
        assert.ok(q[i] >= lo && q[i] <= hi, `${what} q=${q[i]}`);
        assert.ok(Math.abs(w[i] - (q[i] - z) * scale[c]) <= scale[c] / 2 + 1e-7, `${what} element ${i}`);
      }
      if (zero !== undefined) {
        assert.deepEqual([...zeroPoint], [zero]); // symmetric: one zero point for every channel
        // The largest |w| of each channel lands on an end of the range.
        for (let c = 0; c < channels; c++) assert.equal(Math.max(...Array.from(q, (v, i) => (channelOf(i) === c ? Math.abs(v - zero) : 0))), hi - zero, what);
      }
    }
});

test('tiny ViT: every MatMul with a constant weight becomes the integer chain; names, inputs and outputs stay; outputs close to float', async () => {
  const float = tinyVit({ size: 32, patch: 8, width: 32, dim: 48, layers: 2 });
  const x = { pixel_values: { data: uniform(3 * 3 * 32 * 32, 2), dims: [3, 3, 32, 32] } };
  const want = await run(float, x);
  // Measured cosine / relative error, the same on VNNI and on emulated AVX2: 7-bit int8 ≥ 0.99993 / ≤ 0.0114, uint8
  // ≥ 0.99994 / ≤ 0.0108. Full-range int8: 0.99996 / 0.009 on VNNI but 0.986 / 0.167 on AVX2, whose 16-bit pair sums
  // saturate: hence the 7-bit default, and a bound for it that only says "not broken".
  const cases: [QuantizeOptions, number, number][] = [[{}, 0.999, 0.03], [{ perChannel: false }, 0.999, 0.03], [{ weightType: 'uint8' }, 0.999, 0.03], [{ reduceRange: false }, 0.97, 0.3]];
  for (const [opt, worst, maxRel] of cases) {
    const { bytes, summary } = quantizeDynamic(float, opt);
    // fc{0,1}_{a,b} and proj_w; the patch Conv stays float without `conv`.
    assert.deepEqual(summary.quantized.map((w) => w.weight).sort(), ['fc0_a', 'fc0_b', 'fc1_a', 'fc1_b', 'proj_w']);
    assert.deepEqual(summary.skipped, []);
    const before = opCounts(float);
    const after = opCounts(bytes);
    assert.equal(after.MatMul, undefined);
    for (const op of ['DynamicQuantizeLinear', 'MatMulInteger', 'Cast']) assert.equal(after[op], 5, op);
    assert.equal(after.Mul, before.Mul + 10); // x_scale · w_scale, then the product
    assert.equal(after.Conv, before.Conv);
    assert.deepEqual([summary.inputs, summary.outputs], [['pixel_values'], ['last_hidden_state', 'pooler_output']]);
    const got = await run(bytes, x);
    for (const k of Object.keys(want)) {
      const { cos, rel } = closeness(want[k], got[k]);
      assert.ok(cos >= worst && rel <= maxRel, `${JSON.stringify(opt)} ${k}: cosine ${cos}, relative error ${rel}`);
    }
    // The stored int8 weights dequantize to the float ones within scale / 2.
    const w = summary.quantized.find((q) => q.weight === 'fc0_a')!;
    const [orig, q, s, z] = [initializer(float, 'fc0_a'), initializer(bytes, w.parts.q), initializer(bytes, w.parts.scale), initializer(bytes, w.parts.zeroPoint)];
    assert.deepEqual(q.dims, orig.dims);
    for (let i = 0; i < orig.data.length; i++) {
      const c = s.data.length === 1 ? 0 : i % orig.dims[1];
      const deq = (q.data[i] - z.data[z.data.length === 1 ? 0 : c]) * s.data[c];
      assert.ok(Math.abs(orig.data[i] - deq) <= s.data[c] / 2 + 1e-7);
    }
    assert.ok(w.maxError <= w.maxScale / 2 + 1e-7);
  }
});

test('Gemm (transB, bias) matches a JS replay of its integer arithmetic on every CPU (7-bit weights: exact integer products)', async () => {
  const [n, k, m] = [5, 64, 24];
  const wt = uniform(m * k); // [N, K]
  const b = uniform(m, 0.5);
  const g = new OnnxGraph();
  g.node('Gemm', ['x', g.float('w', [m, k], wt), g.float('b', [m], b)], { transB: 1 }, 'y');
  const float = g.encodeModel({ name: 'gemm', inputs: [{ name: 'x', dims: ['n', k] }], outputs: [{ name: 'y', dims: ['n', m] }] });
  const x = uniform(n * k, 3);
  x[0] = 4; // a wide, asymmetric activation range
  const { bytes, summary } = quantizeDynamic(float);
  assert.deepEqual(opCounts(bytes), { DynamicQuantizeLinear: 1, MatMulInteger: 1, Cast: 1, Mul: 2, Add: 1 });
  const got = (await run(bytes, { x: { data: x, dims: [n, k] } })).y;
  // DynamicQuantizeLinear as the ONNX spec defines it (round half to even), int32 products, float32 scaling.
  const f = Math.fround;
  let [lo, hi] = [0, 0];
  for (const v of x) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  const xs = f((hi - lo) / 255);
  const even = (v: number) => (Math.abs(v % 1) === 0.5 ? 2 * Math.round(v / 2) : Math.round(v));
  const xz = Math.min(255, Math.max(0, even(-lo / xs)));
  const xq = Array.from(x, (v) => Math.min(255, Math.max(0, even(v / xs) + xz)));
  const w = summary.quantized[0];
  const [q, s] = [initializer(bytes, w.parts.q).data, initializer(bytes, w.parts.scale).data as Float32Array];
  const bias = initializer(bytes, 'y_bias').data;
  for (let r = 0; r < n; r++)
    for (let c = 0; c < m; c++) {
      let acc = 0;
      for (let i = 0; i < k; i++) acc += (xq[r * k + i] - xz) * q[i * m + c]; // stored as [K, N]
      const want = f(f(acc * f(xs * s[c])) + bias[c]);
      assert.ok(Math.abs(got[r * m + c] - want) <= 1e-5 * (1 + Math.abs(want)), `y[${r},${c}] = ${got[r * m + c]}, replay ${want}`);
    }
  // And the float model within quantization error.
  assert.ok(closeness((await run(float, { x: { data: x, dims: [n, k] } })).y, got).cos >= 0.999);
});

test('com.microsoft DynamicQuantizeMatMul gives what onnxruntime fuses the standard chain into', async () => {
  const float = tinyVit({ size: 32, patch: 8, width: 32, dim: 48, layers: 2 });
  const x = { pixel_values: { data: uniform(2 * 3 * 32 * 32, 2), dims: [2, 3, 32, 32] } };
  const contrib = quantizeDynamic(float, { contribOps: true }).bytes;
  assert.equal(opCounts(contrib).DynamicQuantizeMatMul, 5);
  assert.ok(onnx.ModelProto.decode(contrib).opsetImport!.some((o) => o.domain === 'com.microsoft'));
  const [a, b] = [await run(quantizeDynamic(float).bytes, x), await run(contrib, x)];
  for (const k of Object.keys(a)) assert.ok(closeness(a[k], b[k]).rel <= 1e-5, k);
});

test('tiny ConvNet with conv: ConvInteger for both convs (stride, padding), MatMul head, close to float', async () => {
  const float = tinyConvNet({ size: 32, stride: 4, channels: 16, dim: 10 });
  const x = { pixel_values: { data: uniform(3 * 3 * 32 * 32, 2), dims: [3, 3, 32, 32] } };
  const want = await run(float, x);
  assert.equal(quantizeDynamic(float).summary.quantized.length, 1); // the head only, without conv
  const { bytes, summary } = quantizeDynamic(float, { conv: true });
  assert.deepEqual(summary.quantized.map((w) => `${w.op}:${w.weight}:${w.type}:${w.channels}`), ['Conv:c1_w:uint8:16', 'Conv:c2_w:uint8:16', 'MatMul:head_w:int8:10']);
  // Conv weights per channel: uint8 around the one zero point ConvInteger takes.
  assert.deepEqual([...initializer(bytes, summary.quantized[0].parts.zeroPoint).data], [128]);
  const after = opCounts(bytes);
  assert.deepEqual([after.Conv, after.ConvInteger, after.MatMulInteger, after.DynamicQuantizeLinear], [undefined, 2, 1, 3]);
  const got = await run(bytes, x);
  // Measured 0.99993 / relative error 0.012, on VNNI and emulated AVX2 alike.
  for (const k of Object.keys(want)) assert.ok(closeness(want[k], got[k]).cos >= 0.999, `${k}: ${closeness(want[k], got[k]).cos}`);
});

test('BatchNormalization folds into its Conv; grouped convs, 3-D weights and computed weights stay float and are listed', async () => {
  const g = new OnnxGraph();
  const c = 8;
  const conv = g.node('Conv', ['x', g.float('cw', [c, 3, 3, 3], uniform(c * 27, 0.3))], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  const bnParams = ['gamma', 'beta', 'mean', 'var'].map((p, i) => g.float(p, [c], i === 3 ? Float32Array.from(uniform(c), (v) => 0.5 + Math.abs(v)) : uniform(c)));
  const bn = g.node('Relu', [g.node('BatchNormalization', [conv, ...bnParams], { epsilon: { f: 1e-3 } })]);
  const dw = g.node('Conv', [bn, g.float('dw', [c, 1, 3, 3], uniform(c * 9, 0.3))], { kernel_shape: [3, 3], group: c, pads: [1, 1, 1, 1] });
  const flat = g.node('Flatten', [g.node('GlobalAveragePool', [dw])], { axis: 1 });
  const tok = g.node('Unsqueeze', [flat, g.int64('ax', [1])]); // [n, 1, c]
  const w3 = g.node('MatMul', [tok, g.float('w3', [1, c, c], uniform(c * c))]); // 3-D weight
  const self = g.node('MatMul', [g.node('Transpose', [w3], { perm: [0, 2, 1] }), w3]); // computed weight
  g.node('Flatten', [self], { axis: 1 }, 'y');
  const float = g.encodeModel({ name: 'mixed', inputs: [{ name: 'x', dims: ['n', 3, 16, 16] }], outputs: [{ name: 'y', dims: ['n', c * c] }] });
  const { bytes, summary } = quantizeDynamic(float, { conv: true });
  assert.equal(summary.foldedBatchNorms, 1);
  assert.deepEqual(summary.quantized.map((w) => w.weight), ['cw_bnfolded']);
  assert.deepEqual(
    summary.skipped.map((s) => `${s.op}: ${s.reason}`),
    ['Conv: grouped (depthwise) conv: no faster as ConvInteger, kept float', 'MatMul: weight is 3-D [1,8,8]; only 2-D weights are quantized', 'MatMul: weight is computed, not a constant'],
  );
  assert.equal(opCounts(bytes).BatchNormalization, undefined);
  const x = { x: { data: uniform(2 * 3 * 16 * 16, 2), dims: [2, 3, 16, 16] } };
  assert.ok(closeness((await run(float, x)).y, (await run(bytes, x)).y).cos >= 0.999);
  const groupedToo = quantizeDynamic(float, { conv: true, groupedConv: true });
  assert.deepEqual(groupedToo.summary.quantized.map((w) => w.weight), ['cw_bnfolded', 'dw']);
  assert.ok(closeness((await run(float, x)).y, (await run(groupedToo.bytes, x)).y).cos >= 0.999);
});

test('a weight two MatMuls share is quantized once; an input two MatMuls read is quantized once', async () => {
  const g = new OnnxGraph();
  const w = g.float('shared', [6, 6], uniform(36));
  g.node('Add', [g.node('MatMul', ['x', w]), g.node('MatMul', ['x', w])], {}, 'y');
  const { bytes, summary } = quantizeDynamic(g.encodeModel({ name: 's', inputs: [{ name: 'x', dims: ['n', 6] }], outputs: [{ name: 'y', dims: ['n', 6] }] }));
  assert.equal(summary.quantized.length, 1);
  assert.deepEqual([opCounts(bytes).MatMulInteger, opCounts(bytes).DynamicQuantizeLinear], [2, 1]);
  assert.equal(onnx.ModelProto.decode(bytes).graph!.initializer!.filter((t) => t.name === 'shared').length, 0); // the float copy is gone
});

test('a model below opset 11 is refused with the fix', () => {
  const g = new OnnxGraph();
  g.node('MatMul', ['x', g.float('w', [2, 2], uniform(4))], {}, 'y');
  const old = g.encodeModel({ name: 'old', inputs: [{ name: 'x', dims: ['n', 2] }], outputs: [{ name: 'y', dims: ['n', 2] }], opset: 10 });
  assert.throws(() => quantizeDynamic(old), (e: Error) => e instanceof BackboneError && /opset 10.*opset 11/.test(e.message));
});

test("the quantized card is a user card (no source) with the float card's input, preprocessing and features", () => {
  const keras = EMBEDDED_CARDS[0];
  const k = parseCardFile(quantizedCard(keras, { input: 'input', output: `feat:${keras.tap}` }, 'int8'), '/m/k.onnx');
  assert.deepEqual([k.id, k.input.name, k.input.layout, k.output.name, k.output.pooling, k.featureDim], [`${keras.id}-int8`, 'input', 'NHWC', `feat:${keras.tap}`, 'none', keras.featureDim]);
  assert.deepEqual(k.preprocess, keras.preprocess);
  const clip = STUDY_CARDS.find((c) => c.id === 'clip-vit-b32')!;
  const h = parseCardFile(quantizedCard(clip, { input: 'pixel_values', output: 'image_embeds' }, 'int8'), '/m/h.onnx');
  assert.deepEqual([h.output, h.input, h.preprocess, h.text], [clip.output, clip.input, clip.preprocess, undefined]);
  assert.deepEqual(h.source, { kind: 'file', path: '/m/h.onnx' });
});
