import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { adjustedRandIndex, contingency, normalizedMutualInfo } from '../../src/metrics/clustering.ts';

interface Case {
  name: string;
  truth: number[];
  pred: number[];
  ari: number;
  nmi: number;
}
const reference = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'cluster', 'sklearn-metrics.json'), 'utf8')) as { sklearn: string; cases: Case[] };

test('ARI and NMI equal scikit-learn\'s to 1e-9, degenerate partitions and pair counts past 2^53 included', () => {
  assert.ok(reference.cases.length >= 9);
  for (const c of reference.cases) {
    assert.ok(Math.abs(adjustedRandIndex(c.truth, c.pred) - c.ari) <= 1e-9, `${c.name}: ARI ${adjustedRandIndex(c.truth, c.pred)} vs scikit-learn ${c.ari}`);
    assert.ok(Math.abs(normalizedMutualInfo(c.truth, c.pred) - c.nmi) <= 1e-9, `${c.name}: NMI ${normalizedMutualInfo(c.truth, c.pred)} vs scikit-learn ${c.nmi}`);
  }
});

test('the contingency table by hand; ARI by hand on a small case', () => {
  const t = contingency([0, 0, 1, 1, 2], [5, 5, 5, 7, 7]);
  assert.deepEqual(t, { counts: [2, 0, 1, 1, 0, 1], rows: 3, cols: 2, n: 5 });
  // Pairs: 10. Same class: (0,1),(2,3) → 2; same cluster: (0,1),(0,2),(1,2),(3,4) → 4; both: (0,1) → 1.
  // ARI = (1 - 2·4/10) / ((2 + 4)/2 - 2·4/10) = 0.2 / 2.2.
  assert.ok(Math.abs(adjustedRandIndex([0, 0, 1, 1, 2], [5, 5, 5, 7, 7]) - 0.2 / 2.2) < 1e-12);
  assert.throws(() => adjustedRandIndex([0, 1], [0]), RangeError);
});
