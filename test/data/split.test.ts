import assert from 'node:assert/strict';
import { test } from 'node:test';
import { balancedDraw } from '../../src/data/draws.ts';
import { checkSplit, defaultValPerClass, drawSplit, hashSplit, type SplitSource } from '../../src/data/split.ts';
import { studyTable } from '../../src/data/study-table.ts';
import type { Dataset } from '../../src/data/types.ts';
import { ConfigError, DataError } from '../../src/errors.ts';
import { seeded } from '../../src/util/rng.ts';

type Pools = Record<string, number[]>;
const WILDS = { train: 'train', val: 'val', tests: { id_test: 'id_test', ood_test: 'test' } };
/** The study's split of a generated stand-in (labels + pools), as drawSplit sees a dataset. */
const studySplit = (name: string, shots: number, labels: number[], pools: Pools, seed: number, exclude?: Set<number>) =>
  drawSplit({ name, labels, classes: [], pools, ...(pools.id_test ? { official: WILDS } : {}) }, { protocol: 'study', shots, seed }, { exclude, table: studyTable() });

/** Labels with these per-class counts, in class order. */
const labelsOf = (counts: number[]) => counts.flatMap((n, c) => Array<number>(n).fill(c));
const even = (classes: number, total: number) => Array.from({ length: classes }, (_, c) => Math.floor(total / classes) + (c < total % classes ? 1 : 0));
/** A long-tailed class distribution (camera traps, land use): Zipf-like counts summing to total, some classes tiny. */
function longTail(classes: number, total: number): number[] {
  const w = Array.from({ length: classes }, (_, c) => 1 / (c + 1) ** 1.1);
  const s = w.reduce((a, b) => a + b, 0);
  const counts = w.map((x) => Math.max(1, Math.floor((x / s) * total)));
  counts[0] += total - counts.reduce((a, b) => a + b, 0);
  return counts;
}

/** Generated stand-ins of the right size for each dataset's pools (the class structure the study describes). */
function fixture(name: string): { labels: number[]; pools: Pools } {
  const pooled = (counts: number[]) => {
    const labels = labelsOf(counts);
    return { labels, pools: { pool: labels.map((_, i) => i) } };
  };
  switch (name) {
    case 'ucmerced': return pooled(even(21, 1260));
    case 'patternnet': return pooled(even(38, 30400));
    case 'isic': return pooled([820, 330]); // imbalanced nevus / melanoma
    case 'fgvc-aircraft': return pooled(even(100, 3334));
    case 'dtd': return pooled(even(47, 1880));
    case 'flowers102': return pooled(even(102, 1020));
    default: {
      const [classes, train, val] = name === 'fmow' ? [62, 76863, 19915] : [182, 129809, 14961];
      const parts = [longTail(classes, train), longTail(classes, val).reverse(), even(classes, 500), even(classes, 700)];
      const labels = parts.flatMap(labelsOf);
      const pools: Pools = {};
      let off = 0;
      ['train', 'val', 'id_test', 'test'].forEach((k, i) => {
        const n = parts[i].reduce((a, b) => a + b, 0);
        pools[k] = Array.from({ length: n }, (_, j) => off + j);
        off += n;
      });
      return { labels, pools };
    }
  }
}

test('every row of the split table is reproduced exactly, disjoint and inside its pools', () => {
  const table = studyTable();
  assert.deepEqual(Object.keys(table).sort(), ['dtd', 'fgvc-aircraft', 'flowers102', 'fmow', 'isic', 'iwildcam', 'patternnet', 'ucmerced']);
  for (const [name, entry] of Object.entries(table)) {
    const { labels, pools } = fixture(name);
    for (const [shots, row] of Object.entries(entry.rows)) {
      const s = studySplit(name, Number(shots), labels, pools, 0);
      const tests = Object.values(s.tests);
      assert.deepEqual([s.train.length, s.val.length], row.slice(0, 2), `${name} ${shots}`);
      if (row.length === 3) assert.equal(s.tests.test.length, row[2], `${name} ${shots}`);
      else assert.deepEqual(Object.keys(s.tests), ['id_test', 'ood_test']);
      const all = [...s.train, ...s.val, ...tests.flat()];
      assert.equal(new Set(all).size, all.length, `${name} ${shots}: disjoint`);
      const home = row.length === 3 ? [new Set(pools.pool), new Set(pools.pool)] : [new Set(pools.train), new Set(pools.val)];
      assert.ok(s.train.every((i) => home[0].has(i)) && s.val.every((i) => home[1].has(i)), `${name} ${shots}: inside the pools`);
    }
  }
});

