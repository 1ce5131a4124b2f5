import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { defaultValPerClass, fewShotSplit } from '../data/splits.ts';
import { perClassDraw, studySplit } from '../data/study-splits.ts';
import { seeded } from '../util/rng.ts';
import type { Dataset } from '../data/types.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import type { ProbeJob } from '../config/defaults.ts';

/** Train and val indices, and one or more named test sets (`test`; `id_test` + `ood_test` for WILDS). */
export interface JobSplit {
  train: number[];
  val: number[];
  tests: Record<string, number[]>;
}

/** The split a job asks for: `shots` (k per class, any dataset) or `study` (the study's table, exact counts). */
export function jobSplit(job: ProbeJob, ds: Dataset, datasetName: string): JobSplit {
  const labels = ds.samples.map((s) => s.label);
  if (job.protocol === 'study') return studySplit(datasetName, job.shots, labels, ds.pools ?? { pool: labels.map((_, i) => i) }, job.seed);
  const valPerClass = job.valPerClass ?? defaultValPerClass(job.shots);
  const p = ds.pools;
  if (p?.train && p.val && p.id_test && p.test) {
    // WILDS: k per class from the train split, val from the val split, scored on the ID and OOD test sets.
    const rng = seeded(job.seed);
    return { train: perClassDraw(p.train, labels, job.shots, rng), val: perClassDraw(p.val, labels, valPerClass, rng), tests: { id_test: p.id_test, ood_test: p.test } };
  }
  const s = fewShotSplit(labels, ds.classes, { shots: job.shots, valPerClass, testPerClass: job.testPerClass, seed: job.seed });
  return { train: s.train, val: s.val, tests: { test: s.test } };
}

/** Short hash of the split's image ids, so two results can be checked to share a split. */
export function hashSplit(ds: Dataset, split: JobSplit): string {
  const h = createHash('sha256');
  for (const part of [split.train, split.val, ...Object.values(split.tests)]) h.update(part.map((i) => ds.samples[i].id).join('\n') + '\n--\n');
  return h.digest('hex').slice(0, 12);
}

/** results/splits/<hash>.json: the image ids of every part, so any number can be traced and re-run. */
export async function saveSplit(resultsDir: string, hash: string, ds: Dataset, split: JobSplit, job: ProbeJob): Promise<string> {
  const ids = (idx: number[]) => idx.map((i) => ds.samples[i].id);
  const doc = {
    dataset: job.dataset,
    protocol: job.protocol,
    shots: job.shots,
    seed: job.seed,
    classes: ds.classes,
    train: ids(split.train),
    val: ids(split.val),
    tests: Object.fromEntries(Object.entries(split.tests).map(([k, v]) => [k, ids(v)])),
  };
  const path = join(resultsDir, 'splits', `${hash}.json`);
  await writeFileAtomic(path, JSON.stringify(doc));
  return path;
}
