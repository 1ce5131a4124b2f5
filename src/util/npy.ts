/**
 * NumPy .npy v1 read/write for float32 (and, writing, int32) C-order arrays. Written by hand: the format is one short header, and no
 * maintained npm package both reads and writes it.
 */
export interface NpyArray {
  data: Float32Array;
  shape: number[];
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export function readNpy(buf: Uint8Array): NpyArray {
  if (!MAGIC.every((b, i) => buf[i] === b)) throw new Error('not a .npy file');
  const major = buf[6];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder().decode(buf.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  if (descr !== '<f4') throw new Error(`.npy dtype ${descr} is not little-endian float32`);
  if (/'fortran_order':\s*True/.test(header)) throw new Error('.npy in Fortran order is not supported');
  const shape = (/'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '').split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new Error(`.npy shape (${shape}) is not a list of sizes`);
  const n = shape.reduce((a, b) => a * b, 1);
  const offset = start + headerLen;
  // A file cut short would otherwise read back zero-filled.
  if (buf.length < offset + n * 4) throw new Error(`.npy file is cut short: [${shape.join(', ')}] float32 needs ${offset + n * 4} bytes, it has ${buf.length}`);
  const data = new Float32Array(n);
  new Uint8Array(data.buffer).set(buf.subarray(offset, offset + n * 4));
  return { data, shape };
}

/** The .npy v1 preamble (magic, version, padded header) for a C-order array of `shape`. */
export function npyHeader(shape: readonly number[], descr: '<f4' | '<i4' = '<f4'): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  // Pad so the data starts on a 64-byte boundary, ending the header with a newline (as numpy does).
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const out = new Uint8Array(10 + header.length);
  out.set(MAGIC);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  return out;
}

/** Byte offset of the data in a .npy file. */
export function npyDataOffset(buf: Uint8Array): number {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return buf[6] === 1 ? 10 + view.getUint16(8, true) : 12 + view.getUint32(8, true);
}

export function writeNpy(arr: NpyArray | { data: Int32Array; shape: number[] }): Uint8Array {
  const head = npyHeader(arr.shape, arr.data instanceof Int32Array ? '<i4' : '<f4');
  const out = new Uint8Array(head.length + arr.data.byteLength);
  out.set(head);
  out.set(new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength), head.length);
  return out;
}
