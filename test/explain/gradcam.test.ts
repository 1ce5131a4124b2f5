import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { tfjsBackend } from '../../src/runtime/tfjs.ts';
import { gradCam, type ConvNetSplit } from '../../src/explain/gradcam.ts';
import { peak, upsample } from '../../src/explain/maps.ts';

const S = 16;

/**
 * A ConvNet whose class 0 sees vertical stripes and class 1 horizontal ones: a 3x3 convolution with a vertical and a
 * horizontal line detector (zero-sum kernels: silent on flat areas), ReLU, global average pooling, a linear head
 * reading channel 0 for class 0 and channel 1 for class 1.
 */
function stripesNet(): ConvNetSplit & { dispose(): void } {
  const vertical = [-1, 2, -1, -1, 2, -1, -1, 2, -1]; // [row][col]: a bright column between dark ones
  const horizontal = [-1, -1, -1, 2, 2, 2, -1, -1, -1];
  const k = new Float32Array(18);
  for (let i = 0; i < 9; i++) [k[i * 2], k[i * 2 + 1]] = [vertical[i], horizontal[i]];
  const kernel = tf.tensor4d(k, [3, 3, 1, 2]);
  const head = tf.tensor2d([1, 0, 0, 1], [2, 2]);
  return {
    forward: (x) => ({ activation: tf.relu(tf.conv2d(x, kernel, 1, 'same')), scores: (a) => tf.matMul(a.mean([1, 2]), head) }),
    dispose: () => tf.dispose([kernel, head]),
  };
}

/** Vertical stripes in the top-left quadrant, horizontal stripes in the bottom-right one, flat grey elsewhere. */
function stripesImage(): tf.Tensor4D {
  const px = new Float32Array(S * S).fill(0.5);
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      if (y < 8 && x < 8) px[y * S + x] = x % 2;
      if (y >= 8 && x >= 8) px[y * S + x] = y % 2;
    }
  return tf.tensor4d(px, [1, S, S, 1]);
}

test('Grad-CAM on a ConvNet whose class score depends on one region puts the maximum in that region; normalised, the feature map\'s shape, no tensor leaks', async () => {
  await tfjsBackend();
  const net = stripesNet();
  const x = stripesImage();
  const before = tf.memory().numTensors;
  const vertical = gradCam(net, x, 0);
  const horizontal = gradCam(net, x, 1);
  assert.equal(tf.memory().numTensors, before, 'gradCam disposes what it makes');
  for (const r of [vertical, horizontal]) {
    assert.deepEqual([r.map.height, r.map.width], [S, S], "the conv layer's grid");
    assert.equal(Math.max(...r.map.values), 1);
    assert.equal(Math.min(...r.map.values), 0);
  }
  const p0 = peak(vertical.map);
  const p1 = peak(horizontal.map);
  assert.ok(p0.row < 8 && p0.col < 8, `class 0 (vertical stripes) peaks at ${p0.row},${p0.col}, in the top-left quadrant`);
  assert.ok(p1.row >= 8 && p1.col >= 8, `class 1 (horizontal stripes) peaks at ${p1.row},${p1.col}, in the bottom-right quadrant`);
  // Grad-CAM of class 0 is zero where only class 1's evidence is (ReLU of a positive weight times a silent channel).
  const q = (y: number, xx: number) => vertical.map.values[y * S + xx];
  assert.equal(q(12, 12), 0);
  // Upsampled to an image 4x the size, the peak stays in its quadrant.
  const big = upsample(vertical.map, 64, 64);
  const pb = peak(big);
  assert.ok(pb.row < 32 && pb.col < 32, `upsampled peak at ${pb.row},${pb.col}`);
  assert.deepEqual([big.height, big.width], [64, 64]);
  tf.dispose(x);
  net.dispose();
});

test('Grad-CAM without a class explains the top-scoring one, and refuses a class the model lacks', async () => {
  await tfjsBackend();
  const net = stripesNet();
  // Only vertical stripes: class 0 scores higher.
  const px = new Float32Array(S * S).map((_, i) => (i % S) % 2);
  const x = tf.tensor4d(px, [1, S, S, 1]);
  const r = gradCam(net, x);
  assert.equal(r.classIndex, 0);
  assert.ok(r.scores[0] > r.scores[1]);
  assert.throws(() => gradCam(net, x, 2), /class 2 is not one of the model's 2 classes/);
  tf.dispose(x);
  net.dispose();
});
