import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { knnProbe } from '../../src/probes/knn-probe.ts';
import { defaultsOf } from '../../src/util/options.ts';
import { probeDatasets, type ProbeData } from '../fixtures/probe-data.ts';
import { ucmercedPresent, ucmercedProbeData } from '../fixtures/ucmerced-features.ts';

/** DINO's knn_classifier (eval_knn.py) transcribed in numpy: predictions per dataset per k (tools/make-knn-vote-reference.ts). */
const ref = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'probes', 'dino-knn.json'), 'utf8')) as { feature_hash?: string; T: number; datasets: Record<string, Record<string, number[]>> };

/** The probe with its default vote and temperature, k set: predictions identical to DINO's for every k. */
async function dinoPredictions(d: ProbeData, note = ''): Promise<void> {
  const preds = ref.datasets[d.name];
  assert.ok(preds, `no DINO reference for ${d.name}: rerun tools/make-knn-vote-reference.ts`);
  for (const [k, want] of Object.entries(preds)) {
    const out = await knnProbe.run(d, { ...defaultsOf(knnProbe.options), knnK: [Number(k)] });
    assert.deepEqual([...out.testPred], want, `${d.name} k=${k}${note}`);
  }
}

test("the default kNN vote (exp(sim / 0.07) per class) predicts exactly what DINO's knn_classifier does, k = 10, 20, 100, 200", async () => {
  for (const d of probeDatasets()) await dinoPredictions(d);
});

test("on real UC Merced MobileNetV2 features: the default vote's predictions identical to DINO's", { skip: ucmercedPresent() ? false : 'needs ../shared/data/ucmerced (not on a fresh machine)' }, async () => {
  const d = await ucmercedProbeData();
  // Features from another CPU or onnxruntime build may differ in the last bits, which can flip near-tied neighbours.
  await dinoPredictions(d, d.featureHash === ref.feature_hash ? '' : ` (features differ from the reference's: hash ${d.featureHash} vs ${ref.feature_hash})`);
});
