/** Objective: value and gradient (written into `grad`) at x; async so its matrix products can run on onnxruntime. */
export type Objective = (x: Float64Array, grad: Float64Array) => Promise<number>;

export interface LbfgsOptions {
  maxIter: number;
  /** Stop when max |gradient| falls below this (scikit-learn's tol). */
  gradTol: number;
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
  for (let iter = 0; iter < opt.maxIter; iter++) {
    if (maxAbs(g) <= opt.gradTol) return { x, value: fx, iterations: iter, converged: true };
    // Two-loop recursion: dir = -H g.
    for (let i = 0; i < n; i++) dir[i] = -g[i];
    for (let j = S.length - 1; j >= 0; j--) {
      alpha[j] = rho[j] * dot(S[j], dir);
      axpy(-alpha[j], Y[j], dir);
    }
    const last = S.length - 1;
    // Without curvature pairs yet, a first step of unit length (as L-BFGS-B): -g alone is tiny near a warm start.
    const gamma = last >= 0 ? dot(S[last], Y[last]) / dot(Y[last], Y[last]) : 1 / Math.sqrt(dot(g, g));
    for (let i = 0; i < n; i++) dir[i] *= gamma;
    for (let j = 0; j < S.length; j++) axpy(alpha[j] - rho[j] * dot(Y[j], dir), S[j], dir);
    let slope = dot(g, dir);
    if (slope >= 0) {
      // Not a descent direction (numerical trouble): restart from steepest descent.
      S.length = Y.length = rho.length = 0;
      for (let i = 0; i < n; i++) dir[i] = -g[i] / Math.sqrt(dot(g, g));
      slope = dot(g, dir);
    }
    let step = 1;
    let fNew = Infinity;
    for (let tries = 0; tries < 40; tries++) {
      for (let i = 0; i < n; i++) xNew[i] = x[i] + step * dir[i];
      fNew = await f(xNew, gNew);
      if (fNew <= fx + 1e-4 * step * slope) break;
      step *= 0.5;
    }
    if (!(fNew < fx) && !(fNew <= fx + 1e-4 * step * slope)) return { x, value: fx, iterations: iter, converged: false };
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = xNew[i] - x[i];
      y[i] = gNew[i] - g[i];
    }
    const sy = dot(s, y);
    // Keep the pair only with positive curvature, relative to |y|² (an absolute floor drops every pair of a small step).
    if (sy > Number.EPSILON * dot(y, y)) {
      if (S.length === opt.memory) {
        S.shift();
        Y.shift();
        rho.shift();
      }
      S.push(s);
      Y.push(y);
      rho.push(1 / sy);
    }
    const decrease = fx - fNew; if (process.env.TRACE) console.log(iter, fNew, maxAbs(gNew), step, decrease);
    x.set(xNew);
    g.set(gNew);
    fx = fNew;
    // scikit-learn passes ftol = 64 * machine epsilon to scipy's L-BFGS-B.
    if (decrease <= 64 * Number.EPSILON * Math.max(1, Math.abs(fx))) return { x, value: fx, iterations: iter + 1, converged: maxAbs(g) <= opt.gradTol };
  }
  return { x, value: fx, iterations: opt.maxIter, converged: maxAbs(g) <= opt.gradTol };
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function axpy(a: number, x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < x.length; i++) y[i] += a * x[i];
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}
