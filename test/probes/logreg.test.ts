import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JOB_DEFAULTS } from '../../src/jobs/job-schema.ts';
import { lbfgs } from '../../src/probes/lbfgs.ts';
import { fitLogReg, predictProba } from '../../src/probes/logreg.ts';
import { runLogRegProbe } from '../../src/probes/logreg-probe.ts';
import { blobs } from '../helpers.ts';

test('L-BFGS finds the minimum of a shifted, badly scaled quadratic', async () => {
  const scale = [1, 100, 0.1, 10];
  const target = [3, -2, 5, 0.5];
  const f = async (x: Float64Array, g: Float64Array) => {
    let v = 0;
    for (let i = 0; i < 4; i++) {
      v += 0.5 * scale[i] * (x[i] - target[i]) ** 2;
      g[i] = scale[i] * (x[i] - target[i]);
    }
    return v;
  };
  const r = await lbfgs(f, new Float64Array(4), { maxIter: 200, gradTol: 1e-5, ftol: 0, fFloor: 1, memory: 5 });
  assert.ok(r.converged);
  r.x.forEach((v, i) => assert.ok(Math.abs(v - target[i]) < 1e-3, `x${i}=${v}`));
});

test('logistic regression converges and its probabilities sum to 1', async () => {
  const { x, y } = blobs(3, 15, 8, 2, 1.5);
  const model = await fitLogReg(x, y, 3, { C: 1, maxIter: 500, tol: 1e-6 });
  assert.ok(model.converged);
  const p = await predictProba(model, x);
  for (let i = 0; i < x.rows; i++) assert.ok(Math.abs(p[i * 3] + p[i * 3 + 1] + p[i * 3 + 2] - 1) < 1e-9);
});

test('stronger regularization shrinks the weights', async () => {
  const { x, y } = blobs(3, 15, 8, 3, 1.5);
  const norm = async (C: number) => (await fitLogReg(x, y, 3, { C, maxIter: 500, tol: 1e-6 })).weights.slice(0, 24).reduce((s, w) => s + w * w, 0);
  assert.ok((await norm(0.01)) < (await norm(1)));
});

test('LR probe separates generated blobs and picks C on val', async () => {
  const tr = blobs(5, 10, 32, 9, 1.2);
  const va = blobs(5, 4, 32, 9, 1.2);
  const te = blobs(5, 30, 32, 9, 1.2);
  const out = await runLogRegProbe({ train: tr.x, trainLabels: tr.y, val: va.x, valLabels: va.y, test: te.x, testLabels: te.y, numClasses: 5 });
  const acc = out.testPred.filter((p, i) => p === te.y[i]).length / te.y.length;
  assert.ok(acc > 0.95, `accuracy ${acc}`);
  assert.equal(typeof out.chosen.C, 'number');
});

test('the lr-ml baseline (ml-logistic-regression) is registered and beats chance on generated classes', async () => {
  const { getProbe } = await import('../../src/probes/registry.ts');
  const { probeDatasets } = await import('../fixtures/probe-data.ts');
  const { accuracy } = await import('../../src/metrics/classification.ts');
  const d = probeDatasets()[0];
  const out = await getProbe('lr-ml').run(d, JOB_DEFAULTS);
  assert.ok(accuracy(d.testLabels, out.testPred) > 0.6, 'chance is 0.2');
  assert.equal(out.testScores.length, d.testLabels.length * d.numClasses);
});

test('the loss graph gives the softmax cross-entropy and its gradient of a plain loop, with and without Xᵀ', async () => {
  const { softmaxLoss } = await import('../../src/probes/softmax-loss.ts');
  const [n, d, K] = [7, 5, 3];
  const X = Float64Array.from({ length: n * d }, (_, i) => Math.sin(i * 1.7));
  const XT = Float64Array.from({ length: n * d }, (_, i) => X[(i % n) * d + Math.floor(i / n)]);
  const labels = [0, 2, 1, 1, 0, 2, 2];
  const W = Float64Array.from({ length: d * K }, (_, i) => Math.cos(i));
  const b = Float64Array.from([0.3, -0.2, 0.1]);
  let loss = 0;
  const gW = new Float64Array(d * K);
  const gb = new Float64Array(K);
  for (let i = 0; i < n; i++) {
    const z = Array.from({ length: K }, (_, k) => b[k] + Array.from({ length: d }, (_, j) => X[i * d + j] * W[j * K + k]).reduce((s, v) => s + v, 0));
    const lse = Math.log(z.reduce((s, v) => s + Math.exp(v), 0));
    loss += lse - z[labels[i]];
    z.forEach((zk, k) => {
      const r = Math.exp(zk - lse) - (k === labels[i] ? 1 : 0);
      gb[k] += r;
      for (let j = 0; j < d; j++) gW[j * K + k] += X[i * d + j] * r;
    });
  }
  for (const xt of [XT, undefined]) {
    const out = await (await softmaxLoss(X, xt, labels, n, d, K)).evaluate(W, b);
    assert.ok(Math.abs(out.loss - loss) < 1e-10, `loss ${out.loss} vs ${loss}`);
    gW.forEach((v, i) => assert.ok(Math.abs(out.gW[i] - v) < 1e-10, `gW[${i}]`));
    gb.forEach((v, i) => assert.ok(Math.abs(out.gb[i] - v) < 1e-10, `gb[${i}]`));
  }
});

test('L-BFGS keeps the curvature pairs of tiny steps: a flat, badly scaled quadratic converges in few iterations', async () => {
  // Gradients of about 1e-6, as a mean-scaled loss near a warm start: steps and curvature products are tiny.
  const scale = [1, 100, 0.1, 10, 3, 0.3].map((v) => v * 1e-6);
  const target = [3, -2, 5, 0.5, 1, -1];
  const f = async (x: Float64Array, g: Float64Array) => {
    let v = 0;
    for (let i = 0; i < scale.length; i++) {
      v += 0.5 * scale[i] * (x[i] - target[i]) ** 2;
      g[i] = scale[i] * (x[i] - target[i]);
    }
    return v;
  };
  const r = await lbfgs(f, new Float64Array(scale.length), { maxIter: 500, gradTol: 1e-12, ftol: 0, fFloor: 1, memory: 5 });
  assert.ok(r.converged);
  assert.ok(r.iterations < 100, `${r.iterations} iterations`);
});
