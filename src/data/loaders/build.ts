import { DataError } from '../../errors.ts';
import { seeded } from '../../util/rng.ts';
import { shuffledByClass } from '../draws.ts';
import { insideRoot } from '../paths.ts';
import type { Dataset, Sample } from '../types.ts';

/** One listed image: an id, a path relative to the dataset folder, its class name. */
export interface Row {
  id: string;
  rel: string;
  cls: string;
}

/** Rows → dataset: classes in the given order (else sorted), paths kept inside `root` (escaping rows are rejected). */
export function fromRows(name: string, root: string, rows: readonly Row[], classes?: string[]): { dataset: Dataset; indexOf: Map<string, number> } {
  const names = classes ?? [...new Set(rows.map((r) => r.cls))].sort();
  const label = new Map(names.map((c, i) => [c, i]));
  const samples: Sample[] = [];
  const rejected: { id: string; reason: string }[] = [];
  const indexOf = new Map<string, number>();
  for (const r of rows) {
    const path = insideRoot(root, r.rel);
    const l = label.get(r.cls);
    if (!path) rejected.push({ id: r.id, reason: `path "${r.rel}" escapes the data root` });
    else if (l === undefined) rejected.push({ id: r.id, reason: `label "${r.cls}" is not one of the dataset's classes` });
    else {
      indexOf.set(r.id, samples.length);
      samples.push({ id: r.id, source: { kind: 'file', path }, label: l });
    }
  }
  if (samples.length === 0) throw new DataError(`${name}: no usable images listed under ${root}${rejected.length ? ` (${rejected.length} rejected: ${rejected[0].reason})` : ''}.`);
  return { dataset: { name, classes: names, samples, ...(rejected.length ? { rejected } : {}) }, indexOf };
}

/** A fixed, seeded share of each class (seed 0: the dataset's definition, not the run's seed). */
export function perClassShare(labels: readonly number[], take: (classSize: number) => number): number[] {
  return shuffledByClass(labels.keys(), labels, seeded(0))
    .flatMap((list) => list.slice(0, take(list.length)))
    .sort((a, b) => a - b);
}