test('draws are balanced over classes: UC Merced 10-shot is 7 train + 2 val per class, ISIC 14 is 7 + 7', () => {
  const uc = fixture('ucmerced');
  const s = studySplit('ucmerced', 10, uc.labels, uc.pools, 3);
  for (let c = 0; c < 21; c++) {
    assert.equal(s.train.filter((i) => uc.labels[i] === c).length, 7);
    assert.equal(s.val.filter((i) => uc.labels[i] === c).length, 2);
  }
  const isic = fixture('isic');
  const t = studySplit('isic', 10, isic.labels, isic.pools, 3);
  assert.deepEqual([0, 1].map((c) => t.train.filter((i) => isic.labels[i] === c).length), [7, 7]);
  // A class smaller than its share gives all it has; the others make up the rest.
  const small = balancedDraw([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], labelsOf([2, 9]), 8, seeded(1));
  assert.deepEqual([small.filter((i) => i < 2).length, small.filter((i) => i >= 2).length], [2, 6]);
});

test('the same seed gives the same split; another seed another one', () => {
  const { labels, pools } = fixture('dtd');
  assert.deepEqual(studySplit('dtd', 10, labels, pools, 5), studySplit('dtd', 10, labels, pools, 5));
  assert.notDeepEqual(studySplit('dtd', 10, labels, pools, 5).train, studySplit('dtd', 10, labels, pools, 6).train);
});

test('the study protocol refuses val and test sizes of its own: its table fixes them', () => {
  const { labels: l, pools } = fixture('ucmerced');
  assert.throws(() => drawSplit({ name: 'ucmerced', labels: l, classes: [], pools }, { protocol: 'study', shots: 10, valPerClass: 3, seed: 0 }, { table: studyTable() }), (e: unknown) => e instanceof ConfigError && /drop --val-per-class/.test(e.message));
});

test('unknown dataset or shot level, and a pool of the wrong size, are one clear error', () => {
  const { labels, pools } = fixture('ucmerced');
  assert.throws(() => studySplit('mnist', 10, labels, pools, 0), (e: unknown) => e instanceof ConfigError && /has no "mnist"/.test(e.message));
  assert.throws(() => studySplit('ucmerced', 1000, labels, pools, 0), (e: unknown) => e instanceof ConfigError && /shot levels: 10, 100/.test(e.message));
  assert.throws(() => studySplit('ucmerced', 10, labels, { pool: pools.pool.slice(1) }, 0), (e: unknown) => e instanceof DataError && /has 1260 images, this copy has 1259/.test(e.message));
});

test('an excluded (unreadable) image is never drawn; the study test set is short by exactly the unreadable ones', () => {
  const uc = fixture('ucmerced');
  const all = studySplit('ucmerced', 10, uc.labels, uc.pools, 3);
  const bad = new Set([all.train[0], all.val[0], all.tests.test[0]]);
  const s = studySplit('ucmerced', 10, uc.labels, uc.pools, 3, bad);
  assert.deepEqual([s.train.length, s.val.length, s.tests.test.length], [147, 42, 1071 - 3]);
  for (const part of [s.train, s.val, s.tests.test]) assert.ok(part.every((i) => !bad.has(i)));
});

// ---- the shots protocol (any dataset) ----
const classes = ['a', 'b', 'c'];
const labels = [...Array(20).fill(0), ...Array(15).fill(1), ...Array(30).fill(2)] as number[];
const src: SplitSource = { name: 'gen', labels, classes };
const shots = (o: { shots: number; valPerClass?: number; testPerClass?: number; seed: number }, exclude?: Set<number>) => drawSplit(src, { protocol: 'shots', ...o }, { exclude });

test('few-shot split is stratified: shots and val per class, the rest is test', () => {
  const s = shots({ shots: 5, valPerClass: 2, seed: 1 });
  for (const c of [0, 1, 2]) {
    assert.equal(s.train.filter((i) => labels[i] === c).length, 5);
    assert.equal(s.val.filter((i) => labels[i] === c).length, 2);
  }
  assert.equal(s.tests.test.length, labels.length - 21);
  const all = [...s.train, ...s.val, ...s.tests.test];
  assert.equal(new Set(all).size, all.length);
  assert.ok(all.every((i) => i >= 0 && i < labels.length));
});

test('test-per-class caps the test set per class; excluded images are never drawn', () => {
  const s = shots({ shots: 2, valPerClass: 1, testPerClass: 4, seed: 0 });
  for (const c of [0, 1, 2]) assert.equal(s.tests.test.filter((i) => labels[i] === c).length, 4);
  const bad = new Set([0, 1, 2, 20, 21]);
  const t = shots({ shots: 5, valPerClass: 2, seed: 0 }, bad);
  assert.ok([...t.train, ...t.val, ...t.tests.test].every((i) => !bad.has(i)));
  assert.equal(t.tests.test.length, labels.length - 21 - bad.size);
});

test('same seed gives the same split, another seed a different one', () => {
  const opt = { shots: 5, valPerClass: 2 };
  assert.deepEqual(shots({ ...opt, seed: 3 }), shots({ ...opt, seed: 3 }));
  assert.notDeepEqual(shots({ ...opt, seed: 3 }).train, shots({ ...opt, seed: 4 }).train);
});

