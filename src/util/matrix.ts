/** Row-major [rows, cols] float matrix: the one shape features travel in between stages. */
export interface Matrix {
  data: Float32Array;
  rows: number;
  cols: number;
}

export function matrix(rows: number, cols: number, data: Float32Array = new Float32Array(rows * cols)): Matrix {
  if (data.length !== rows * cols) throw new RangeError(`matrix data has ${data.length} values, expected ${rows}x${cols}`);
  return { data, rows, cols };
}

/** Rows picked by index, in the given order. */
export function takeRows(m: Matrix, idx: readonly number[]): Matrix {
  const out = new Float32Array(idx.length * m.cols);
  idx.forEach((r, i) => out.set(m.data.subarray(r * m.cols, (r + 1) * m.cols), i * m.cols));
  return { data: out, rows: idx.length, cols: m.cols };
}

/** Stack matrices with equal column counts. */
export function vstack(parts: readonly Matrix[]): Matrix {
  const cols = parts[0]?.cols ?? 0;
  const rows = parts.reduce((s, p) => s + p.rows, 0);
  const out = new Float32Array(rows * cols);
  let off = 0;
  for (const p of parts) {
    if (p.cols !== cols) throw new RangeError(`vstack: ${p.cols} columns, expected ${cols}`);
    out.set(p.data, off);
    off += p.data.length;
  }
  return { data: out, rows, cols };
}

/** Copy with every row scaled to unit L2 norm (zero rows stay zero). */
export function l2Normalized(m: Matrix): Matrix {
  const { data, rows, cols } = m;
  const out = new Float32Array(data.length);
  for (let r = 0, o = 0; r < rows; r++, o += cols) {
    let s = 0;
    for (let c = o; c < o + cols; c++) s += data[c] * data[c];
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let c = o; c < o + cols; c++) out[c] = data[c] * inv;
  }
  return { data: out, rows, cols };
}

/**
 * A copy with every column's mean subtracted (squared distances do not change, and float32 products of the rows
 * cancel less), and the sum of the squared deviations in double precision.
 */
export function centred(m: Matrix): Matrix & { sumSquares: number } {
  const { rows, cols, data } = m;
  const mean = new Float64Array(cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) mean[j] += data[i * cols + j] / rows;
  const out = new Float32Array(data.length);
  let sumSquares = 0;
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) {
      const v = data[i * cols + j] - mean[j];
      out[i * cols + j] = v;
      sumSquares += v * v;
    }
  return { rows, cols, data: out, sumSquares };
}

/** [m,K] scores → [m] argmax (first max wins). */
export function argmaxRows(scores: ArrayLike<number>, K: number): Int32Array {
  const out = new Int32Array(scores.length / K);
  for (let i = 0; i < out.length; i++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (scores[i * K + k] > scores[i * K + best]) best = k;
    out[i] = best;
  }
  return out;
}
