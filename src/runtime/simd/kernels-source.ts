import { add, bump, f32x4Add, f32x4Gt, f32x4Le, f32x4Max, f32x4Min, f32x4Mul, f32x4Splat, forRange, get, i32, I32, ltU, mul, set, shl, sub, v128And, v128Load, v128Store, V128, wasmModule, when, whileBelow, type Code, type Func } from './wasm-encoder.ts';

/**
 * The source of src/runtime/simd/kernels.wasm (scripts/build-kernels.ts writes it; a test rebuilds and compares):
 * the training loops that were JavaScript, four channels per SIMD instruction, on the tfjs wasm heap itself.
 *
 * depthwise_filter / depthwise_input: the two depthwise convolution gradients (channel multiplier 1, channels a
 * multiple of 4, NHWC), in the JavaScript kernels' loop order (batch, output row, filter row, output column, filter
 * column); they accumulate into an output zeroed by the caller. Parameters (i32; pointers are byte offsets):
 * x, dy, w, batch, inH, inW, channels, outH, outW, filterH, filterW, strideH, strideW, dilationH, dilationW, padTop,
 * padLeft. depthwise_filter adds x·dy into w; depthwise_input adds dy·w into x.
 *
 * relu6_grad(x, dy, out, count): out = dy where 0 < x ≤ 6, else 0 (count a multiple of 4).
 *
 * affine_grad(dy, x, a, dx, da, db, rows, channels): the gradient of x·a + b per channel (channels a multiple of 4):
 * dx = dy·a, and da += Σ dy·x, db += Σ dy over the rows (da and db zeroed by the caller).
 *
 * affine(x, a, b, out, rows, channels): out = x·a + b per channel (channels a multiple of 4), one pass instead of
 * tfjs's multiply then add (batch norm on its running statistics, forward).
 *
 * affine_relu6(x, a, b, out, rows, channels): out = min(max(x·a + b, 0), 6), batch norm and relu6 in one pass; and
 * affine_relu6_grad(dy, x, a, b, dx, da, db, rows, channels): its gradients, relu6's mask (0 < x·a + b ≤ 6) taken
 * again from x, so the batch norm's output is never kept: g = dy where the mask holds, else 0; dx = g·a, da += Σ g·x,
 * db += Σ g (da and db zeroed by the caller).
 */
const U = 'x dy w batch inH inW C outH outW fh fw sh sw dh dw pt pl'.split(' ');
const P = Object.fromEntries(U.map((n, i) => [n, i])) as Record<string, number>;
// Locals after the parameters.
const [bb, yr, wr, xr, yc, yOff, wc, xc, xOff, wOff, o, p, q, end] = Array.from({ length: 14 }, (_, i) => U.length + i);

const g = (n: string): Code => get(P[n]);

/** o += p·q, four floats at a time, for o from o to end (p and q advancing with it). */
const axpy: Code = whileBelow(o, end, [
  ...get(o), ...get(o), ...v128Load, ...get(p), ...v128Load, ...get(q), ...v128Load, ...f32x4Mul, ...f32x4Add, ...v128Store,
  ...bump(o, 16), ...bump(p, 16), ...bump(q, 16),
]);

function depthwise(role: 'filter' | 'input'): Func {
  const zero = i32(0);
  const bytes = (c: Code): Code => [...c, ...g('C'), ...mul, ...i32(2), ...shl];
  const inner: Code = [
    ...g('x'), ...bytes([...get(bb), ...g('inH'), ...mul, ...get(xr), ...add, ...g('inW'), ...mul, ...get(xc), ...add]), ...add, ...set(xOff),
    ...g('w'), ...bytes([...get(wr), ...g('fw'), ...mul, ...get(wc), ...add]), ...add, ...set(wOff),
    ...(role === 'filter' ? [...get(wOff), ...set(o), ...get(xOff), ...set(p), ...get(yOff), ...set(q)] : [...get(xOff), ...set(o), ...get(yOff), ...set(p), ...get(wOff), ...set(q)]),
    ...get(o), ...g('C'), ...i32(2), ...shl, ...add, ...set(end),
    ...axpy,
  ];
  const body = forRange(bb, zero, g('batch'), 1,
    forRange(yr, zero, g('outH'), 1,
      forRange(wr, zero, g('fh'), 1, [
        ...get(yr), ...g('sh'), ...mul, ...get(wr), ...g('dh'), ...mul, ...add, ...g('pt'), ...sub, ...set(xr),
        ...when([...get(xr), ...g('inH'), ...ltU],
          forRange(yc, zero, g('outW'), 1, [
            ...g('dy'), ...bytes([...get(bb), ...g('outH'), ...mul, ...get(yr), ...add, ...g('outW'), ...mul, ...get(yc), ...add]), ...add, ...set(yOff),
            ...forRange(wc, zero, g('fw'), 1, [
              ...get(yc), ...g('sw'), ...mul, ...get(wc), ...g('dw'), ...mul, ...add, ...g('pl'), ...sub, ...set(xc),
              ...when([...get(xc), ...g('inW'), ...ltU], inner),
            ]),
          ]),
        ),
      ]),
    ),
  );
  return { name: `depthwise_${role}`, params: U.map(() => I32), locals: Array.from({ length: 14 }, () => I32), body };
}