test('seeds are whole numbers in [0, 2^32): 2^32 does not alias 0, it is refused', () => {
  assert.throws(() => shots({ shots: 5, valPerClass: 2, seed: 2 ** 32 }), /seed must be a whole number from 0 to 4294967295/);
  assert.throws(() => shots({ shots: 5, valPerClass: 2, seed: -1 }), /seed/);
  assert.ok(shots({ shots: 5, valPerClass: 2, seed: 2 ** 32 - 1 }).train.length === 15);
});

test('too few images: one error naming the class, its count and the need', () => {
  assert.throws(
    () => shots({ shots: 13, valPerClass: 2, seed: 0 }),
    (e: unknown) => e instanceof DataError && /"b" has 15/.test(e.message) && /needs 16/.test(e.message) && !e.message.includes('\n'),
  );
});

test('default validation size is about 0.3 x shots, at least 1', () => {
  assert.equal(defaultValPerClass(10), 3);
  assert.equal(defaultValPerClass(1), 1);
  assert.equal(defaultValPerClass(100), 30);
  assert.equal(defaultValPerClass(0), 0);
});

test('shots below 0 or fractional are rejected with the flag name; 0 shots (zero-shot) tests every image', () => {
  assert.throws(() => shots({ shots: -1, valPerClass: 1, seed: 0 }), /--shots must be a whole number >= 0, got -1/);
  const zero = shots({ shots: 0, seed: 0 });
  assert.deepEqual([zero.train.length, zero.val.length], [0, 0]);
  assert.equal(zero.tests.test.length, labels.length);
  assert.throws(() => shots({ shots: 2.5, valPerClass: 1, seed: 0 }), /--shots/);
  assert.throws(() => shots({ shots: 2, valPerClass: -1, seed: 0 }), /--val-per-class/);
});

test('WILDS-shaped data: k per class from the official train set, val from val, every official test set scored', () => {
  const { labels: l, pools } = fixture('iwildcam');
  const s = drawSplit({ name: 'iwildcam', labels: l, classes: [], pools, official: WILDS }, { protocol: 'shots', shots: 2, valPerClass: 1, seed: 0 });
  const train = new Set(pools.train);
  assert.ok(s.train.every((i) => train.has(i)));
  assert.deepEqual(Object.keys(s.tests), ['id_test', 'ood_test']);
  assert.equal(s.tests.ood_test.length, pools.test.length);
});

test('the split hash covers ids and labels: the same ids under other labels hash differently', () => {
  const ds = (labelOf: (i: number) => number): Dataset => ({
    name: 'x',
    classes: ['a', 'b'],
    samples: Array.from({ length: 6 }, (_, i) => ({ id: `img${i}`, label: labelOf(i), source: { kind: 'file', path: `/x/${i}` } })),
  });
  const split = { train: [0, 1], val: [2], tests: { test: [3, 4, 5] } };
  assert.equal(hashSplit(ds((i) => i % 2), split), hashSplit(ds((i) => i % 2), split));
  assert.notEqual(hashSplit(ds((i) => i % 2), split), hashSplit(ds((i) => (i + 1) % 2), split));
});

test('the split guard: a validation image in train or test, an image twice, or more than k per class stops the run', () => {
  const spec = { protocol: 'shots' as const, shots: 2, valPerClass: 1, seed: 0 };
  const lab = [0, 0, 0, 1, 1, 1, 0, 1];
  assert.doesNotThrow(() => checkSplit({ train: [0, 1, 3, 4], val: [2, 5], tests: { test: [6, 7] } }, lab, spec));
  assert.throws(() => checkSplit({ train: [0, 1, 3, 4], val: [2, 5], tests: { test: [2, 7] } }, lab, spec), /image 2 is in val and in test/);
  assert.throws(() => checkSplit({ train: [0, 1, 3, 4], val: [5], tests: { test: [6, 7, 7] } }, lab, spec), /image 7 is in test and in test/);
  assert.throws(() => checkSplit({ train: [0, 1, 2, 3], val: [5], tests: { test: [6, 7] } }, lab, spec), /class 0 has 3 train images, above the 2 asked/);
  assert.throws(() => checkSplit({ train: [0, 3], val: [1, 2, 5], tests: { test: [6, 7] } }, lab, spec), /class 0 has 2 val images, above the 1 asked/);
});

test('a class of 200k images splits without overflowing the call stack', () => {
  const labels = labelsOf([200_000, 3]);
  const s = drawSplit({ name: 'big', labels, classes: ['a', 'b'] }, { protocol: 'shots', shots: 1, valPerClass: 1, seed: 0 });
  assert.equal(s.train.length + s.val.length + s.tests.test.length, labels.length);
});
