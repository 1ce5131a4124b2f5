import assert from 'node:assert/strict';
import { test } from 'node:test';
import { accuracy } from '../../src/metrics/classification.ts';
import { bootstrapInterval, quantile } from '../../src/metrics/bootstrap.ts';
import { seeded } from '../../src/util/rng.ts';

test("quantiles interpolate as numpy.percentile's default", () => {
  const v = Float64Array.from([1, 2, 3, 4]);
  assert.equal(quantile(v, 0.25), 1.75);
  assert.equal(quantile(v, 0), 1);
  assert.equal(quantile(v, 1), 4);
  assert.equal(quantile(Float64Array.from([5]), 0.975), 5);
});

test('the 95 % bootstrap interval of accuracy covers the true rate about 95 % of the time; the same seed, the same interval', () => {
  const rng = seeded(11);
  const truth = new Int32Array(200);
  let covered = 0;
  const trials = 300;
  for (let k = 0; k < trials; k++) {
    // Each test image is right with probability 0.7: the true accuracy.
    const pred = Int32Array.from(truth, () => (rng() < 0.7 ? 0 : 1));
    const ci = bootstrapInterval(truth, pred, accuracy, 400, seeded(k));
    if (ci.low <= 0.7 && 0.7 <= ci.high) covered++;
  }
  const rate = covered / trials;
  assert.ok(rate > 0.9 && rate < 0.99, `coverage ${rate}`);
  const pred = Int32Array.from(truth, (_, i) => i % 3 === 0 ? 1 : 0);
  assert.deepEqual(bootstrapInterval(truth, pred, accuracy, 100, seeded(5)), bootstrapInterval(truth, pred, accuracy, 100, seeded(5)));
  const ci = bootstrapInterval(truth, pred, accuracy, 100, seeded(5));
  assert.ok(ci.low < accuracy(truth, pred) && accuracy(truth, pred) < ci.high && ci.level === 0.95 && ci.resamples === 100);
  assert.ok(Number.isNaN(bootstrapInterval([], [], accuracy, 10, seeded(1)).low));
});
