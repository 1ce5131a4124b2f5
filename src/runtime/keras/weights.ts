import { BackboneError } from '../../errors.ts';
import type { WeightSpec } from './topology.ts';

const QUANT_BYTES = { uint8: 1, uint16: 2, float16: 2 } as const;

/** Stored bytes of one weight → float32 values, undoing tfjs's affine uint8/uint16 quantization. */
export function decodeWeights(specs: readonly WeightSpec[], data: Uint8Array): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  let offset = 0;
  for (const spec of specs) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const q = spec.quantization;
    const bytes = size * (q ? QUANT_BYTES[q.dtype] : 4);
    if (offset + bytes > data.length) throw new BackboneError(`Weights end early: "${spec.name}" needs bytes ${offset}..${offset + bytes}, the shards hold ${data.length}.`);
    const view = data.buffer.slice(data.byteOffset + offset, data.byteOffset + offset + bytes);
    let values: Float32Array;
    if (!q) {
      values = spec.dtype === 'int32' ? Float32Array.from(new Int32Array(view)) : new Float32Array(view);
    } else if (q.dtype === 'float16') {
      throw new BackboneError(`Weight "${spec.name}" is float16-quantized, which reprobe does not decode yet.`);
    } else {
      const raw = q.dtype === 'uint8' ? new Uint8Array(view) : new Uint16Array(view);
      const scale = q.scale ?? 1;
      const min = q.min ?? 0;
      values = new Float32Array(size);
      for (let i = 0; i < size; i++) values[i] = raw[i] * scale + min;
    }
    out.set(spec.name, values);
    offset += bytes;
  }
  return out;
}
