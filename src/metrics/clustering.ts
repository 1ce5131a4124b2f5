/**
 * Clustering scores against the labels, as scikit-learn computes them: the contingency table, the adjusted Rand
 * index (from the pair confusion matrix, in exact integers: pair counts pass 2^53 at about 10,000 points) and the
 * normalised mutual information with the arithmetic mean of the entropies (scikit-learn's default).
 */
export interface Contingency {
  /** rows = true classes, cols = clusters, both in order of first appearance; counts row-major. */
  counts: number[];
  rows: number;
  cols: number;
  n: number;
}

export function contingency(truth: ArrayLike<number>, pred: ArrayLike<number>): Contingency {
  if (truth.length !== pred.length) throw new RangeError(`${truth.length} labels but ${pred.length} cluster assignments`);
  const ids = (xs: ArrayLike<number>) => {
    const map = new Map<number, number>();
    const out = new Int32Array(xs.length);
    for (let i = 0; i < xs.length; i++) {
      let k = map.get(xs[i]);
      if (k === undefined) map.set(xs[i], (k = map.size));
      out[i] = k;
    }
    return { out, size: map.size };
  };
  const a = ids(truth);
  const b = ids(pred);
  const counts = new Array<number>(a.size * b.size).fill(0);
  for (let i = 0; i < truth.length; i++) counts[a.out[i] * b.size + b.out[i]] += 1;
  return { counts, rows: a.size, cols: b.size, n: truth.length };
}

const sums = (c: Contingency) => {
  const row = new Array<number>(c.rows).fill(0);
  const col = new Array<number>(c.cols).fill(0);
  c.counts.forEach((v, k) => {
    row[Math.floor(k / c.cols)] += v;
    col[k % c.cols] += v;
  });
  return { row, col };
};

/** scikit-learn's adjusted_rand_score: 1 for identical partitions (up to renaming), about 0 for chance, ≥ −0.5. */
export function adjustedRandIndex(truth: ArrayLike<number>, pred: ArrayLike<number>): number {
  const c = contingency(truth, pred);
  const { row, col } = sums(c);
  const sq = (xs: number[]) => xs.reduce((s, v) => s + BigInt(v) * BigInt(v), 0n);
  const n = BigInt(c.n);
  const sumSquares = sq(c.counts);
  const tp = sumSquares - n;
  const fp = sq(col) - sumSquares;
  const fn = sq(row) - sumSquares;
  const tn = n * n - fp - fn - sumSquares;
  if (fn === 0n && fp === 0n) return 1;
  return (2 * Number(tp * tn - fn * fp)) / Number((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn));
}

/** Natural-log entropy of a partition given its part sizes (0 for one part). */
function entropy(sizes: number[], n: number): number {
  let h = 0;
  for (const s of sizes) if (s > 0) h -= (s / n) * (Math.log(s) - Math.log(n));
  return h;
}

/** scikit-learn's normalized_mutual_info_score (average_method='arithmetic'). */
export function normalizedMutualInfo(truth: ArrayLike<number>, pred: ArrayLike<number>): number {
  const c = contingency(truth, pred);
  // One class and one cluster (or no samples): the same partition.
  if ((c.rows === 1 && c.cols === 1) || c.n === 0) return 1;
  const { row, col } = sums(c);
  let mi = 0;
  c.counts.forEach((v, k) => {
    if (v > 0) mi += (v / c.n) * (Math.log(v) + Math.log(c.n) - Math.log(row[Math.floor(k / c.cols)]) - Math.log(col[k % c.cols]));
  });
  mi = Math.max(mi, 0);
  if (mi === 0) return 0;
  const normalizer = Math.max((entropy(row, c.n) + entropy(col, c.n)) / 2, Number.EPSILON);
  return mi / normalizer;
}
