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

/**
 * Rows → dataset (and, per sample, the position of the row it came from): classes in the given order (else sorted),
 * paths kept inside `root`. Rejected and listed, never silently used: a path escaping the root, a missing or empty
 * label, a label not among the classes, an image listed under two labels (every row of it), and repeats of an image
 * (the first row is kept; an image in train and test would score itself).
 */
export function fromRows(name: string, root: string, rows: readonly Row[], classes?: string[]): { dataset: Dataset; indexOf: Map<string, number>; rowOf: number[] } {
  const rejected: { id: string; reason: string }[] = [];
  const placed: { row: Row; at: number; path: string; cls: string }[] = [];
  const labelsOf = new Map<string, Set<string>>();
  for (const [at, r] of rows.entries()) {
    const cls = typeof r.cls === 'string' ? r.cls.trim() : '';
    const path = insideRoot(root, r.rel ?? '');
    if (!r.rel || !path) rejected.push({ id: String(r.id), reason: r.rel ? `path "${r.rel}" escapes the data root` : 'no path' });
    else if (!cls) rejected.push({ id: r.id, reason: 'no label' });
    else {
      placed.push({ row: r, at, path, cls });
      labelsOf.set(path, (labelsOf.get(path) ?? new Set()).add(cls));
    }
  }
  const names = classes ?? [...new Set(placed.filter((p) => labelsOf.get(p.path)!.size === 1).map((p) => p.cls))].sort();
  const label = new Map(names.map((c, i) => [c, i]));
  const samples: Sample[] = [];
  const indexOf = new Map<string, number>();
  const firstAt = new Map<string, string>();
  const rowOf: number[] = [];
  for (const { row, at, path, cls } of placed) {
    const l = label.get(cls);
    const both = labelsOf.get(path)!;
    if (both.size > 1) rejected.push({ id: row.id, reason: `the same image is listed under ${both.size} labels (${[...both].join(', ')})` });
    else if (l === undefined) rejected.push({ id: row.id, reason: `label "${cls}" is not one of the dataset's classes` });
    else if (firstAt.has(path) || indexOf.has(row.id)) rejected.push({ id: row.id, reason: `listed twice (same image as ${firstAt.get(path) ?? row.id})` });
    else {
      firstAt.set(path, row.id);
      indexOf.set(row.id, samples.length);
      rowOf.push(at);
      samples.push({ id: row.id, source: { kind: 'file', path }, label: l });
    }
  }
  if (samples.length === 0) throw new DataError(`${name}: no usable images listed under ${root}${rejected.length ? ` (${rejected.length} rejected: ${rejected[0].reason})` : ''}.`);
  return { dataset: { name, classes: names, samples, ...(rejected.length ? { rejected } : {}) }, indexOf, rowOf };
}

/** A fixed, seeded share of each class (seed 0: the dataset's definition, not the run's seed). */
export function perClassShare(labels: readonly number[], take: (classSize: number) => number): number[] {
  return shuffledByClass(labels.keys(), labels, seeded(0))
    .flatMap((list) => list.slice(0, take(list.length)))
    .sort((a, b) => a - b);
}
