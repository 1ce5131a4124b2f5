import { inflateSync } from 'node:zlib';
import { DataError } from '../errors.ts';

/**
 * Numeric arrays from a MATLAB v5 .mat file (Flowers102's imagelabels.mat / setid.mat). Written by hand: the npm
 * MAT readers are unmaintained, and the subset needed (numeric matrices, optionally zlib-compressed) is small.
 */
export function readMat5(buf: Uint8Array, file = 'the .mat file'): Map<string, Float64Array> {
  if (buf.length < 128 || new TextDecoder().decode(buf.subarray(0, 10)) !== 'MATLAB 5.0') {
    throw new DataError(`${file} is not a MATLAB 5.0 .mat file (v7.3/HDF5 files are not supported).`);
  }
  if (buf[126] !== 0x49 || buf[127] !== 0x4d) throw new DataError(`${file}: big-endian .mat files are not supported.`);
  const out = new Map<string, Float64Array>();
  readElements(buf.subarray(128), out, file);
  return out;
}

const MI = { INT8: 1, UINT8: 2, INT16: 3, UINT16: 4, INT32: 5, UINT32: 6, SINGLE: 7, DOUBLE: 9, INT64: 12, UINT64: 13, MATRIX: 14, COMPRESSED: 15 } as const;

interface Element {
  type: number;
  data: Uint8Array;
  /** Bytes taken, padding included. */
  size: number;
}

function element(b: Uint8Array, off: number): Element {
  const v = new DataView(b.buffer, b.byteOffset + off);
  const first = v.getUint32(0, true);
  if (first >>> 16 !== 0) {
    // Small data element: type and size share the first word, data in the next 4 bytes.
    const n = first >>> 16;
    return { type: first & 0xffff, data: b.subarray(off + 4, off + 4 + n), size: 8 };
  }
  const n = v.getUint32(4, true);
  const padded = first === MI.COMPRESSED ? n : Math.ceil(n / 8) * 8;
  return { type: first, data: b.subarray(off + 8, off + 8 + n), size: 8 + padded };
}

function readElements(b: Uint8Array, out: Map<string, Float64Array>, file: string): void {
  for (let off = 0; off + 8 <= b.length; ) {
    const e = element(b, off);
    off += e.size;
    if (e.type === MI.COMPRESSED) readElements(new Uint8Array(inflateSync(e.data)), out, file);
    else if (e.type === MI.MATRIX) {
      const m = matrix(e.data, file);
      if (m) out.set(m.name, m.values);
    }
  }
}

function matrix(b: Uint8Array, file: string): { name: string; values: Float64Array } | undefined {
  const flags = element(b, 0);
  const mxClass = new DataView(flags.data.buffer, flags.data.byteOffset).getUint32(0, true) & 0xff;
  if (mxClass < 6 || mxClass > 15) return undefined; // cells, structs, chars, sparse: not needed here
  let off = flags.size;
  const dims = element(b, off);
  off += dims.size;
  const name = element(b, off);
  off += name.size;
  const real = element(b, off);
  return { name: new TextDecoder().decode(name.data), values: numbers(real, file) };
}

function numbers(e: Element, file: string): Float64Array {
  const v = new DataView(e.data.buffer, e.data.byteOffset, e.data.byteLength);
  const read: Record<number, [number, (o: number) => number]> = {
    [MI.INT8]: [1, (o) => v.getInt8(o)],
    [MI.UINT8]: [1, (o) => v.getUint8(o)],
    [MI.INT16]: [2, (o) => v.getInt16(o, true)],
    [MI.UINT16]: [2, (o) => v.getUint16(o, true)],
    [MI.INT32]: [4, (o) => v.getInt32(o, true)],
    [MI.UINT32]: [4, (o) => v.getUint32(o, true)],
    [MI.SINGLE]: [4, (o) => v.getFloat32(o, true)],
    [MI.DOUBLE]: [8, (o) => v.getFloat64(o, true)],
    [MI.INT64]: [8, (o) => Number(v.getBigInt64(o, true))],
    [MI.UINT64]: [8, (o) => Number(v.getBigUint64(o, true))],
  };
  const r = read[e.type];
  if (!r) throw new DataError(`${file}: unsupported MAT data type ${e.type}.`);
  const out = new Float64Array(e.data.byteLength / r[0]);
  for (let i = 0; i < out.length; i++) out[i] = r[1](i * r[0]);
  return out;
}
