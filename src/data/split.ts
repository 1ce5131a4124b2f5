import { createHash } from 'node:crypto';
import { ConfigError, DataError } from '../errors.ts';
import { seeded, shuffled } from '../util/rng.ts';
import { pushAll } from '../util/arrays.ts';
import { balancedDraw, perClassDraw } from './draws.ts';
import type { StudyTable } from './study-table.ts';
import type { Dataset } from './types.ts';

/** Indices into a dataset's samples: train, val and one or more named test sets (`test`; WILDS: `id_test`, `ood_test`), disjoint. */
export interface Split {
  train: number[];
  val: number[];
  tests: Record<string, number[]>;
}

/** How a split is drawn: `shots` (k per class, any dataset) or `study` (the study's table, exact counts). */
export interface SplitSpec {
  protocol: 'shots' | 'study';
  /** Training images per class, or the study's shot level. */
  shots: number;
  /** Validation images per class (`shots` only); default defaultValPerClass(shots). */
  valPerClass?: number;
  /** Test images per class (`shots` on datasets without official test sets); default all the rest. */
  testPerClass?: number;
  seed: number;
}

/** What a split is drawn from: a dataset's labels and named sets. */
export interface SplitSource {
  /** Registry name: the study's table is keyed on it. */
  name: string;
  labels: ArrayLike<number>;
  classes: readonly string[];
  pools?: Dataset['pools'];
  official?: Dataset['official'];
}

export function splitSource(ds: Dataset): SplitSource {
  return { name: ds.name, labels: ds.samples.map((s) => s.label), classes: ds.classes, pools: ds.pools, official: ds.official };
}

/** Validation images per class when none is asked for: about 0.3 of the shots, the study's train:val ratio (none at 0 shots). */
export function defaultValPerClass(shots: number): number {
  return shots === 0 ? 0 : Math.max(1, Math.round(shots * 0.3));
}

/**
 * The split a spec asks for, seeded, pure (the study protocol's table is passed in: studyTable()). `exclude` holds
 * images known to be unreadable: they are never drawn, so a split trains on exactly the images it names. One clear
 * error when the data cannot give it. Every split is checked before it is used (checkSplit).
 */
export function drawSplit(src: SplitSource, spec: SplitSpec, opt: { exclude?: ReadonlySet<number>; table?: StudyTable } = {}): Split {
  const split = drawUnchecked(src, spec, opt);
  checkSplit(split, src.labels, spec);
  return split;
}

/**
 * The guard every split passes before anything fits on it: train, val and each test set disjoint (no validation image
 * ever trains or is tested), no image twice in a set, and with the shots protocol at most k training images (and the
 * asked validation images) per class. A violation is a bug in reprobe, never the user's: it stops the run.
 */
export function checkSplit(split: Split, labels: ArrayLike<number>, spec: SplitSpec): void {
  const seen = new Map<number, string>();
  const sets: [string, number[]][] = [['train', split.train], ['val', split.val], ...Object.entries(split.tests)];
  for (const [name, idx] of sets) {
    for (const i of idx) {
      const other = seen.get(i);
      if (other !== undefined) throw new Error(`split guard: image ${i} is in ${other} and in ${name}`);
      seen.set(i, name);
    }
  }
  if (spec.protocol !== 'shots') return;
  const limit = (name: string, idx: number[], k: number) => {
    const counts = new Map<number, number>();
    for (const i of idx) counts.set(labels[i], (counts.get(labels[i]) ?? 0) + 1);
    for (const [c, n] of counts) if (n > k) throw new Error(`split guard: class ${c} has ${n} ${name} images, above the ${k} asked`);
  };
  limit('train', split.train, spec.shots);
  limit('val', split.val, spec.valPerClass ?? defaultValPerClass(spec.shots));
}

/** drawSplit before its guard. */
function drawUnchecked(src: SplitSource, spec: SplitSpec, opt: { exclude?: ReadonlySet<number>; table?: StudyTable } = {}): Split {
  // 0 shots (zero-shot: nothing trains, every image is tested) only with the shots protocol; commands that train refuse it earlier.
  const least = spec.protocol === 'shots' ? 0 : 1;
  if (!Number.isInteger(spec.shots) || spec.shots < least) throw new DataError(`--shots must be a whole number >= ${least}, got ${spec.shots}.`);
  const exclude = opt.exclude ?? new Set<number>();
  const usable = (idx: readonly number[]) => idx.filter((i) => !exclude.has(i));
  if (spec.protocol === 'study') {
    if (spec.valPerClass !== undefined || spec.testPerClass !== undefined) {
      throw new ConfigError("The study protocol's table fixes the val and test sizes; drop --val-per-class and --test-per-class, or use --protocol shots.");
    }
    if (!opt.table) throw new Error('drawSplit: the study protocol needs the split table (studyTable())');
    return studySplit(src, spec, exclude, opt.table);
  }
  const valPerClass = spec.valPerClass ?? defaultValPerClass(spec.shots);
  if (!Number.isInteger(valPerClass) || valPerClass < 0) throw new DataError(`--val-per-class must be a whole number >= 0, got ${valPerClass}.`);
  if (src.official) {
    // k per class from the official train set, val from the official val set, scored on every official test set.
    const rng = seeded(spec.seed);
    const set = (name: string) => usable(officialSet(src, name));
    const tests = Object.fromEntries(Object.entries(src.official.tests).map(([k, v]) => [k, set(v)]));
    return { train: perClassDraw(set(src.official.train), src.labels, spec.shots, rng), val: perClassDraw(set(src.official.val), src.labels, valPerClass, rng), tests };
  }
  const all = usable(Array.from({ length: src.labels.length }, (_, i) => i));
  return fewShotSplit(all, src.labels, src.classes, { ...spec, valPerClass });
}

