import type { Matrix } from '../util/matrix.ts';

/** Column means and standard deviations (population; std 0 → 1 so constant columns stay finite). */
export function columnStats(m: Matrix): { mean: Float64Array; std: Float64Array } {
  const { data, rows, cols } = m;
  const mean = new Float64Array(cols);
  const std = new Float64Array(cols);
  for (let r = 0, o = 0; r < rows; r++, o += cols) for (let c = 0; c < cols; c++) mean[c] += data[o + c];
  for (let c = 0; c < cols; c++) mean[c] /= rows;
  for (let r = 0, o = 0; r < rows; r++, o += cols)
    for (let c = 0; c < cols; c++) {
      const v = data[o + c] - mean[c];
      std[c] += v * v;
    }
  for (let c = 0; c < cols; c++) std[c] = Math.sqrt(std[c] / rows) || 1;
  return { mean, std };
}

/** (x - mean) / std as float64, row-major. */
export function standardized(m: Matrix, stats: { mean: Float64Array; std: Float64Array }): Float64Array {
  const { data, rows, cols } = m;
  const out = new Float64Array(data.length);
  const { mean, std } = stats;
  for (let r = 0, o = 0; r < rows; r++, o += cols) for (let c = 0; c < cols; c++) out[o + c] = (data[o + c] - mean[c]) / std[c];
  return out;
}
