import assert from 'node:assert/strict';
import test from 'node:test';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { loadNsfwjsModel } from '../../src/backbones/keras/nsfwjs-files.ts';
import { resolveCard } from '../../src/backbones/registry.ts';
import type { KerasCard } from '../../src/backbones/types.ts';
import { kerasTrainModel } from '../../src/finetune/keras-model.ts';
import { registerWasmTraining } from '../../src/runtime/training-kernels.ts';
import { seeded } from '../../src/util/rng.ts';

/** Loss and gradients of MobileNetV2 from block 10 (14x14: three depthwise layers; small enough for the cpu backend, stride 2 is in test/runtime) on one backend. */
async function lossAndGrads(backend: string, x: Float32Array): Promise<{ loss: number; grads: Float32Array[] }> {
  await tf.setBackend(backend);
  await tf.ready();
  const card = resolveCard('mobilenet-v2') as KerasCard;
  const from = 'block_9_add';
  const model = await kerasTrainModel(loadNsfwjsModel(card.source.model), { from, trainAfter: from, tap: card.tap, numClasses: 3, seed: 5 });
  try {
    const xt = tf.tensor(x, [2, ...model.inputShape]);
    const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(tf.oneHot([0, 2], 3), model.logits(xt)) as tf.Scalar, model.variables);
    const out = { loss: (await value.data())[0], grads: await Promise.all(model.variables.map(async (v) => (await grads[v.name].data()) as Float32Array)) };
    tf.dispose([xt, value, ...Object.values(grads)]);
    return out;
  } finally {
    model.dispose();
  }
}

/**
 * The cpu backend's Conv2DBackpropFilter loops element by element: 24 of this test's 25 CPU seconds, every call a 1x1
 * convolution. For those (stride 1, unpadded, NHWC) the filter gradient is xᵀ·dy, taken here from the cpu backend's
 * own BatchMatMul (a sum in another order: float rounding only); any other convolution goes to its Conv2DBackpropFilter.
 * test/runtime/training-kernels.test.ts checks reprobe's filter gradient against that kernel itself. Returns the undo.
 */
function cpuFilterGradientAsMatMul(): () => void {
  const own = tf.getKernel('Conv2DBackpropFilter', 'cpu')!;
  const matMul = tf.getKernel('BatchMatMul', 'cpu')!.kernelFunc;
  const kernelFunc: tf.KernelFunc = (args) => {
    const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const a = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    const format = tf.backend_util.convertConv2DDataFormat(a.dataFormat);
    const c = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode, false, format);
    const p = c.padInfo;
    if (c.filterHeight !== 1 || c.filterWidth !== 1 || c.strideHeight !== 1 || c.strideWidth !== 1 || p.top + p.bottom + p.left + p.right !== 0 || a.dataFormat !== 'NHWC') return own.kernelFunc(args);
    const rows = c.batchSize * c.inHeight * c.inWidth;
    const out = matMul({
      inputs: { a: { ...x, shape: [1, rows, c.inChannels] }, b: { ...dy, shape: [1, rows, c.outChannels] } },
      backend: args.backend,
      attrs: { transposeA: true, transposeB: false },
    }) as tf.TensorInfo;
    return { ...out, shape: a.filterShape };
  };
  tf.unregisterKernel('Conv2DBackpropFilter', 'cpu');
  tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'cpu', kernelFunc });
  return () => {
    tf.unregisterKernel('Conv2DBackpropFilter', 'cpu');
    tf.registerKernel(own);
  };
}

test('MobileNetV2 trains on wasm (SIMD depthwise gradients, fused relu6) with the loss and gradients of tfjs\'s cpu backend within 1e-4', async () => {
  await tf.setBackend('wasm');
  registerWasmTraining();
  const rng = seeded(11);
  const x = Float32Array.from({ length: 2 * 14 * 14 * 64 }, () => (rng() * 2 - 1) * 3);
  const undo = cpuFilterGradientAsMatMul();
  const cpu = await lossAndGrads('cpu', x).finally(undo);
  const wasm = await lossAndGrads('wasm', x);
  assert.ok(Math.abs(wasm.loss - cpu.loss) < 1e-4, `loss ${wasm.loss} vs ${cpu.loss}`);
  assert.equal(wasm.grads.length, cpu.grads.length);
  cpu.grads.forEach((g, i) => {
    const scale = Math.max(1e-3, ...g.map(Math.abs));
    let worst = 0;
    for (let k = 0; k < g.length; k++) worst = Math.max(worst, Math.abs(wasm.grads[i][k] - g[k]));
    assert.ok(worst <= 1e-4 * scale, `variable ${i}: max |wasm - cpu| ${worst} (scale ${scale})`);
  });
});
