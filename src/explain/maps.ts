import type { ExplainMap } from './types.ts';

/**
 * [n] values → [n] in [0, 1]: min-max scaled, so the minimum is 0 and the maximum 1. A constant map (nothing stands
 * out) is all 1 when positive and all 0 otherwise; non-finite values count as 0.
 * Example: [2, 4, 6] → [0, 0.5, 1].
 */
export function normalise(values: ArrayLike<number>): Float32Array {
  const out = Float32Array.from(values, (v) => (Number.isFinite(v) ? v : 0));
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of out) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!(hi > lo)) return out.fill(hi > 0 ? 1 : 0);
  const s = 1 / (hi - lo);
  for (let i = 0; i < out.length; i++) out[i] = (out[i] - lo) * s;
  return out;
}

/** Row-major [height, width] values → a normalised map. */
export function toMap(values: ArrayLike<number>, height: number, width: number): ExplainMap {
  if (values.length !== height * width) throw new RangeError(`map of ${values.length} values is not ${height}x${width}`);
  return { height, width, values: normalise(values) };
}

/**
 * [gh, gw] map → [height, width] by bilinear interpolation with half-pixel centres (PyTorch's interpolate with
 * align_corners=False, OpenCV's resize), edges clamped; normalised again so the upsampled map keeps max 1, min 0.
 */
export function upsample(map: ExplainMap, height: number, width: number): ExplainMap {
  const { height: gh, width: gw, values } = map;
  const out = new Float32Array(height * width);
  const sy = gh / height;
  const sx = gw / width;
  for (let y = 0; y < height; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), gh - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, gh - 1);
    const wy = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), gw - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, gw - 1);
      const wx = fx - x0;
      const top = values[y0 * gw + x0] * (1 - wx) + values[y0 * gw + x1] * wx;
      const bottom = values[y1 * gw + x0] * (1 - wx) + values[y1 * gw + x1] * wx;
      out[y * width + x] = top * (1 - wy) + bottom * wy;
    }
  }
  return { height, width, values: normalise(out) };
}

/** Row and column of a map's largest value (the first one in row-major order on ties). */
export function peak(map: ExplainMap): { row: number; col: number } {
  let best = 0;
  for (let i = 1; i < map.values.length; i++) if (map.values[i] > map.values[best]) best = i;
  return { row: Math.floor(best / map.width), col: best % map.width };
}

/** Jet-like colour map: 0 → dark blue, 0.5 → green-yellow, 1 → dark red; [r, g, b] in 0..255. */
export function jet(v: number): [number, number, number] {
  const c = (x: number) => Math.round(255 * Math.min(Math.max(1.5 - Math.abs(4 * v - x), 0), 1));
  return [c(3), c(2), c(1)];
}
