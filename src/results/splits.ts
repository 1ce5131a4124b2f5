import { join } from 'node:path';
import type { Split } from '../data/split.ts';
import type { Dataset } from '../data/types.ts';
import { ReprobeError } from '../errors.ts';
import { writeFileAtomic } from '../util/atomic.ts';

export interface SplitMeta {
  dataset: string;
  protocol: string;
  shots: number;
  seed: number;
}

/**
 * results/splits/<hash>.json: the image ids (and labels) of every part, so any number can be traced and re-run, plus
 * the images left out because they could not be read.
 */
export async function saveSplit(resultsDir: string, hash: string, ds: Dataset, split: Split, meta: SplitMeta, unreadable: readonly number[] = []): Promise<string> {
  const ids = (idx: readonly number[]) => idx.map((i) => ds.samples[i].id);
  const doc = {
    ...meta,
    classes: ds.classes,
    train: ids(split.train),
    val: ids(split.val),
    tests: Object.fromEntries(Object.entries(split.tests).map(([k, v]) => [k, ids(v)])),
    labels: Object.fromEntries([...split.train, ...split.val, ...Object.values(split.tests).flat()].map((i) => [ds.samples[i].id, ds.samples[i].label])),
    unreadable: ids(unreadable),
  };
  const path = join(resultsDir, 'splits', `${hash}.json`);
  try {
    await writeFileAtomic(path, JSON.stringify(doc));
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (!code) throw err;
    throw new ReprobeError(`Cannot write the split file ${path} (${code}). Pass --results-dir with a writable folder.`);
  }
  return path;
}
