/** Objective: value and gradient (written into `grad`) at x; async so its matrix products can run on onnxruntime. */
export type Objective = (x: Float64Array, grad: Float64Array) => Promise<number>;

export interface LbfgsOptions {
  maxIter: number;
  /** Stop when max |gradient| falls below this (scikit-learn's tol). */
  gradTol: number;
  /** Stop when an iteration lowers f by at most ftol * max(|f|, |f_new|, fFloor) (scipy L-BFGS-B's ftol test). */
  ftol: number;
  fFloor: number;
  memory: number;
}

export interface LbfgsResult {
  x: Float64Array;
  value: number;
  iterations: number;
  converged: boolean;
}

/** L-BFGS (two-loop recursion) with a backtracking Armijo line search. Hand-written: no maintained npm L-BFGS fits Float64Array objectives. */
export async function lbfgs(f: Objective, x0: Float64Array, opt: LbfgsOptions): Promise<LbfgsResult> {
  const n = x0.length;
  const x = Float64Array.from(x0);
  const g = new Float64Array(n);
  let fx = await f(x, g);
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const dir = new Float64Array(n);
  const xNew = new Float64Array(n);
  const gNew = new Float64Array(n);
  const alpha = new Float64Array(opt.memory);
  let sBuf: Float64Array = new Float64Array(n);
  let yBuf: Float64Array = new Float64Array(n);
  for (let iter = 0; iter < opt.maxIter; iter++) {
    if (maxAbs(g) <= opt.gradTol) return { x, value: fx, iterations: iter, converged: true };
    let slope = direction(g, S, Y, rho, alpha, dir);
    if (slope >= 0) {
      // Not a descent direction (numerical trouble): restart from steepest descent.
      S.length = Y.length = rho.length = 0;
      slope = direction(g, S, Y, rho, alpha, dir);
    }
    let step = 1;
    let fNew = Infinity;
    for (let tries = 0; tries < 40; tries++) {
      stepTo(x, step, dir, xNew);
      fNew = await f(xNew, gNew);
      if (fNew <= fx + 1e-4 * step * slope) break;
      step *= 0.5;
    }
    if (!(fNew < fx) && !(fNew <= fx + 1e-4 * step * slope)) return { x, value: fx, iterations: iter, converged: false };
    const sy = differences(xNew, x, gNew, g, sBuf, yBuf);
    // Keep the pair only with positive curvature, relative to |y|² (an absolute floor drops every pair of a small step).
    if (sy > Number.EPSILON * dot(yBuf, yBuf)) {
      S.push(sBuf);
      Y.push(yBuf);
      rho.push(1 / sy);
      // The dropped oldest pair's arrays become the next scratch.
      const full = S.length > opt.memory;
      sBuf = full ? S.shift()! : new Float64Array(n);
      yBuf = full ? Y.shift()! : new Float64Array(n);
      if (full) rho.shift();
    }
    const decrease = fx - fNew;
    const scale = Math.max(Math.abs(fx), Math.abs(fNew), opt.fFloor);
    x.set(xNew);
    g.set(gNew);
    fx = fNew;
    // Converged as scipy reports it: a relative decrease this small counts as success.
    if (decrease <= opt.ftol * scale) return { x, value: fx, iterations: iter + 1, converged: true };
  }
  return { x, value: fx, iterations: opt.maxIter, converged: maxAbs(g) <= opt.gradTol };
}

/**
 * dir = -H g by the two-loop recursion over the stored pairs; returns the slope g·dir. Each pass applies one pair's
 * update and takes the next pair's dot product at once: half the passes over memory of the textbook loops.
 */
function direction(g: Float64Array, S: Float64Array[], Y: Float64Array[], rho: number[], alpha: Float64Array, dir: Float64Array): number {
  const n = g.length;
  const m = S.length;
  for (let i = 0; i < n; i++) dir[i] = -g[i];
  if (m === 0) {
    // Without curvature pairs yet, a first step of unit length (as L-BFGS-B): -g alone is tiny near a warm start.
    const inv = 1 / Math.sqrt(dot(g, g));
    for (let i = 0; i < n; i++) dir[i] *= inv;
    return dot(g, dir);
  }
  // First loop, newest to oldest: alpha_j = rho_j s_j·q; q -= alpha_j y_j.
  alpha[m - 1] = rho[m - 1] * dot(S[m - 1], dir);
  for (let j = m - 1; j > 0; j--) alpha[j - 1] = rho[j - 1] * axpyDot(-alpha[j], Y[j], dir, S[j - 1]);
  // The oldest pair's update and the initial Hessian scaling, in one pass.
  const gamma = dot(S[m - 1], Y[m - 1]) / dot(Y[m - 1], Y[m - 1]);
  const [a0, y0] = [alpha[0], Y[0]];
  for (let i = 0; i < n; i++) dir[i] = (dir[i] - a0 * y0[i]) * gamma;
  // Second loop, oldest to newest: beta_j = rho_j y_j·r; r += (alpha_j - beta_j) s_j.
  let beta = rho[0] * dot(Y[0], dir);
  for (let j = 0; j < m - 1; j++) beta = rho[j + 1] * axpyDot(alpha[j] - beta, S[j], dir, Y[j + 1]);
  return axpyDot(alpha[m - 1] - beta, S[m - 1], dir, g);
}

/** y += a x, then returns z·y, in one pass. */
function axpyDot(a: number, x: Float64Array, y: Float64Array, z: Float64Array): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    y[i] += a * x[i];
    s += z[i] * y[i];
  }
  return s;
}

function stepTo(x: Float64Array, step: number, dir: Float64Array, out: Float64Array): void {
  for (let i = 0; i < x.length; i++) out[i] = x[i] + step * dir[i];
}

/** s = x1 - x0, y = g1 - g0; returns s·y. */
function differences(x1: Float64Array, x0: Float64Array, g1: Float64Array, g0: Float64Array, s: Float64Array, y: Float64Array): number {
  let sy = 0;
  for (let i = 0; i < s.length; i++) {
    s[i] = x1[i] - x0[i];
    y[i] = g1[i] - g0[i];
    sy += s[i] * y[i];
  }
  return sy;
}

/** Four partial sums: about twice the plain loop's speed in V8. */
function dot(a: Float64Array, b: Float64Array): number {
  let [s0, s1, s2, s3] = [0, 0, 0, 0];
  const n = a.length;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  for (; i < n; i++) s0 += a[i] * b[i];
  return s0 + s1 + s2 + s3;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}
