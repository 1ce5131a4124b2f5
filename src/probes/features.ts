import { ProbeError } from '../errors.ts';
import type { Matrix } from '../util/matrix.ts';

/** Throws on NaN/Inf features, which would otherwise become a silently wrong score. */
export function assertFinite(m: Matrix, what: string): void {
  for (let i = 0; i < m.data.length; i++) {
    if (!Number.isFinite(m.data[i])) {
      throw new ProbeError(`${what} features hold a non-finite value (${m.data[i]}) at row ${Math.floor(i / m.cols)}, column ${i % m.cols}.`);
    }
  }
}

/** Copy with every row scaled to unit L2 norm (zero rows stay zero). */
export function l2Normalized(m: Matrix): Matrix {
  const out = new Float32Array(m.data.length);
  for (let r = 0; r < m.rows; r++) {
    let s = 0;
    for (let c = 0; c < m.cols; c++) s += m.data[r * m.cols + c] ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let c = 0; c < m.cols; c++) out[r * m.cols + c] = m.data[r * m.cols + c] * inv;
  }
  return { data: out, rows: m.rows, cols: m.cols };
}

/** Column means and standard deviations (population; std 0 → 1 so constant columns stay finite). */
export function columnStats(m: Matrix): { mean: Float64Array; std: Float64Array } {
  const mean = new Float64Array(m.cols);
  const std = new Float64Array(m.cols);
  for (let r = 0; r < m.rows; r++) for (let c = 0; c < m.cols; c++) mean[c] += m.data[r * m.cols + c];
  for (let c = 0; c < m.cols; c++) mean[c] /= m.rows;
  for (let r = 0; r < m.rows; r++) for (let c = 0; c < m.cols; c++) std[c] += (m.data[r * m.cols + c] - mean[c]) ** 2;
  for (let c = 0; c < m.cols; c++) std[c] = Math.sqrt(std[c] / m.rows) || 1;
  return { mean, std };
}

/** (x - mean) / std as float64, row-major. */
export function standardized(m: Matrix, stats: { mean: Float64Array; std: Float64Array }): Float64Array {
  const out = new Float64Array(m.data.length);
  for (let r = 0; r < m.rows; r++) for (let c = 0; c < m.cols; c++) out[r * m.cols + c] = (m.data[r * m.cols + c] - stats.mean[c]) / stats.std[c];
  return out;
}
