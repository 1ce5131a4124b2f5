import { z } from 'zod';
import { confusionMatrix } from '../metrics/classification.ts';
import { bootstrapInterval, type Interval } from '../metrics/bootstrap.ts';
import { confusedPairs } from '../metrics/confusion.ts';
import { HEADLINE_METRICS, type HeadlineMetric } from '../metrics/scores.ts';
import { seeded } from '../util/rng.ts';
import type { Flags } from '../util/options.ts';

/** A record's `confused_pairs` entry (--top-pairs): class names, IoU and its counts (m_ab: images of a predicted as b; n_a: images of a). */
export interface ConfusedPair {
  a: string;
  b: string;
  iou: number;
  m_ab: number;
  m_ba: number;
  n_a: number;
  n_b: number;
}

/**
 * `--top-pairs N` and `--bootstrap N`, options of every classification method (the probes, finetune): one schema and flag object that
 * they all take, since two methods may share an option key only as the very same objects. Absent (or 0): off. It
 * is optional rather than defaulting to 0 so that runs without it keep their cell ids and run folders: method options
 * are part of both.
 */
export const OUTPUT_OPTIONS = { topPairs: z.number().int().min(0).optional(), bootstrap: z.number().int().min(0).max(100_000).refine((n) => n === 0 || n >= 100, 'at least 100 resamples for a 95 % interval (0: none)').optional() };

export const OUTPUT_FLAGS: Flags<typeof OUTPUT_OPTIONS> = {
  bootstrap: {
    flag: 'bootstrap',
    cli: 'number',
    describe: 'add a seeded 95 % percentile bootstrap interval of each test metric over N resamples of the test images (ci95 in the records) [default: off]',
  },
  topPairs: {
    flag: 'top-pairs',
    cli: 'number',
    describe: 'add the N class pairs most mistaken for each other on each test set, by IoU = (m_ab + m_ba) / (n_a + n_b), to the records (confused_pairs) and the terminal [default: off]',
  },
};

/** [n] truth and predictions → the record field `confused_pairs` (the top N pairs), or nothing when N is 0 or absent. */
export function confusedPairsField(truth: ArrayLike<number>, pred: ArrayLike<number>, classes: readonly string[], top: number | undefined): { confused_pairs?: ConfusedPair[] } {
  if (!top) return {};
  const pairs = confusedPairs(confusionMatrix(truth, pred, classes.length), top);
  return { confused_pairs: pairs.map((p) => ({ ...p, a: classes[p.a], b: classes[p.b] })) };
}

/** [n] truth and predictions → the seeded 95 % bootstrap interval of the record's metric (`bootstrap` resamples), or nothing. */
export function bootstrapField(truth: ArrayLike<number>, pred: ArrayLike<number>, numClasses: number, metric: HeadlineMetric, resamples: number | undefined, seed: number): { ci95?: Interval } {
  if (!resamples) return {};
  const score = (t: Int32Array, p: Int32Array) => HEADLINE_METRICS[metric](t, p, numClasses);
  return { ci95: bootstrapInterval(truth, pred, score, resamples, seeded(seed)) };
}
