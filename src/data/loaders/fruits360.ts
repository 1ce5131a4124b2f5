import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DataError, fsError } from '../../errors.ts';
import { loadFolder } from '../folder.ts';
import type { Dataset, DatasetEntry, Sample } from '../types.ts';
import { perClassShare } from './build.ts';

const LAYOUT =
  '<data-root>/fruits-360/Training/<class>/*.jpg and fruits-360/Test/<class>/*.jpg (100x100 images, one folder per class, e.g. "Apple Braeburn"); ' +
  'an unpacked archive that holds such a folder works too: <data-root>/fruits-360_dataset/fruits-360/Training (the Kaggle archive), Fruit-Images-Dataset/Training (the GitHub repository)';

/** Share of each class's Training images held out, fixed by seed 0, as the validation set (the dataset has none of its own). */
const VAL_SHARE = 0.2;

/** The dataset's own protocol: draw train and val from Training (disjoint parts of it), score on the whole Test set. */
const FRUITS_SETS: Dataset['official'] = { train: 'train', val: 'val', tests: { test: 'test' } };

/**
 * The folder holding Training/ and Test/: the entry's folder itself, or a `fruits-360*` folder up to two levels inside
 * it (archives nest one or two: fruits-360_dataset/fruits-360/Training), the first by name.
 */
function setsFolder(dir: string): string {
  const has = (d: string) => existsSync(join(d, 'Training')) && existsSync(join(d, 'Test'));
  let level = [dir];
  for (let depth = 0; depth <= 2 && level.length > 0; depth++) {
    const found = level.find(has);
    if (found) return found;
    level = level.flatMap((d) => subfolders(d).filter((n) => n.toLowerCase().startsWith('fruits-360')).map((n) => join(d, n)));
  }
  throw new DataError(`fruits360: no Training/ and Test/ folders in ${dir}. Expected: ${LAYOUT}.`);
}

/** The sub-folder names of `dir`, sorted; an unreadable folder is one line naming it. */
function subfolders(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch (err) {
    throw fsError(err, `Cannot read the folder "${dir}"`, 'Fix its permissions, or set --data-root to the folder holding fruits-360/.');
  }
}

/**
 * Fruits 360 with its own split kept: classes are Training's folders (sorted), ids `Training/<class>/<file>` and
 * `Test/<class>/<file>`. Sets: `train` and `val` (20 % of each class, fixed) from Training, `test` = all of Test. A
 * Test folder whose class Training lacks is rejected and listed (a class with no training images cannot be scored).
 */
async function loadFruits360(dir: string): Promise<Dataset> {
  const base = setsFolder(dir);
  const [training, test] = [await loadFolder(join(base, 'Training')), await loadFolder(join(base, 'Test'))];
  const label = new Map(training.classes.map((c, i) => [c, i]));
  const rejected: NonNullable<Dataset['rejected']> = [
    ...(training.rejected ?? []).map((r) => ({ ...r, id: `Training/${r.id}` })),
    ...(test.rejected ?? []).map((r) => ({ ...r, id: `Test/${r.id}` })),
  ];
  const samples: Sample[] = training.samples.map((s) => ({ ...s, id: `Training/${s.id}` }));
  const trainCount = samples.length;
  for (const s of test.samples) {
    const cls = test.classes[s.label];
    const l = label.get(cls);
    if (l === undefined) rejected.push({ id: `Test/${s.id}`, reason: `class "${cls}" has no Training folder` });
    else samples.push({ ...s, id: `Test/${s.id}`, label: l });
  }
  const val = perClassShare(samples.slice(0, trainCount).map((s) => s.label), (n) => Math.round(n * VAL_SHARE));
  const held = new Set(val);
  const pools = {
    train: Array.from({ length: trainCount }, (_, i) => i).filter((i) => !held.has(i)),
    val,
    test: Array.from({ length: samples.length - trainCount }, (_, i) => trainCount + i),
  };
  return { name: 'fruits360', classes: training.classes, samples, pools, official: FRUITS_SETS, ...(rejected.length ? { rejected } : {}) };
}

export const fruits360Entry: DatasetEntry = {
  name: 'fruits360',
  summary: 'Fruits 360: fruit and vegetable classes (131 in the study), 100x100 images, its own Training/Test split (val held out from Training)',
  dirs: ['fruits-360', 'fruits-360-100x100', 'fruits-360_100x100', 'fruits-360_dataset_100x100', 'fruits-360_dataset', 'Fruit-Images-Dataset', 'Fruit-Images-Dataset-master'],
  layout: LAYOUT,
  source: 'https://www.kaggle.com/datasets/moltean/fruits (a Kaggle login) or https://github.com/Horea94/Fruit-Images-Dataset',
  load: (_arg, { dir }) => loadFruits360(dir),
};
