/**
 * Writes scikit-learn's adjusted Rand index and NMI (tools/sklearn_cluster_reference.py, Debian python3-sklearn) on
 * generated label pairs, the degenerate ones included, to test/fixtures/cluster/sklearn-metrics.json.
 * Rerun when the cases change:   node --import tsx tools/make-cluster-reference.ts
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { seeded, shuffled } from '../src/util/rng.ts';

const rng = seeded(15);
const draw = (n: number, k: number) => Array.from({ length: n }, () => Math.floor(rng() * k));
const truth = draw(300, 7);
/** 80 % kept, the rest reassigned at random: a partly right clustering. */
const noisy = (t: number[], k: number, keep: number) => t.map((v) => (rng() < keep ? v : Math.floor(rng() * k)));
const perm = shuffled([0, 1, 2, 3, 4, 5, 6], rng);

const cases = [
  { name: 'partly right', truth, pred: noisy(truth, 7, 0.8) },
  { name: 'more clusters than classes', truth, pred: noisy(truth.map((v, i) => v * 2 + (i % 2)), 14, 0.9) },
  { name: 'random', truth, pred: draw(300, 5) },
  { name: 'permuted labels (same partition)', truth, pred: truth.map((v) => perm[v] + 10) },
  { name: 'one cluster', truth, pred: truth.map(() => 0) },
  { name: 'all singletons', truth, pred: truth.map((_, i) => i) },
  { name: 'one class, one cluster', truth: truth.map(() => 3), pred: truth.map(() => 1) },
  { name: 'one class, two clusters', truth: truth.map(() => 3), pred: truth.map((_, i) => i % 2) },
  { name: 'large (pair counts past 2^53)', truth: draw(20000, 10), pred: draw(20000, 10) },
];
const out = execFileSync(process.env.REPROBE_PYTHON ?? '/usr/bin/python3', [join(import.meta.dirname, 'sklearn_cluster_reference.py')], { input: JSON.stringify({ cases }), encoding: 'utf8', maxBuffer: 1 << 26 });
writeFileSync(join(import.meta.dirname, '..', 'test', 'fixtures', 'cluster', 'sklearn-metrics.json'), out);
console.log('wrote test/fixtures/cluster/sklearn-metrics.json');
