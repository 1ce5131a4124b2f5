import type { Rng } from '../util/rng.ts';
import type { FuzzyGraph } from './fuzzy-graph.ts';

/**
 * umap-learn's spectral start (`spectral_layout` then `noisy_scale_coords`, umap_.py): the eigenvectors of the
 * normalised graph Laplacian L = I − D^-½ W D^-½ with the smallest eigenvalues after the trivial one, scaled so the
 * largest |coordinate| is 10, plus N(0, 1e-4²) noise; umap-learn then maps each dimension onto [0, 10] before the
 * layout, and so does this. Found by Lanczos (full reorthogonalisation) on D^-½ W D^-½, whose largest eigenvalues
 * are L's smallest, deflated of the trivial eigenvector √deg. Undefined, with the reason, when the graph has several
 * connected components (umap-learn lays those out one by one; reprobe starts them at random) or Lanczos stalls.
 */
export function spectralStart(graph: FuzzyGraph, dims: number, random: Rng): { start?: Float64Array; reason?: string } {
  const { n } = graph;
  if (n < dims + 2) return { reason: `${n} points are too few for a ${dims}-d spectral start` };
  const parts = components(graph);
  if (parts > 1) return { reason: `the neighbour graph has ${parts} connected components` };
  const { rowStart, deg } = csr(graph);
  const scale = Float64Array.from(deg, (d) => 1 / Math.sqrt(d));
  // y = D^-½ W D^-½ x
  const apply = (x: Float64Array, y: Float64Array) => {
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let e = rowStart[i]; e < rowStart[i + 1]; e++) s += graph.weights[e] * scale[graph.cols[e]] * x[graph.cols[e]];
      y[i] = s * scale[i];
    }
  };
  const trivial = unit(Float64Array.from(deg, Math.sqrt));
  const vectors = topEigenvectors(apply, n, dims, trivial);
  if (!vectors) return { reason: 'Lanczos did not converge' };
  const start = new Float64Array(n * dims);
  let max = 0;
  for (let c = 0; c < dims; c++) for (let i = 0; i < n; i++) max = Math.max(max, Math.abs(vectors[c][i]));
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  for (let i = 0; i < n; i++) for (let c = 0; c < dims; c++) start[i * dims + c] = (vectors[c][i] * 10) / max + 1e-4 * gauss();
  for (let c = 0; c < dims; c++) {
    let [lo, hi] = [Infinity, -Infinity];
    for (let i = 0; i < n; i++) [lo, hi] = [Math.min(lo, start[i * dims + c]), Math.max(hi, start[i * dims + c])];
    for (let i = 0; i < n; i++) start[i * dims + c] = (10 * (start[i * dims + c] - lo)) / (hi - lo);
  }
  return { start };
}

/** Row offsets of the edges (sorted by row) and each row's weight sum. */
function csr(graph: FuzzyGraph): { rowStart: Int32Array; deg: Float64Array } {
  const rowStart = new Int32Array(graph.n + 1);
  const deg = new Float64Array(graph.n);
  for (let e = 0; e < graph.rows.length; e++) {
    rowStart[graph.rows[e] + 1]++;
    deg[graph.rows[e]] += graph.weights[e];
  }
  for (let i = 0; i < graph.n; i++) rowStart[i + 1] += rowStart[i];
  return { rowStart, deg };
}

/** The number of connected components (union-find over the edges). */
function components(graph: FuzzyGraph): number {
  const parent = Int32Array.from({ length: graph.n }, (_, i) => i);
  const root = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]];
    return i;
  };
  for (let e = 0; e < graph.rows.length; e++) parent[root(graph.rows[e])] = root(graph.cols[e]);
  let count = 0;
  for (let i = 0; i < graph.n; i++) if (root(i) === i) count++;
  return count;
}

const dot = (a: Float64Array, b: Float64Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};
const unit = (a: Float64Array) => {
  const norm = Math.sqrt(dot(a, a));
  for (let i = 0; i < a.length; i++) a[i] /= norm;
  return a;
};

const MAX_STEPS = 600;
const TOL = 1e-4;

/**
 * The `k` eigenvectors with the largest eigenvalues of a symmetric operator, orthogonal to `known` (a unit
 * eigenvector): Lanczos from the ones vector (as umap-learn's v0); each new vector has the three-term recurrence
 * taken off, then one pass of reorthogonalisation against all earlier ones, and a second only when the first
 * removed most of it (Daniel–Gragg–Kaufman–Stewart's test; two unconditional passes did twice this work). Stopped,
 * checked every step on the tridiagonal's last eigenvector row alone, when the top k Ritz pairs' residuals are below
 * TOL (eigsh's tol in umap-learn). Largest eigenvalue first.
 */
