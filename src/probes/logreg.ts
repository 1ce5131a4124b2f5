import type { Matrix } from '../util/matrix.ts';
import { columnStats, standardized } from './features.ts';
import { lbfgs } from './lbfgs.ts';

export interface LogRegOptions {
  /** Inverse regularization strength, as scikit-learn's C. */
  C: number;
  maxIter: number;
  tol: number;
}

/** A fitted multinomial model over standardized features. */
export interface LogRegModel {
  mean: Float64Array;
  std: Float64Array;
  /** [d, K] row-major, then K biases. */
  weights: Float64Array;
  d: number;
  K: number;
  iterations: number;
  converged: boolean;
}

/**
 * Multinomial L2 logistic regression with bias: minimizes (1/n) Σ CE + ||W||² / (2 C n), scikit-learn's lbfgs objective
 * scaled by 1/(C n) (bias unpenalized). x [n,d], labels [n] → model. `init` warm-starts from a previous fit.
 */
export function fitLogReg(x: Matrix, labels: ArrayLike<number>, numClasses: number, opt: LogRegOptions, init?: LogRegModel): LogRegModel {
  const stats = init ? { mean: init.mean, std: init.std } : columnStats(x);
  const X = standardized(x, stats);
  const { rows: n, cols: d } = x;
  const K = numClasses;
  const lambda = 1 / (opt.C * n);
  const logits = new Float64Array(n * K);
  const objective = (theta: Float64Array, grad: Float64Array): number => {
    forward(X, n, d, K, theta, logits);
    grad.fill(0);
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const row = logits.subarray(i * K, (i + 1) * K);
      const target = row[labels[i]];
      loss += softmaxInPlace(row) - target;
      row[labels[i]] -= 1; // row now holds (p - y)
    }
    // grad W = Xᵀ (P - Y) / n, grad b = Σ (P - Y) / n
    gradXtP(X, n, d, K, logits, grad);
    let reg = 0;
    for (let p = 0; p < d * K; p++) {
      grad[p] = grad[p] / n + lambda * theta[p];
      reg += theta[p] * theta[p];
    }
    for (let k = 0; k < K; k++) grad[d * K + k] /= n;
    return loss / n + 0.5 * lambda * reg;
  };
  const start = init ? Float64Array.from(init.weights) : new Float64Array(d * K + K);
  // scikit-learn's objective is n times ours, so its gradient tolerance `tol` is tol / n here: the same stopping point.
  const res = lbfgs(objective, start, { maxIter: opt.maxIter, gradTol: opt.tol / n, memory: 10 });
  return { mean: stats.mean, std: stats.std, weights: res.x, d, K, iterations: res.iterations, converged: res.converged };
}

/** x [m,d] → class probabilities [m,K]. */
export function predictProba(model: LogRegModel, x: Matrix): Float64Array {
  const X = standardized(x, model);
  const out = new Float64Array(x.rows * model.K);
  forward(X, x.rows, model.d, model.K, model.weights, out);
  for (let i = 0; i < x.rows; i++) softmaxInPlace(out.subarray(i * model.K, (i + 1) * model.K));
  return out;
}

/** logits [n,K] = X W + b; four rows per pass over W, so each weight is loaded once for four rows. */
function forward(X: Float64Array, n: number, d: number, K: number, theta: Float64Array, out: Float64Array): void {
  for (let i = 0; i < n; i++) for (let k = 0; k < K; k++) out[i * K + k] = theta[d * K + k];
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const [x0, x1, x2, x3] = [i * d, (i + 1) * d, (i + 2) * d, (i + 3) * d];
    const [o0, o1, o2, o3] = [i * K, (i + 1) * K, (i + 2) * K, (i + 3) * K];
    for (let j = 0; j < d; j++) {
      const a0 = X[x0 + j];
      const a1 = X[x1 + j];
      const a2 = X[x2 + j];
      const a3 = X[x3 + j];
      const wo = j * K;
      for (let k = 0; k < K; k++) {
        const w = theta[wo + k];
        out[o0 + k] += a0 * w;
        out[o1 + k] += a1 * w;
        out[o2 + k] += a2 * w;
        out[o3 + k] += a3 * w;
      }
    }
  }
  for (; i < n; i++) {
    const xo = i * d;
    const oo = i * K;
    for (let j = 0; j < d; j++) {
      const xv = X[xo + j];
      const wo = j * K;
      for (let k = 0; k < K; k++) out[oo + k] += xv * theta[wo + k];
    }
  }
}

/** grad[d,K] += Xᵀ P and grad bias += Σ P rows; four rows per pass, so each gradient cell is updated once per four. */
function gradXtP(X: Float64Array, n: number, d: number, K: number, P: Float64Array, grad: Float64Array): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const [x0, x1, x2, x3] = [i * d, (i + 1) * d, (i + 2) * d, (i + 3) * d];
    const [p0, p1, p2, p3] = [i * K, (i + 1) * K, (i + 2) * K, (i + 3) * K];
    for (let j = 0; j < d; j++) {
      const a0 = X[x0 + j];
      const a1 = X[x1 + j];
      const a2 = X[x2 + j];
      const a3 = X[x3 + j];
      const wo = j * K;
      for (let k = 0; k < K; k++) grad[wo + k] += a0 * P[p0 + k] + a1 * P[p1 + k] + a2 * P[p2 + k] + a3 * P[p3 + k];
    }
  }
  for (; i < n; i++) {
    const xo = i * d;
    const go = i * K;
    for (let j = 0; j < d; j++) {
      const xv = X[xo + j];
      const wo = j * K;
      for (let k = 0; k < K; k++) grad[wo + k] += xv * P[go + k];
    }
  }
  for (let r = 0; r < n; r++) for (let k = 0; k < K; k++) grad[d * K + k] += P[r * K + k];
}

/** Softmax of one row in place; returns its log-sum-exp. */
function softmaxInPlace(row: Float64Array): number {
  let max = -Infinity;
  for (let k = 0; k < row.length; k++) max = Math.max(max, row[k]);
  let sum = 0;
  for (let k = 0; k < row.length; k++) {
    row[k] = Math.exp(row[k] - max);
    sum += row[k];
  }
  for (let k = 0; k < row.length; k++) row[k] /= sum;
  return max + Math.log(sum);
}
