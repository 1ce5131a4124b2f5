import { PROBE_DEFAULTS } from '../config/defaults.ts';
import { knnPredict, type KnnOptions } from './knn.ts';
import { accuracy } from './metrics.ts';
import type { Probe, ProbeInput, ProbeOptions, ProbeOutput } from './types.ts';

type KnnProbeOptions = Pick<ProbeOptions, 'knnK' | 'knnVote'>;
const DEFAULTS: KnnProbeOptions = { knnK: PROBE_DEFAULTS.knn.k, knnVote: PROBE_DEFAULTS.knn.vote };

/** One k: used as is. Several: chosen by val accuracy, first best wins. k is clamped to the training size. */
export async function runKnnProbe(input: ProbeInput, opt: KnnProbeOptions = DEFAULTS): Promise<ProbeOutput> {
  const base: Omit<KnnOptions, 'k'> = { vote: opt.knnVote, temperature: PROBE_DEFAULTS.knn.temperature };
  const ks = [...new Set(opt.knnK.map((k) => Math.min(k, input.train.rows)))];
  let bestK = ks[0];
  let valAccuracy = NaN;
  if (input.val.rows > 0) {
    for (const k of ks) {
      const acc = accuracy(input.valLabels, (await knnPredict(input.train, input.trainLabels, input.numClasses, input.val, { ...base, k })).pred);
      if (Number.isNaN(valAccuracy) || acc > valAccuracy) [valAccuracy, bestK] = [acc, k];
    }
  }
  const { pred, scores } = await knnPredict(input.train, input.trainLabels, input.numClasses, input.test, { ...base, k: bestK });
  return { testPred: pred, testScores: scores, valAccuracy, chosen: { k: bestK, vote: base.vote } };
}

export const knnProbe: Probe = {
  name: 'knn',
  summary: 'cosine kNN on L2-normalised features, DINO-weighted vote (k = 20, T = 0.07); a k grid is chosen on val',
  run: runKnnProbe,
};
