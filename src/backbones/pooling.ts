import { BackboneError } from '../errors.ts';
import { matrix, type Matrix } from '../util/matrix.ts';
import type { Tensor } from '../runtime/ort.ts';
import type { OutputSpec } from './types.ts';

/** Output rank each pooling reads. */
export const POOLING_RANK = { cls: 3, mean: 3, gap: 4, none: 2 } as const;

/**
 * One model output → [n, d] features. `cls`: token 0 of [n, t, d]; `mean`: mean of tokens `prefixTokens..t-1`;
 * `gap`: mean over h, w of [n, c, h, w] (NCHW, as ONNX convnets emit); `none`: [n, d] (or [n, d, 1, 1]) as is.
 */
export function pool(t: Tensor, spec: OutputSpec): Matrix {
  const [n] = t.dims;
  const rank = t.dims.length;
  const squeezed = spec.pooling === 'none' && rank === 4 && t.dims[2] === 1 && t.dims[3] === 1;
  if (rank !== POOLING_RANK[spec.pooling] && !squeezed) {
    throw new BackboneError(`Output "${spec.name}" has shape [${t.dims.join(', ')}]; pooling "${spec.pooling}" needs a rank-${POOLING_RANK[spec.pooling]} output.`);
  }
  switch (spec.pooling) {
    case 'none':
      return matrix(n, t.dims[1], t.data);
    case 'cls': {
      const [, tokens, d] = t.dims;
      const out = new Float32Array(n * d);
      for (let i = 0; i < n; i++) out.set(t.data.subarray(i * tokens * d, i * tokens * d + d), i * d);
      return matrix(n, d, out);
    }
    case 'mean': {
      const [, tokens, d] = t.dims;
      const skip = spec.prefixTokens ?? 1;
      if (tokens <= skip) throw new BackboneError(`Output "${spec.name}" has ${tokens} tokens; mean pooling skips ${skip} prefix token(s) and needs at least one more.`);
      const out = new Float32Array(n * d);
      const acc = new Float64Array(d);
      for (let i = 0; i < n; i++) {
        acc.fill(0);
        for (let k = skip; k < tokens; k++) {
          const o = (i * tokens + k) * d;
          for (let j = 0; j < d; j++) acc[j] += t.data[o + j];
        }
        for (let j = 0; j < d; j++) out[i * d + j] = acc[j] / (tokens - skip);
      }
      return matrix(n, d, out);
    }
    case 'gap': {
      const [, c, h, w] = t.dims;
      const hw = h * w;
      const out = new Float32Array(n * c);
      for (let i = 0; i < n * c; i++) {
        let s = 0;
        for (let p = i * hw; p < (i + 1) * hw; p++) s += t.data[p];
        out[i] = s / hw;
      }
      return matrix(n, c, out);
    }
  }
}