function officialSet(src: SplitSource, name: string): number[] {
  const p = src.pools?.[name];
  if (!p) throw new DataError(`${src.name} defines no "${name}" set.`);
  return p;
}

/**
 * Stratified few-shot split of `from`: per class, a seeded shuffle, then `shots` train, `valPerClass` val and the
 * rest (or `testPerClass`) test. Every class needs shots + val + 1 images, so each class is also tested.
 */
function fewShotSplit(from: readonly number[], labels: ArrayLike<number>, classes: readonly string[], opt: SplitSpec & { valPerClass: number }): Split {
  const byClass: number[][] = classes.map(() => []);
  for (const i of from) byClass[labels[i]].push(i);
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
  const split: Split = { train: [], val: [], tests: { test: [] } };
  for (const idx of byClass) {
    const order = shuffled(idx, rng);
    const testEnd = opt.testPerClass === undefined ? order.length : Math.min(order.length, needed - 1 + opt.testPerClass);
    pushAll(split.train, order.slice(0, opt.shots));
    pushAll(split.val, order.slice(opt.shots, needed - 1));
    pushAll(split.tests.test, order.slice(needed - 1, testEnd));
  }
  return split;
}

/** The study's split: exact counts from the table, drawn balanced over classes from the dataset's pool (or official sets). */
function studySplit(src: SplitSource, spec: SplitSpec, exclude: ReadonlySet<number>, table: StudyTable): Split {
  const entry = table[src.name];
  if (!entry) throw new ConfigError(`The study's split table has no "${src.name}"; it covers ${Object.keys(table).join(', ')}. Use --protocol shots.`);
  const row = entry.rows[String(spec.shots)];
  if (!row) throw new ConfigError(`The study has no ${spec.shots}-shot split for ${src.name}; its shot levels: ${Object.keys(entry.rows).join(', ')}.`);
  const rng = seeded(spec.seed);
  const need = (name: string, size: number | undefined) => {
    const p = src.pools?.[name];
    if (!p) throw new DataError(`${src.name} defines no "${name}" set; cannot follow the study's split.`);
    if (size !== undefined && p.length !== size) {
      throw new DataError(`${src.name}: the study's ${name} set has ${size} images, this copy has ${p.length} (missing or extra files?); its ${spec.shots}-shot split needs the full set. Use --protocol shots on a partial copy.`);
    }
    return p.filter((i) => !exclude.has(i));
  };
  if (row.length === 3) {
    const pool = need('pool', entry.pool.size);
    const train = balancedDraw(pool, src.labels, row[0], rng);
    const used = new Set(train);
    const val = balancedDraw(pool.filter((i) => !used.has(i)), src.labels, row[1], rng);
    val.forEach((i) => used.add(i));
    const test = pool.filter((i) => !used.has(i));
    // Unreadable images leave the test set short by exactly their number; anything else is a wrong table or pool.
    const unreadable = entry.pool.size - pool.length;
    if (test.length !== row[2] - unreadable) throw new DataError(`${src.name}: ${test.length} test images left, the study has ${row[2]}${unreadable ? ` (${unreadable} unreadable)` : ''}.`);
    return { train, val, tests: { test } };
  }
  const sets = src.official;
  if (!sets) throw new DataError(`${src.name} has no official train and val sets; the study draws its ${spec.shots}-shot split from them.`);
  const train = balancedDraw(need(sets.train, entry.pool.size), src.labels, row[0], rng);
  const val = balancedDraw(need(sets.val, entry.pool.valSize), src.labels, row[1], rng);
  return { train, val, tests: Object.fromEntries(Object.entries(sets.tests).map(([k, v]) => [k, need(v, undefined)])) };
}

/** Every index a split uses, ascending. */
export function splitIndices(split: Split): number[] {
  return [...new Set([...split.train, ...split.val, ...Object.values(split.tests).flat()])].sort((a, b) => a - b);
}

/**
 * Short hash of the split's image ids and their labels (and the images left out as unreadable), so two results can
 * be checked to share a split; a split file named by it holds exactly what it covers.
 */
export function hashSplit(ds: Dataset, split: Split, unreadable: readonly number[] = []): string {
  const h = createHash('sha256');
  const parts: [string, readonly number[]][] = [['train', split.train], ['val', split.val], ...Object.entries(split.tests), ['unreadable', unreadable]];
  for (const [name, idx] of parts) {
    h.update(`${name}\n`);
    for (const i of idx) h.update(`${ds.samples[i].id}\t${ds.classes[ds.samples[i].label]}\n`);
  }
  return h.digest('hex').slice(0, 12);
}
