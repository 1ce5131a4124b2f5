import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** ../shared next to the repo root (real images for benches); undefined on machines without it. */
export function sharedDir(): string | undefined {
  const dir = join(import.meta.dirname, '..', '..', 'shared');
  return existsSync(join(dir, 'data')) ? dir : undefined;
}

/** Every `step`-th item, up to `n`: a spread-out, deterministic subset. */
export function spread<T>(items: readonly T[], n: number): T[] {
  const step = Math.max(1, Math.floor(items.length / n));
  return items.filter((_, i) => i % step === 0).slice(0, n);
}