function topEigenvectors(apply: (x: Float64Array, y: Float64Array) => void, n: number, k: number, known: Float64Array): Float64Array[] | undefined {
  const basis: Float64Array[] = [];
  const alpha: number[] = [];
  const beta: number[] = [];
  const project = (w: Float64Array) => {
    const p = dot(w, known);
    for (let i = 0; i < n; i++) w[i] -= p * known[i];
    for (const v of basis) {
      const q = dot(w, v);
      for (let i = 0; i < n; i++) w[i] -= q * v[i];
    }
  };
  const v0 = new Float64Array(n).fill(1);
  project(v0);
  project(v0);
  basis.push(unit(v0));
  const steps = Math.min(MAX_STEPS, n - 1);
  for (let j = 0; j < steps; j++) {
    const w = new Float64Array(n);
    const vj = basis[j];
    apply(vj, w);
    const a = dot(w, vj);
    alpha.push(a);
    const prev = j > 0 ? basis[j - 1] : undefined;
    const bPrev = j > 0 ? beta[j - 1] : 0;
    for (let i = 0; i < n; i++) w[i] -= a * vj[i] + (prev ? bPrev * prev[i] : 0);
    const before = Math.sqrt(dot(w, w));
    project(w);
    let b = Math.sqrt(dot(w, w));
    if (b < Math.SQRT1_2 * before) {
      project(w);
      b = Math.sqrt(dot(w, w));
    }
    const last = j === steps - 1 || b < 1e-12;
    if (j + 1 >= k) {
      const ritz = tridiagonalEigen(alpha, beta, true);
      const top = ritz.order.slice(0, k);
      if (last || top.every((c) => Math.abs(b * ritz.vectors[c][0]) < TOL)) {
        const full = tridiagonalEigen(alpha, beta, false);
        return full.order.slice(0, k).map((c) => {
          const x = new Float64Array(n);
          full.vectors[c].forEach((s, t) => {
            for (let i = 0; i < n; i++) x[i] += s * basis[t][i];
          });
          return unit(x);
        });
      }
    }
    if (last) return undefined;
    beta.push(b);
    for (let i = 0; i < n; i++) w[i] /= b;
    basis.push(w);
  }
  return undefined;
}

/**
 * Eigenpairs of the symmetric tridiagonal matrix with diagonal `d` and off-diagonal `e` (implicit QL, JAMA's tql2):
 * `vectors[c]` is eigenvector c's components (with `lastRow`, its last component alone: the Ritz residual's factor,
 * at O(m²) instead of O(m³)), `order` the indexes by eigenvalue, largest first.
 */
function tridiagonalEigen(diag: readonly number[], off: readonly number[], lastRow: boolean): { values: Float64Array; vectors: Float64Array[]; order: number[] } {
  const m = diag.length;
  const d = Float64Array.from(diag);
  const e = new Float64Array(m);
  e.set(off.slice(0, m - 1));
  // v[row][col]: column c is eigenvector c. The rotations act on each row alone, so the last row can be kept alone.
  const rows = lastRow ? [m - 1] : Array.from({ length: m }, (_, i) => i);
  const v = rows.map((i) => Float64Array.from({ length: m }, (_, j) => (i === j ? 1 : 0)));
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < m; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let mm = l;
    while (mm < m - 1 && Math.abs(e[mm]) > eps * tst1) mm++;
    if (mm > l) {
      do {
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < m; i++) d[i] -= h;
        f += h;
        p = d[mm];
        let [c, c2, c3] = [1, 1, 1];
        const el1 = e[l + 1];
        let [s, s2] = [0, 0];
        for (let i = mm - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          for (let k = 0; k < v.length; k++) {
            h = v[k][i + 1];
            v[k][i + 1] = s * v[k][i] + c * h;
            v[k][i] = c * v[k][i] - s * h;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
  const vectors = Array.from({ length: m }, (_, c) => Float64Array.from({ length: v.length }, (_, row) => v[row][c]));
  const order = Array.from(d.keys()).sort((a, b) => d[b] - d[a]);
  return { values: d, vectors, order };
}
