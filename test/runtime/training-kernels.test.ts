import assert from 'node:assert/strict';
import test from 'node:test';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { channelAffineGrad, channelAffineRelu6, channelAffineValue, registerWasmTraining, relu6, trainingGemm, useTrainingGemm } from '../../src/runtime/training-kernels.ts';
import { openSyncGemm } from '../../src/runtime/ort.ts';
import { seeded } from '../../src/util/rng.ts';

/** Gradients of Σ f² (or of Σ f·w: an upstream gradient w, not zero where f is) at the inputs on one backend, as plain arrays. */
async function gradsOn(backend: string, f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: { data: Float32Array; shape: number[] }[], w?: Float32Array): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  await tf.ready();
  const xs = inputs.map((i) => tf.tensor(i.data, i.shape));
  const gs = tf.grads((...a: tf.Tensor[]) => (w ? f(...a).mul(tf.tensor(w, a[0].shape)) : f(...a).square()).sum())(xs);
  const out = await Promise.all(gs.map(async (g) => (await g.data()) as Float32Array));
  tf.dispose([...xs, ...gs]);
  return out;
}

const random = (shape: number[], rng: () => number) => ({ data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng() * 2 - 1), shape });

function assertClose(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length, what);
  const scale = Math.max(1, ...b.map(Math.abs));
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  assert.ok(worst <= 1e-4 * scale, `${what}: max |wasm - cpu| ${worst} (scale ${scale})`);
}