function relu6Grad(): Func {
  const [x, dy, out, count, stop, lo, hi] = [0, 1, 2, 3, 4, 5, 6];
  const body: Code = [
    ...f32(0), ...f32x4Splat, ...set(lo),
    ...f32(6), ...f32x4Splat, ...set(hi),
    ...get(out), ...get(count), ...i32(2), ...shl, ...add, ...set(stop),
    // out = dy & (x > 0) & (x <= 6): dy or +0, as where(mask, dy, 0) gives.
    ...whileBelow(out, stop, [
      ...get(out), ...get(dy), ...v128Load, ...get(x), ...v128Load, ...get(lo), ...f32x4Gt, ...get(x), ...v128Load, ...get(hi), ...f32x4Le, ...v128And, ...v128And, ...v128Store,
      ...bump(out, 16), ...bump(x, 16), ...bump(dy, 16),
    ]),
  ];
  return { name: 'relu6_grad', params: [I32, I32, I32, I32], locals: [I32, V128, V128], body };
}

function affineGrad(): Func {
  const [dy, x, a, dx, da, db, rows, channels] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [r, off, width, dv] = [8, 9, 10, 11];
  const at = (base: number): Code => [...get(base), ...get(off), ...add];
  const body: Code = [
    ...get(channels), ...i32(2), ...shl, ...set(width),
    ...forRange(r, i32(0), get(rows), 1, [
      ...i32(0), ...set(off),
      ...whileBelow(off, width, [
        ...at(dy), ...v128Load, ...set(dv),
        ...at(dx), ...get(dv), ...at(a), ...v128Load, ...f32x4Mul, ...v128Store,
        ...at(da), ...at(da), ...v128Load, ...get(dv), ...at(x), ...v128Load, ...f32x4Mul, ...f32x4Add, ...v128Store,
        ...at(db), ...at(db), ...v128Load, ...get(dv), ...f32x4Add, ...v128Store,
        ...bump(off, 16),
      ]),
      ...[dy, x, dx].flatMap((base) => [...get(base), ...get(width), ...add, ...set(base)]),
    ]),
  ];
  return { name: 'affine_grad', params: Array.from({ length: 8 }, () => I32), locals: [I32, I32, I32, V128], body };
}

const f32 = (v: number): Code => [0x43, ...Buffer.from(Float32Array.of(v).buffer)];

/**
 * The body of a per-channel kernel: relu6's bounds splat into locals lo and hi, width = channels·4 bytes, then `step`
 * (which reads its operands at base + off) for each 16 bytes of each row, and `rowBases` moved on a row after each row.
 */
function perChannel(rows: number, channels: number, [r, off, width, lo, hi]: number[], step: Code, rowBases: number[]): Code {
  return [
    ...f32(0), ...f32x4Splat, ...set(lo),
    ...f32(6), ...f32x4Splat, ...set(hi),
    ...get(channels), ...i32(2), ...shl, ...set(width),
    ...forRange(r, i32(0), get(rows), 1, [
      ...i32(0), ...set(off),
      ...whileBelow(off, width, [...step, ...bump(off, 16)]),
      ...rowBases.flatMap((base) => [...get(base), ...get(width), ...add, ...set(base)]),
    ]),
  ];
}

function affine(withRelu6: boolean): Func {
  const [x, a, b, out, rows, channels] = [0, 1, 2, 3, 4, 5];
  const [r, off, width, lo, hi] = [6, 7, 8, 9, 10];
  const at = (base: number): Code => [...get(base), ...get(off), ...add];
  const step: Code = [
    ...at(out), ...at(x), ...v128Load, ...at(a), ...v128Load, ...f32x4Mul, ...at(b), ...v128Load, ...f32x4Add,
    ...(withRelu6 ? [...get(lo), ...f32x4Max, ...get(hi), ...f32x4Min] : []),
    ...v128Store,
  ];
  const body = perChannel(rows, channels, [r, off, width, lo, hi], step, [x, out]);
  return { name: withRelu6 ? 'affine_relu6' : 'affine', params: Array.from({ length: 6 }, () => I32), locals: [I32, I32, I32, V128, V128], body };
}

function affineRelu6Grad(): Func {
  const [dy, x, a, b, dx, da, db, rows, channels] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [r, off, width, gv, yv, lo, hi] = [9, 10, 11, 12, 13, 14, 15];
  const at = (base: number): Code => [...get(base), ...get(off), ...add];
  const step: Code = [
    ...at(x), ...v128Load, ...at(a), ...v128Load, ...f32x4Mul, ...at(b), ...v128Load, ...f32x4Add, ...set(yv),
    // g = dy & (y > 0) & (y <= 6): dy or +0, as relu6's own gradient.
    ...at(dy), ...v128Load, ...get(yv), ...get(lo), ...f32x4Gt, ...get(yv), ...get(hi), ...f32x4Le, ...v128And, ...v128And, ...set(gv),
    ...at(dx), ...get(gv), ...at(a), ...v128Load, ...f32x4Mul, ...v128Store,
    ...at(da), ...at(da), ...v128Load, ...get(gv), ...at(x), ...v128Load, ...f32x4Mul, ...f32x4Add, ...v128Store,
    ...at(db), ...at(db), ...v128Load, ...get(gv), ...f32x4Add, ...v128Store,
  ];
  const body = perChannel(rows, channels, [r, off, width, lo, hi], step, [dy, x, dx]);
  return { name: 'affine_relu6_grad', params: Array.from({ length: 9 }, () => I32), locals: [I32, I32, I32, V128, V128, V128, V128], body };
}

/** The kernels module's bytes. */
export const kernelsWasm = (): Uint8Array<ArrayBuffer> => wasmModule([depthwise('filter'), depthwise('input'), relu6Grad(), affineGrad(), affine(false), affine(true), affineRelu6Grad()]);
