import assert from 'node:assert/strict';
import { test } from 'node:test';
import { balancedDraw, studySplit, studyTable, type Pools } from '../../src/data/study-splits.ts';
import { ConfigError, DataError } from '../../src/errors.ts';
import { seeded } from '../../src/util/rng.ts';

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

test('unknown dataset or shot level, and a pool of the wrong size, are one clear error', () => {
  const { labels, pools } = fixture('ucmerced');
  assert.throws(() => studySplit('mnist', 10, labels, pools, 0), (e: unknown) => e instanceof ConfigError && /has no "mnist"/.test(e.message));
  assert.throws(() => studySplit('ucmerced', 1000, labels, pools, 0), (e: unknown) => e instanceof ConfigError && /shot levels: 10, 100/.test(e.message));
  assert.throws(() => studySplit('ucmerced', 10, labels, { pool: pools.pool.slice(1) }, 0), (e: unknown) => e instanceof DataError && /has 1260 images, this copy has 1259/.test(e.message));
});