const CASES: { name: string; shapes: number[][]; f: (...xs: tf.Tensor[]) => tf.Tensor }[] = [
  { name: 'conv2d 1x1', shapes: [[2, 5, 6, 7], [1, 1, 7, 9]], f: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'valid') },
  { name: 'conv2d 3x3 same', shapes: [[2, 7, 6, 3], [3, 3, 3, 4]], f: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same') },
  { name: 'conv2d 3x3 stride 2 same', shapes: [[2, 9, 8, 3], [3, 3, 3, 5]], f: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same') },
  { name: 'conv2d 1x7 valid', shapes: [[1, 8, 9, 4], [1, 7, 4, 3]], f: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'valid') },
  { name: 'conv2d 1x1 stride 2', shapes: [[2, 6, 6, 4], [1, 1, 4, 3]], f: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'valid') },
  { name: 'depthwise 3x3 same', shapes: [[2, 7, 7, 5], [3, 3, 5, 1]], f: (x, w) => tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same') },
  { name: 'depthwise 3x3 stride 2 valid', shapes: [[2, 9, 8, 4], [3, 3, 4, 1]], f: (x, w) => tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'valid') },
  // Channels a multiple of 4: reprobe's SIMD kernel (src/runtime/simd/); the others take the JavaScript loops.
  { name: 'depthwise 3x3 same, 8 channels (SIMD)', shapes: [[2, 7, 6, 8], [3, 3, 8, 1]], f: (x, w) => tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same') },
  { name: 'depthwise 3x3 stride 2 same, 12 channels (SIMD)', shapes: [[3, 9, 8, 12], [3, 3, 12, 1]], f: (x, w) => tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same') },
  { name: 'depthwise 5x3 valid, 4 channels (SIMD)', shapes: [[1, 11, 9, 4], [5, 3, 4, 1]], f: (x, w) => tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'valid') },
  { name: 'depthwise multiplier 2', shapes: [[1, 6, 5, 3], [3, 3, 3, 2]], f: (x, w) => tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same') },
  { name: 'matmul transposed', shapes: [[7, 5], [6, 7]], f: (a, b) => tf.matMul(a, b, true, true) },
  { name: 'batched matmul transposed A', shapes: [[3, 4, 5], [3, 4, 2]], f: (a, b) => tf.matMul(a, b, true, false) },
];

/** Products of at least 2^18 multiply-adds, which go to onnxruntime's GEMM (smaller ones stay on wasm's XNNPACK). */
const LARGE: typeof CASES = [
  { name: 'conv2d 1x1 (forward, both gradients on onnxruntime)', shapes: [[2, 24, 20, 32], [1, 1, 32, 48]], f: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'valid') },
  { name: 'conv2d 3x3 stride 2, 3 channels (the stem: filter gradient per tap)', shapes: [[2, 40, 38, 3], [3, 3, 3, 32]], f: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same') },
  { name: 'conv2d 3x3 same, 24 channels', shapes: [[1, 20, 20, 24], [3, 3, 24, 40]], f: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same') },
  { name: 'conv2d 3x3 stride 2, uneven explicit padding, 16 channels (im2col)', shapes: [[2, 21, 18, 16], [3, 3, 16, 24]], f: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, [[0, 0], [0, 1], [2, 0], [0, 0]]) },
  { name: 'matmul, A transposed', shapes: [[300, 70], [300, 90]], f: (a, b) => tf.matMul(a, b, true, false) },
  { name: 'matmul, B transposed', shapes: [[120, 300], [80, 300]], f: (a, b) => tf.matMul(a, b, false, true) },
  { name: 'matmul, both transposed', shapes: [[300, 70], [90, 300]], f: (a, b) => tf.matMul(a, b, true, true) },
  { name: 'dense layer', shapes: [[64, 512], [512, 100]], f: (a, b) => tf.matMul(a, b) },
];

for (const gemm of ['onnxruntime', 'wasm'] as const) {
  test(`the wasm training kernels give the cpu backend's gradients (conv filter and input, depthwise, transposed matmul), matrix products on ${gemm}`, async () => {
    await tf.setBackend('wasm');
    await tf.ready();
    registerWasmTraining();
    useTrainingGemm(gemm, 2);
    // onnxruntime-node's binding runs synchronously here (the lockfile's version): the products do go there.
    assert.equal(trainingGemm(), gemm === 'wasm' ? 'wasm' : 'onnxruntime (2 threads)');
    // Count the products onnxruntime runs (the instance the kernels hold: one per thread count).
    const ort = openSyncGemm(2)!;
    const run = ort.run;
    let calls = 0;
    ort.run = (...args) => (calls++, run.apply(ort, args));
    const rng = seeded(7);
    try {
      for (const c of [...CASES, ...LARGE]) {
        const before = calls;
        const inputs = c.shapes.map((s) => random(s, rng));
        const cpu = await gradsOn('cpu', c.f, inputs);
        const wasm = await gradsOn('wasm', c.f, inputs);
        cpu.forEach((g, i) => assertClose(wasm[i], g, `${c.name}, gradient ${i}`));
        // The forward values too: the 1x1 convolution and the products run there.
        const xs = inputs.map((i) => tf.tensor(i.data, i.shape));
        await tf.setBackend('cpu');
        const cpuY = (await c.f(...inputs.map((i) => tf.tensor(i.data, i.shape))).data()) as Float32Array;
        await tf.setBackend('wasm');
        assertClose((await c.f(...xs).data()) as Float32Array, cpuY, `${c.name}, forward`);
        tf.dispose(xs);
        if (gemm === 'wasm') assert.equal(calls, 0, c.name);
        else if (LARGE.includes(c)) assert.ok(calls > before, `${c.name}: no product ran on onnxruntime`);
      }
    } finally {
      ort.run = run;
      useTrainingGemm('onnxruntime');
    }
  });
}

test('relu6\'s fused gradient on wasm is exactly tfjs-layers\' relu then clipByValue on the cpu backend, at 0, 6 and between', async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmTraining();
  const rng = seeded(3);
  // 4k + 3 elements: the SIMD loop and the scalar tail; the boundaries and values past them on purpose.
  const data = Float32Array.from({ length: 4 * 301 + 3 }, (_, i) => [0, 6, -0, 6.000001, -1e-7][i % 9] ?? (rng() * 2 - 1) * 9);
  const input = [{ data, shape: [data.length] }];
  const cpu = await gradsOn('cpu', (x) => tf.clipByValue(tf.relu(x), 0, 6), input);
  const wasm = await gradsOn('wasm', (x) => relu6(x), input);
  assert.deepEqual(wasm[0], cpu[0]);
});

