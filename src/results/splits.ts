import { join } from 'node:path';
import type { Split } from '../data/split.ts';
import type { Dataset } from '../data/types.ts';
import { fsError } from '../errors.ts';
import { writeFileAtomic } from '../util/atomic.ts';

/**
 * results/splits/<hash>.json: the image ids of every part with their labels, and the images left out because they
 * could not be read; what hashSplit covers, so two runs that write one hash write the same file.
 */
export async function saveSplit(resultsDir: string, hash: string, ds: Dataset, split: Split, unreadable: readonly number[] = []): Promise<string> {
  const ids = (idx: readonly number[]) => idx.map((i) => ds.samples[i].id);
  const doc = {
    classes: ds.classes,
    train: ids(split.train),
    val: ids(split.val),
    tests: Object.fromEntries(Object.entries(split.tests).map(([k, v]) => [k, ids(v)])),
    labels: Object.fromEntries([...split.train, ...split.val, ...Object.values(split.tests).flat()].map((i) => [ds.samples[i].id, ds.samples[i].label])),
    unreadable: ids(unreadable),
  };
  const path = join(resultsDir, 'splits', `${hash}.json`);
  await writeFileAtomic(path, JSON.stringify(doc)).catch((err) => Promise.reject(fsError(err, `Cannot write the split file ${path}`, 'Pass --results-dir with a writable folder.')));
  return path;
}
