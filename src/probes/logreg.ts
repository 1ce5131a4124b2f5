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
    for (let i = 0; i < n; i++) {
      const xo = i * d;
      const go = i * K;
      for (let j = 0; j < d; j++) {
        const xv = X[xo + j];
        if (xv === 0) continue;
        const wo = j * K;
        for (let k = 0; k < K; k++) grad[wo + k] += xv * logits[go + k];
      }
      for (let k = 0; k < K; k++) grad[d * K + k] += logits[go + k];
    }
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

/** logits [n,K] = X W + b */
function forward(X: Float64Array, n: number, d: number, K: number, theta: Float64Array, out: Float64Array): void {
  for (let i = 0; i < n; i++) {
    const oo = i * K;
    for (let k = 0; k < K; k++) out[oo + k] = theta[d * K + k];
    const xo = i * d;
    for (let j = 0; j < d; j++) {
      const xv = X[xo + j];
      if (xv === 0) continue;
      const wo = j * K;
      for (let k = 0; k < K; k++) out[oo + k] += xv * theta[wo + k];
    }
  }
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