test('the fused x·a + b per channel and its gradient on wasm give tfjs\'s mul and add and their gradients on the cpu backend', async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmTraining();
  const affine = tf.customGrad((x, a, b, save) => {
    (save as tf.GradSaveFunc)([x as tf.Tensor, a as tf.Tensor]);
    return { value: channelAffineValue(x as tf.Tensor, a as tf.Tensor, b as tf.Tensor), gradFunc: (dy: tf.Tensor | tf.Tensor[], [xs, as]: tf.Tensor[]) => channelAffineGrad(dy as tf.Tensor, xs, as) };
  }) as (x: tf.Tensor, a: tf.Tensor, b: tf.Tensor) => tf.Tensor;
  const rng = seeded(5);
  // 12 channels: the SIMD kernel; 5: tfjs ops.
  for (const shape of [[2, 5, 6, 12], [3, 4, 3, 5], [7, 8]]) {
    const c = shape[shape.length - 1];
    const inputs = [random(shape, rng), random([c], rng), random([c], rng)];
    const cpu = await gradsOn('cpu', (x, a, b) => tf.add(tf.mul(x, a), b), inputs);
    const wasm = await gradsOn('wasm', affine, inputs);
    cpu.forEach((g, i) => assertClose(wasm[i], g, `affine ${shape.join('x')}, gradient ${i}`));
    // The forward value: one multiply and one add per element, so equal to the float32 bit (no fused multiply-add in wasm SIMD).
    const [x, a, b] = inputs.map((i) => tf.tensor(i.data, i.shape));
    const y = (await affine(x, a, b).data()) as Float32Array;
    tf.dispose([x, a, b]);
    await tf.setBackend('cpu');
    const [xc, ac, bc] = inputs.map((i) => tf.tensor(i.data, i.shape));
    const yc = (await tf.add(tf.mul(xc, ac), bc).data()) as Float32Array;
    tf.dispose([xc, ac, bc]);
    await tf.setBackend('wasm');
    assert.deepEqual(y, yc, `affine ${shape.join('x')}, forward`);
  }
});

test('tf.clone on wasm shares its data (no copy) and the clone outlives the original', async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmTraining();
  const backend = tf.backend() as unknown as { dataIdMap: { get(id: object): { memoryOffset: number } } };
  const a = tf.tensor([1, 2, 3]);
  const b = a.clone();
  assert.equal(backend.dataIdMap.get(b.dataId).memoryOffset, backend.dataIdMap.get(a.dataId).memoryOffset);
  a.dispose();
  assert.deepEqual(Array.from(await b.data()), [1, 2, 3]);
  const c = tf.add(b, 1);
  b.dispose();
  assert.deepEqual(Array.from(await c.data()), [2, 3, 4]);
  c.dispose();
});

test('batch norm and relu6 fused, relu6(x·a + b) per channel: values and gradients of tfjs\'s mul, add, relu and clipByValue on the cpu backend, on wasm (SIMD) and on cpu', async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmTraining();
  const rng = seeded(9);
  const plain = (x: tf.Tensor, a: tf.Tensor, b: tf.Tensor) => tf.clipByValue(tf.relu(tf.add(tf.mul(x, a), b)), 0, 6);
  // 12 channels: the SIMD kernels on wasm; 5: tfjs ops. Scales spread x·a + b over (-9, 9), with exact 0s and 6s.
  for (const shape of [[2, 5, 6, 12], [3, 4, 3, 5]]) {
    const c = shape[shape.length - 1];
    const x = random(shape, rng);
    x.data.forEach((v, i) => (x.data[i] = [0, 6, 3][i % 17] ?? v * 3));
    const inputs = [x, { data: Float32Array.from({ length: c }, (_, i) => (i % 3 === 0 ? 1 : 1 + rng() * 2)), shape: [c] }, { data: Float32Array.from({ length: c }, (_, i) => (i % 3 === 0 ? 0 : rng() * 4 - 1)), shape: [c] }];
    const w = Float32Array.from(x.data, () => rng() + 0.5);
    const reference = await gradsOn('cpu', plain, inputs, w);
    const refY = await (async () => {
      const ts = inputs.map((i) => tf.tensor(i.data, i.shape));
      const y = (await plain(ts[0], ts[1], ts[2]).data()) as Float32Array;
      tf.dispose(ts);
      return y;
    })();
    for (const backend of ['wasm', 'cpu']) {
      const grads = await gradsOn(backend, channelAffineRelu6, inputs, w);
      reference.forEach((g, i) => assertClose(grads[i], g, `${backend} ${shape.join('x')}, gradient ${i}`));
      const ts = inputs.map((i) => tf.tensor(i.data, i.shape));
      const y = (await channelAffineRelu6(ts[0], ts[1], ts[2]).data()) as Float32Array;
      tf.dispose(ts);
      assert.deepEqual(Array.from(y, (v) => v + 0), Array.from(refY, (v) => v + 0), `${backend} ${shape.join('x')}, forward`);
    }
    await tf.setBackend('wasm');
  }
});

