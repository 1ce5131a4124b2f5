/**
 * The gradient coefficients of UMAP's layout for a squared distance d2, given the curve 1 / (1 + a·d2^b):
 * attraction along an edge, −2ab·d2^(b−1) / (1 + a·d2^b), and repulsion from a negative sample,
 * 2b / ((0.001 + d2)(1 + a·d2^b)).
 */
export interface LayoutKernel {
  attract(d2: number): number;
  repel(d2: number): number;
}

/** umap-js's own arithmetic (two Math.pow per edge): with it the layout equals umap-js's bit for bit. */
export function umapJsKernel(a: number, b: number): LayoutKernel {
  return {
    attract: (d2) => (-2.0 * a * b * Math.pow(d2, b - 1.0)) / (a * Math.pow(d2, b) + 1.0),
    repel: (d2) => (2.0 * 1.0 * b) / ((0.001 + d2) * (a * Math.pow(d2, b) + 1)),
  };
}

const SEGMENTS = 1024;
const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);

/**
 * The same coefficients with d2^b from two tables, 2^(e·b) per binary exponent e and m^b on [1, 2) interpolated
 * linearly over 1024 segments (relative error below 1e-7, tested): Math.pow is a call into C that cost half of the
 * layout's time (78 million of them for 10,000 points). Plain double arithmetic, so the same on every CPU.
 */
export function tableKernel(a: number, b: number): LayoutKernel {
  const scale = new Float64Array(2048);
  for (let e = 1; e < 2047; e++) scale[e] = Math.pow(2, (e - 1023) * b);
  const mant = new Float64Array(SEGMENTS + 1);
  for (let j = 0; j <= SEGMENTS; j++) mant[j] = Math.pow(1 + j / SEGMENTS, b);
  const powB = (x: number): number => {
    F64[0] = x;
    const hi = U32[1];
    const e = hi >>> 20;
    // Subnormal or not finite (points closer than 1e-154, or overflow): the exact power.
    if (e === 0 || e === 2047) return Math.pow(x, b);
    const j = (hi >>> 10) & (SEGMENTS - 1);
    const f = ((hi & 1023) + U32[0] * 2.3283064365386963e-10) * (1 / 1024);
    return scale[e] * (mant[j] + (mant[j + 1] - mant[j]) * f);
  };
  return {
    attract: (d2) => {
      const p = powB(d2);
      return (-2.0 * a * b * (p / d2)) / (a * p + 1.0);
    },
    repel: (d2) => (2.0 * b) / ((0.001 + d2) * (a * powB(d2) + 1)),
  };
}
