import { DataError } from '../errors.ts';
import { shuffled, type Rng } from '../util/rng.ts';

/** The indices of `from` grouped by label (classes ascending, empty ones left out), each group shuffled by `rng` in that order. */
export function shuffledByClass(from: Iterable<number>, labels: ArrayLike<number>, rng: Rng): number[][] {
  const byClass = new Map<number, number[]>();
  for (const i of from) {
    const list = byClass.get(labels[i]);
    if (list) list.push(i);
    else byClass.set(labels[i], [i]);
  }
  return [...byClass.keys()].sort((a, b) => a - b).map((c) => shuffled(byClass.get(c)!, rng));
}

/**
 * n indices from `from`, as balanced over classes as the class sizes allow (equal shares, capped by what a class
 * has, the rest spread over the classes that still have images; leftover single images go to seeded classes).
 */
export function balancedDraw(from: readonly number[], labels: ArrayLike<number>, n: number, rng: Rng): number[] {
  const lists = shuffledByClass(from, labels, rng);
  const take = lists.map(() => 0);
  let rest = n;
  let open = lists.map((_, g) => g);
  while (rest > 0 && open.length > 0) {
    const share = Math.floor(rest / open.length);
    if (share === 0) {
      for (const g of shuffled(open, rng).slice(0, rest)) take[g]++;
      rest = 0;
      break;
    }
    for (const g of open) {
      const t = Math.min(share, lists[g].length - take[g]);
      take[g] += t;
      rest -= t;
    }
    open = open.filter((g) => take[g] < lists[g].length);
  }
  if (rest > 0) throw new DataError(`Cannot draw ${n} images from ${from.length}.`);
  return lists.flatMap((list, g) => list.slice(0, take[g]));
}

/** Up to k indices of each class in `from` (all of a smaller class), seeded. */
export function perClassDraw(from: readonly number[], labels: ArrayLike<number>, k: number, rng: Rng): number[] {
  return shuffledByClass(from, labels, rng).flatMap((list) => list.slice(0, k));
}
