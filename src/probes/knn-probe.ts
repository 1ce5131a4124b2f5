import { z } from 'zod';
import { accuracy } from '../metrics/classification.ts';
import { defaultsOf } from '../util/options.ts';
import { knnPredict, type KnnOptions } from './knn.ts';
import { CHOSEN_FROM, defineProbe, type ProbeInput, type ProbeOutput } from './types.ts';

/** DINO's k-NN evaluation: k = 20, votes weighted by exp(similarity / 0.07). */
const KNN_OPTIONS = {
  /** One k, or a grid chosen on val. */
  knnK: z.array(z.number().int().min(1)).min(1).default([20]),
  knnVote: z.enum(['weighted', 'majority']).default('weighted'),
};
const TEMPERATURE = 0.07;
type KnnProbeOptions = z.infer<z.ZodObject<typeof KNN_OPTIONS>>;

/** One k: used as is. Several: chosen by val accuracy, first best wins. k is clamped to the training size. */
export async function runKnnProbe(input: ProbeInput, opt: KnnProbeOptions = defaultsOf(KNN_OPTIONS)): Promise<ProbeOutput> {
  const base: Omit<KnnOptions, 'k'> = { vote: opt.knnVote, temperature: TEMPERATURE };
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
  // Without val there is nothing to choose on: say so rather than silently take the grid's first k.
  const from: Record<string, string> = input.val.rows === 0 && ks.length > 1 ? { from: 'first k (no val images)' } : {};
  return { testPred: pred, testScores: scores, valAccuracy, chosen: { k: bestK, vote: base.vote, ...from } };
}

export const knnProbe = defineProbe({
  name: 'knn',
  summary: 'cosine kNN on L2-normalised features, DINO-weighted vote (k = 20, T = 0.07); a k grid is chosen on val',
  // The study's column order: fine-tuning, kNN, logistic regression.
  presentation: { column: 'knn', order: 20, family: 'classification', shots: true },
  options: KNN_OPTIONS,
  chosen: { k: z.number().int().min(1).describe('the neighbours used (the best of a grid on val; clamped to the training images)'), vote: z.enum(['weighted', 'majority']).describe('the vote'), ...CHOSEN_FROM },
  flags: {
    knnK: { flag: 'knn-k', cli: 'numbers', describe: 'kNN neighbours; several (1,5,20) = the best on val; k above the training-set size is clamped to it' },
    knnVote: { flag: 'knn-vote', cli: { choices: ['weighted', 'majority'] }, describe: "weighted = DINO's exp(sim / 0.07) vote; majority = one vote per neighbour" },
  },
  run: runKnnProbe,
});
