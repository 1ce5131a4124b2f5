import { DataError } from '../errors.ts';
import { seeded, shuffled, type Rng } from '../util/rng.ts';

export interface FewShotOptions {
  /** Training images per class. */
  shots: number;
  /** Validation images per class (hyper-parameter choice). */
  valPerClass: number;
  /** Test images per class; undefined = every image not used for train/val. */
  testPerClass?: number;
  seed: number;
}

/** Indices into the dataset's samples; the three sets are disjoint. */
export interface Split {
  train: number[];
  val: number[];
  test: number[];
}

/** Validation images per class when none is asked for: about 0.3 of the shots, the study's train:val ratio. */
export function defaultValPerClass(shots: number): number {
  return Math.max(1, Math.round(shots * 0.3));
}

/**
 * Stratified few-shot split: per class, a seeded shuffle, then `shots` train, `valPerClass` val and the
 * rest (or `testPerClass`) test. Every class needs shots + val + 1 images, so each class is also tested.
 */
export function fewShotSplit(labels: readonly number[], classes: readonly string[], opt: FewShotOptions): Split {
  if (!Number.isInteger(opt.shots) || opt.shots < 1) throw new DataError(`--shots must be a whole number >= 1, got ${opt.shots}.`);
  if (!Number.isInteger(opt.valPerClass) || opt.valPerClass < 0) throw new DataError(`--val-per-class must be a whole number >= 0, got ${opt.valPerClass}.`);
  const byClass: number[][] = classes.map(() => []);
  labels.forEach((label, i) => byClass[label].push(i));
  const needed = opt.shots + opt.valPerClass + 1;
  const short = byClass
    .map((idx, c) => ({ c, n: idx.length }))
    .filter(({ n }) => n < needed)
    .map(({ c, n }) => `"${classes[c]}" has ${n}`);
  if (short.length > 0) {
    throw new DataError(
      `Too few images for --shots ${opt.shots}: class ${short.slice(0, 3).join(', class ')}${short.length > 3 ? ` (and ${short.length - 3} more classes)` : ''}; ` +
        `each class needs ${needed} (${opt.shots} train + ${opt.valPerClass} val + 1 test). Lower --shots or add images.`,
    );
  }
  const rng = seeded(opt.seed);
  const split: Split = { train: [], val: [], test: [] };
  for (const idx of byClass) {
    const order = shuffled(idx, rng);
    const testEnd = opt.testPerClass === undefined ? order.length : Math.min(order.length, needed - 1 + opt.testPerClass);
    split.train.push(...order.slice(0, opt.shots));
    split.val.push(...order.slice(opt.shots, needed - 1));
    split.test.push(...order.slice(needed - 1, testEnd));
  }
  return split;
}

/** The indices of `from` grouped by label (classes ascending, empty ones left out), each group shuffled by `rng` in that order. */
export function shuffledByClass(from: Iterable<number>, labels: ArrayLike<number>, rng: Rng): number[][] {
  const byClass = new Map<number, number[]>();
  for (const i of from) {
    const list = byClass.get(labels[i]);
    if (list) list.push(i);
    else byClass.set(labels[i], [i]);
  }
  return [...byClass.keys()].sort((a, b) => a - b).map((c) => shuffled(byClass.get(c)!, rng));
}
