/**
 * Loops for arrays of any length: `out.push(...xs)` and `Math.max(...xs)` pass every element as an argument and
 * overflow the call stack past about 100k elements (a sweep grid of 300k jobs, a class folder of 200k images).
 */

/** Append every element of `items` to `out`, in order. */
export function pushAll<T>(out: T[], items: readonly T[]): void {
  for (const x of items) out.push(x);
}

/** The largest of `xs`, or `floor` when `xs` is empty or all below it. */
export function maxOf(xs: Iterable<number>, floor = -Infinity): number {
  let m = floor;
  for (const x of xs) if (x > m) m = x;
  return m;
}
