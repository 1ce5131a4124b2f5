import { PROBE_DEFAULTS } from '../config/defaults.ts';
import { knnPredict, type KnnOptions } from './knn.ts';
import { accuracy } from './metrics.ts';
import type { Probe, ProbeInput, ProbeOutput } from './types.ts';

/** k from `kGrid` (clamped to the training size) chosen by validation accuracy, first best wins; weighted vote. */
export function runKnnProbe(input: ProbeInput, kGrid: readonly number[] = PROBE_DEFAULTS.knn.kGrid): ProbeOutput {
  const base: Omit<KnnOptions, 'k'> = { vote: PROBE_DEFAULTS.knn.vote, temperature: PROBE_DEFAULTS.knn.temperature };
  const ks = [...new Set(kGrid.map((k) => Math.min(k, input.train.rows)))];
  let bestK = ks[0];
  let valAccuracy = NaN;
  if (input.val.rows > 0) {
    for (const k of ks) {
      const acc = accuracy(input.valLabels, knnPredict(input.train, input.trainLabels, input.numClasses, input.val, { ...base, k }).pred);
      if (Number.isNaN(valAccuracy) || acc > valAccuracy) [valAccuracy, bestK] = [acc, k];
    }
  }
  const { pred, scores } = knnPredict(input.train, input.trainLabels, input.numClasses, input.test, { ...base, k: bestK });
  return { testPred: pred, testScores: scores, valAccuracy, chosen: { k: bestK, vote: base.vote } };
}

export const knnProbe: Probe = {
  name: 'knn',
  summary: 'cosine kNN on L2-normalised features, DINO-weighted vote (T = 0.07), k chosen on val',
  run: (input) => runKnnProbe(input),
};
