import { dirname, relative, resolve, sep } from 'node:path';
import { datasetFolder } from './registry.ts';
import type { Dataset } from './types.ts';
import { checkOutputPath } from '../util/output-path.ts';

const WHAT = 'a dataset\'s folder: what is written there would be read as its images';

/** An output folder may not lie in the folder of a dataset it was made from: a later run would read its files as images. */
export function outsideDataset(out: string, flag: string, datasets: readonly (string | undefined)[], more: readonly string[] = []): void {
  const folders = [...new Set([...datasets.flatMap((d) => (d ? [datasetFolder(d)] : [])), ...more])].flatMap((f) => (f ? [f] : []));
  checkOutputPath(out, flag, { folders: folders.map((path) => ({ path, what: WHAT })) });
}

/** The deepest folder holding every image file of a loaded dataset (a named dataset under the data root has no `folder:` path); undefined for in-memory images. */
export function imagesFolder(ds: Dataset): string | undefined {
  let common: string | undefined;
  for (const s of ds.samples) {
    if (s.source.kind !== 'file') continue;
    const d = dirname(resolve(s.source.path));
    if (common === undefined) common = d;
    while (relative(common, d).split(sep)[0] === '..') common = dirname(common);
  }
  return common;
}
