/**
 * Just enough of the WebAssembly binary format (core 1.0 + fixed-width SIMD) to write reprobe's own kernels from
 * TypeScript: no assembler package, and the bytes follow from this file and the kernels' source alone.
 * Instructions are plain byte arrays; the structured helpers (forRange, when) keep branch depths local.
 */
export type Code = number[];

export const I32 = 0x7f;
export const V128 = 0x7b;

/** Unsigned LEB128. */
export function uleb(n: number): Code {
  const out: Code = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 of a 32-bit integer. */
export function sleb(n: number): Code {
  const out: Code = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

const name = (s: string): Code => [...uleb(s.length), ...Buffer.from(s, 'utf8')];
const vec = (items: Code[]): Code => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: Code): Code => [id, ...uleb(body.length), ...body];

// Instructions: locals, i32 arithmetic, control, and the SIMD ones the kernels use (prefix 0xfd).
export const get = (i: number): Code => [0x20, ...uleb(i)];
export const set = (i: number): Code => [0x21, ...uleb(i)];
export const i32 = (v: number): Code => [0x41, ...sleb(v)];
export const add = [0x6a];
export const sub = [0x6b];
export const mul = [0x6c];
export const shl = [0x74];
export const ltU = [0x49];
const geU = [0x4f];
const geS = [0x4e];
const simd = (op: number): Code => [0xfd, ...uleb(op)];
/** 16-byte load/store at the address on the stack, alignment hint 2^2 (float arrays are 4-byte aligned). */
export const v128Load = [...simd(0), 2, 0];
export const v128Store = [...simd(11), 2, 0];
export const f32x4Splat = simd(19);
export const v128And = simd(78);
export const f32x4Le = simd(69);
export const f32x4Gt = simd(68);
export const f32x4Add = simd(228);
export const f32x4Mul = simd(230);
export const f32x4Min = simd(232);
export const f32x4Max = simd(233);

/** `i += step` for local i. */
export const bump = (i: number, step: number): Code => [...get(i), ...i32(step), ...add, ...set(i)];

/** for (i = from; i < end; i += step) body — `from` and `end` are code leaving one i32 each (end re-evaluated). */
export function forRange(i: number, from: Code, end: Code, step: number, body: Code): Code {
  return [...from, ...set(i), 0x02, 0x40, 0x03, 0x40, ...get(i), ...end, ...geS, 0x0d, 1, ...body, ...bump(i, step), 0x0c, 0, 0x0b, 0x0b];
}

/** while (i < end, unsigned: i and end are byte pointers) body — body advances i. */
export function whileBelow(i: number, end: number, body: Code): Code {
  return [0x02, 0x40, 0x03, 0x40, ...get(i), ...get(end), ...geU, 0x0d, 1, ...body, 0x0c, 0, 0x0b, 0x0b];
}

/** if (cond) body — cond leaves one i32. */
export const when = (cond: Code, body: Code): Code => [...cond, 0x04, 0x40, ...body, 0x0b];

export interface Func {
  name: string;
  params: number[];
  locals: number[];
  body: Code;
}

/** A module importing its memory as env.memory (the tfjs wasm heap) and exporting the functions, which return nothing. */
export function wasmModule(funcs: Func[]): Uint8Array<ArrayBuffer> {
  const types = section(1, vec(funcs.map((f) => [0x60, ...vec(f.params.map((p) => [p])), 0])));
  const imports = section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, 1]]));
  const functions = section(3, vec(funcs.map((_, i) => uleb(i))));
  const exports = section(7, vec(funcs.map((f, i) => [...name(f.name), 0x00, ...uleb(i)])));
  const bodies = funcs.map((f) => {
    const body = [...vec(f.locals.map((t) => [1, t])), ...f.body, 0x0b];
    return [...uleb(body.length), ...body];
  });
  const code = section(10, vec(bodies));
  return Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...types, ...imports, ...functions, ...exports, ...code]);
}