test('a ZeroPadding2D folded into the convolution after it (explicit padding): the values and gradients of tf.pad then a valid convolution on the cpu backend', async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmTraining();
  const rng = seeded(13);
  const padding: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [0, 1], [0, 1], [0, 0]];
  // MobileNetV2's stride-2 blocks (depthwise, 8 channels: the SIMD kernels) and its stem (conv2d from 3 channels), odd sizes too.
  const cases: { name: string; shapes: number[][]; folded: (x: tf.Tensor, w: tf.Tensor) => tf.Tensor; padded: (x: tf.Tensor, w: tf.Tensor) => tf.Tensor }[] = [
    { name: 'depthwise 3x3 stride 2', shapes: [[2, 10, 10, 8], [3, 3, 8, 1]], folded: (x, w) => tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, padding), padded: (x, w) => tf.depthwiseConv2d(tf.pad(x as tf.Tensor4D, padding), w as tf.Tensor4D, 2, 'valid') },
    { name: 'depthwise 3x3 stride 2, odd size, 5 channels', shapes: [[1, 9, 11, 5], [3, 3, 5, 1]], folded: (x, w) => tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, padding), padded: (x, w) => tf.depthwiseConv2d(tf.pad(x as tf.Tensor4D, padding), w as tf.Tensor4D, 2, 'valid') },
    { name: 'conv2d 3x3 stride 2 from 3 channels', shapes: [[2, 12, 12, 3], [3, 3, 3, 8]], folded: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, padding), padded: (x, w) => tf.conv2d(tf.pad(x as tf.Tensor4D, padding), w as tf.Tensor4D, 2, 'valid') },
  ];
  for (const c of cases) {
    const inputs = c.shapes.map((s) => random(s, rng));
    const reference = await gradsOn('cpu', c.padded, inputs);
    const folded = await gradsOn('wasm', c.folded, inputs);
    reference.forEach((g, i) => assertClose(folded[i], g, `${c.name}, gradient ${i}`));
    const [x, w] = inputs.map((i) => tf.tensor(i.data, i.shape));
    const y = (await c.folded(x, w).data()) as Float32Array;
    tf.dispose([x, w]);
    await tf.setBackend('cpu');
    const [xc, wc] = inputs.map((i) => tf.tensor(i.data, i.shape));
    const yc = (await c.padded(xc, wc).data()) as Float32Array;
    tf.dispose([xc, wc]);
    await tf.setBackend('wasm');
    assertClose(y, yc, `${c.name}, forward`);
  }
});

test('each training run sets the onnxruntime threads of its products; a product that fails there warns once and the rest run on wasm with the same values', async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmTraining();
  registerWasmTraining({ gemmThreads: 1 });
  assert.equal(trainingGemm(), 'onnxruntime (1 thread)', 'a later run\'s thread count holds, not the first registration\'s');
  registerWasmTraining({ gemmThreads: 2 });
  assert.equal(trainingGemm(), 'onnxruntime (2 threads)');
  const ort = openSyncGemm(2)!;
  const run = ort.run;
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  ort.run = () => {
    throw new Error('broken on purpose');
  };
  try {
    const rng = seeded(17);
    const [a, b] = [random([300, 70], rng), random([300, 90], rng)];
    const cpu = await gradsOn('cpu', (x, y) => tf.matMul(x, y, true, false), [a, b]);
    const wasm = await gradsOn('wasm', (x, y) => tf.matMul(x, y, true, false), [a, b]);
    cpu.forEach((g, i) => assertClose(wasm[i], g, `gradient ${i}`));
    assert.equal(trainingGemm(), 'wasm');
    await new Promise((r) => setImmediate(r));
    assert.equal(warnings.filter((w) => w.includes('broken on purpose')).length, 1, warnings.join('\n'));
  } finally {
    ort.run = run;
    process.off('warning', onWarning);
    useTrainingGemm('onnxruntime');
  }
});
