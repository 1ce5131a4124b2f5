import { z } from 'zod';
import { confusionMatrix } from '../metrics/classification.ts';
import { bootstrapInterval, type Interval } from '../metrics/bootstrap.ts';
import { confusedPairs } from '../metrics/confusion.ts';
import { HEADLINE_METRICS, type HeadlineMetric } from '../metrics/scores.ts';
import { seeded } from '../util/rng.ts';
import type { Flags } from '../util/options.ts';
import { measured } from './record-fields.ts';

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

/** The record fields the output options add: declared once, spread into each classification method's recordFields. */
export const OUTPUT_FIELDS = {
  confused_pairs: z
    .array(
      z
        .object({
          a: z.string().describe('one class'),
          b: z.string().describe('the other class'),
          iou: measured('(m_ab + m_ba) / (n_a + n_b)'),
          m_ab: z.number().int().nonnegative().describe('images of a predicted as b'),
          m_ba: z.number().int().nonnegative().describe('images of b predicted as a'),
          n_a: z.number().int().nonnegative().describe('images of a'),
          n_b: z.number().int().nonnegative().describe('images of b'),
        })
        .strict(),
    )
    .optional()
    .describe('with `--top-pairs N`: the N class pairs most mistaken for each other, by IoU'),
  ci95: z
    .object({
      low: measured('the 2.5th percentile of the resampled metric (null over no images)'),
      high: measured('the 97.5th percentile'),
      level: z.number().describe('the coverage asked for: 0.95'),
      resamples: z.number().int().min(1).describe('resamples of the evaluated images'),
    })
    .strict()
    .optional()
    .describe("with `--bootstrap N`: a seeded percentile bootstrap interval of the record's metric"),
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
