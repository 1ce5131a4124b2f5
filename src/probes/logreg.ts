import { gemm } from '../runtime/gemm.ts';
import type { Matrix } from '../util/matrix.ts';
import { columnStats, standardized } from './features.ts';
import { lbfgs } from './lbfgs.ts';
import { softmaxLoss, type SoftmaxLoss } from './softmax-loss.ts';

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

/** Training rows standardized once, shared by every fit of a C sweep. */
export interface LogRegData {
  X: Float64Array;
  /** Xᵀ [d, n], when it fits in memory: the gradient's product is about twice as fast without a transposed operand. */
  XT?: Float64Array;
  n: number;
  d: number;
  K: number;
  labels: ArrayLike<number>;
  mean: Float64Array;
  std: Float64Array;
  /** The loss graph, built on first use and shared by the fits of a sweep. */
  loss?: Promise<SoftmaxLoss>;
}

/** scipy.optimize L-BFGS-B's default ftol (factr 1e7 times machine epsilon). */
const SCIPY_FTOL = 1e7 * Number.EPSILON;

/** Largest X (values) that also gets a transposed copy: 256 MB of float64. */
const TRANSPOSE_LIMIT = 2 ** 25;

export function logRegData(x: Matrix, labels: ArrayLike<number>, numClasses: number, stats = columnStats(x)): LogRegData {
  const X = standardized(x, stats);
  const XT = X.length <= TRANSPOSE_LIMIT ? transposed(X, x.rows, x.cols) : undefined;
  return { X, XT, n: x.rows, d: x.cols, K: numClasses, labels, mean: stats.mean, std: stats.std };
}

/** [r, c] → [c, r], in 64 x 64 tiles so reads and writes both stay in cache. */
function transposed(a: Float64Array, r: number, c: number): Float64Array {
  const out = new Float64Array(a.length);
  const T = 64;
  for (let i0 = 0; i0 < r; i0 += T)
    for (let j0 = 0; j0 < c; j0 += T)
      for (let i = i0; i < Math.min(r, i0 + T); i++) for (let j = j0; j < Math.min(c, j0 + T); j++) out[j * r + i] = a[i * c + j];
  return out;
}

/**
 * Multinomial L2 logistic regression with bias: minimizes (1/n) Σ CE + ||W||² / (2 C n), scikit-learn's lbfgs objective
 * scaled by 1/(C n) (bias unpenalized). `init` warm-starts from a previous fit on the same data.
 */
export async function fitLogRegData(data: LogRegData, opt: LogRegOptions, init?: LogRegModel): Promise<LogRegModel> {
  const { X, XT, n, d, K, labels } = data;
  const lambda = 1 / (opt.C * n);
  data.loss ??= softmaxLoss(X, XT, labels, n, d, K);
  const net = await data.loss;
  const objective = async (theta: Float64Array, grad: Float64Array): Promise<number> => {
    const { loss, gW, gb } = await net.evaluate(theta.slice(0, d * K), theta.slice(d * K));
    // (1/n) Σ CE + λ/2 |W|²: grad W = Xᵀ (P - Y) / n + λW, grad b = Σ (P - Y) / n
    let reg = 0;
    for (let p = 0; p < d * K; p++) {
      grad[p] = gW[p] / n + lambda * theta[p];
      reg += theta[p] * theta[p];
    }
    for (let k = 0; k < K; k++) grad[d * K + k] = gb[k] / n;
    return loss / n + 0.5 * lambda * reg;
  };
  const start = init ? Float64Array.from(init.weights) : new Float64Array(d * K + K);
  // scikit-learn's objective is n times ours, so its gradient tolerance `tol` is tol / n here, and the floor 1 of scipy's
  // relative-decrease test is 1 / n: the same stopping point. scikit-learn 1.2 (Debian's) leaves scipy's ftol default.
  const res = await lbfgs(objective, start, { maxIter: opt.maxIter, gradTol: opt.tol / n, ftol: SCIPY_FTOL, fFloor: 1 / n, memory: 10 });
  return { mean: data.mean, std: data.std, weights: res.x, d, K, iterations: res.iterations, converged: res.converged };
}

/** x [n,d], labels [n] → model (standardizing x on its own statistics). */
export function fitLogReg(x: Matrix, labels: ArrayLike<number>, numClasses: number, opt: LogRegOptions): Promise<LogRegModel> {
  return fitLogRegData(logRegData(x, labels, numClasses), opt);
}

/** x [m,d] → class probabilities [m,K]. */
export async function predictProba(model: LogRegModel, x: Matrix): Promise<Float64Array> {
  const { d, K } = model;
  const out = await gemm(standardized(x, model), [x.rows, d], model.weights.slice(0, d * K), [d, K], { bias: model.weights.slice(d * K) });
  for (let i = 0; i < x.rows; i++) softmaxAt(out, i * K, K);
  return out;
}

/** Softmax of row [o, o + K) of `a` in place. */
function softmaxAt(a: Float64Array, o: number, K: number): void {
  let max = -Infinity;
  for (let k = o; k < o + K; k++) if (a[k] > max) max = a[k];
  let sum = 0;
  for (let k = o; k < o + K; k++) {
    a[k] = Math.exp(a[k] - max);
    sum += a[k];
  }
  for (let k = o; k < o + K; k++) a[k] /= sum;
}
