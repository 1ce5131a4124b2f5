import { createHash } from 'node:crypto';
import { z } from 'zod';
import { resolveCard } from '../backbones/registry.ts';
import { studyTable } from '../data/study-table.ts';
import { canonicalDataset, datasetEntry } from '../data/registry.ts';
import { ConfigError } from '../errors.ts';
import { takeOldNames, withOldNames } from '../util/options.ts';
import { canonicalJson } from '../util/canonical-json.ts';
import { MAX_SEED } from '../util/rng.ts';
import { JOB_SHAPE } from './job-schema.ts';
import { METHODS } from './methods.ts';

const seed = z.number().int().min(0).max(MAX_SEED);
const nonEmpty = <T extends z.ZodType>(t: T) => z.array(t).min(1);

/**
 * A sweep file (configs/quick.yaml): the grid backbones x datasets x shot levels x seeds x methods, each method with
 * its options (one mapping, or a list of mappings for several variants: fine-tuning's train modes).
 */
const SweepSchema = z
  .object({
    backbones: nonEmpty(z.string().min(1)),
    datasets: nonEmpty(z.string().min(1)),
    /** Folder holding the study datasets; default $REPROBE_DATA, else $REPROBE_HOME/data. */
    dataRoot: z.string().optional(),
    protocol: z.enum(['shots', 'study']).default('shots'),
    /** Shot levels: one list for every dataset, or a list per dataset (the study's table has 100 and 1000 for some only). */
    // A union's own message is "Invalid input": say what it takes (also when the key is missing).
    shots: z.union([nonEmpty(z.number().int().min(1)), z.record(z.string(), nonEmpty(z.number().int().min(1)))], { error: 'give the shot levels, whole numbers >= 1 (shots: [1, 10]), or a list per dataset (shots: {mnist: [1, 10]})' }),
    valPerClass: z.number().int().min(0).optional(),
    testPerClass: z.number().int().min(1).optional(),
    seeds: nonEmpty(seed).default([0]),
    methods: z.record(z.string(), z.union([z.record(z.string(), z.unknown()), z.array(z.record(z.string(), z.unknown())).min(1)], { error: 'give each method its options (knn: {}), or a list of option sets (lr: [{lrC: [1]}, {lrC: [10]}])' }).nullable()),
    /** Shot levels of some methods only (the study probes at 10 and 100, fine-tunes at 1000 too); others run at every level. */
    methodShots: z.record(z.string(), nonEmpty(z.number().int().min(1))).optional(),
    /** `whole`: extract each (backbone, dataset) once, every image, and serve every split from it; `split`: only what each split needs. */
    extract: z.enum(['whole', 'split']).default('whole'),
    // How backbones run and where results go: the keys of every job, as probe --config takes them.
    layer: JOB_SHAPE.layer,
    runtime: JOB_SHAPE.runtime,
    batchSize: JOB_SHAPE.batchSize,
    threads: JOB_SHAPE.threads,
    device: JOB_SHAPE.device,
    /** With device cuda: fail instead of running on the CPU. */
    strictDevice: JOB_SHAPE.strictDevice,
    cache: JOB_SHAPE.cache,
    resultsDir: JOB_SHAPE.resultsDir,
  })
  .strict();

export type Sweep = z.infer<typeof SweepSchema>;

/** One job of a sweep: one backbone, dataset, shot level, seed and method variant. */
export interface SweepJob {
  /** 16 hex of the job's full configuration: the same job has the same id in every run and on every host. */
  id: string;
  backbone: string;
  dataset: string;
  /** The split: clustering takes the whole dataset (0 shots: every image, or testPerClass of each class). */
  protocol: 'shots' | 'study';
  shots: number;
  valPerClass?: number;
  testPerClass?: number;
  seed: number;
  method: string;
  /** The method's options, defaults filled in. */
  options: Record<string, unknown>;
}

/** A zod issue → `file: key.path: what was expected`. */
function where(file: string, issue: z.core.$ZodIssue, prefix: (string | number)[] = []): string {
  const path = [...prefix, ...issue.path].map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('');
  const keys = (issue as { keys?: string[] }).keys;
  const what = issue.code === 'unrecognized_keys' && keys ? `unknown key${keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${k}"`).join(', ')}` : issue.message;
  return `${file}: ${path || '(top level)'}: ${what}`;
}

/** A parsed YAML document → the checked sweep and its jobs; anything wrong is one ConfigError line naming file and key. */
export function checkSweep(doc: unknown, file: string): { sweep: Sweep; jobs: SweepJob[]; warnings: string[] } {
  const parsed = SweepSchema.safeParse(doc ?? {});
  // An unknown key first: a misspelt `backbonez` explains the `backbones` it leaves missing.
  if (!parsed.success) throw new ConfigError(where(file, parsed.error.issues.find((i) => i.code === 'unrecognized_keys') ?? parsed.error.issues[0]));
  const sweep = parsed.data;
  sweep.backbones.forEach((b, i) => guard(file, `backbones[${i}]`, () => resolveCard(b)));
  sweep.datasets.forEach((d, i) => guard(file, `datasets[${i}]`, () => datasetEntry(d)));
  if (!Array.isArray(sweep.shots)) {
    const extra = Object.keys(sweep.shots).filter((d) => !sweep.datasets.includes(d));
    if (extra.length) throw new ConfigError(`${file}: shots.${extra[0]}: not one of the datasets (${sweep.datasets.join(', ')}).`);
    const missing = sweep.datasets.filter((d) => !(d in (sweep.shots as Record<string, number[]>)));
    if (missing.length) throw new ConfigError(`${file}: shots: no shot levels for ${missing.join(', ')}.`);
  }
  if (sweep.protocol === 'study') {
    const table = studyTable();
    for (const d of sweep.datasets) {
      const rows = table[d]?.rows;
      if (!rows) throw new ConfigError(`${file}: datasets: "${d}" is not in the study's split table (configs/splits/study.yaml); use protocol: shots.`);
      for (const k of shotsFor(sweep, d)) if (!rows[String(k)]) throw new ConfigError(`${file}: shots: ${d} has no study split at ${k} shots; it has ${Object.keys(rows).join(', ')}.`);
    }
  }
  const variants: { method: string; options: Record<string, unknown> }[] = [];
  const warnings: string[] = [];
  for (const [name, given] of Object.entries(sweep.methods)) {
    const m = METHODS.get(name);
    if (!m) throw new ConfigError(`${file}: methods: unknown method "${name}"; known: ${[...METHODS.keys()].join(', ')}.`);
    const list = Array.isArray(given) ? given : [given ?? {}];
    list.forEach((opts, i) => {
      // A renamed option under its old name (finetune's lr, now learningRate) is read, with a warning.
      const old = opts && typeof opts === 'object' && !Array.isArray(opts) ? takeOldNames(opts as Record<string, unknown>, m.flags, `${file}: methods.${name}${Array.isArray(given) ? `[${i}]` : ''}`) : { values: opts, warnings: [] };
      warnings.push(...old.warnings);
      const r = z.object(m.options).strict().safeParse(old.values);
      if (!r.success) throw new ConfigError(where(file, r.error.issues[0], ['methods', name, ...(Array.isArray(given) ? [i] : [])]));
      variants.push({ method: name, options: r.data });
    });
  }
  if (variants.length === 0) throw new ConfigError(`${file}: methods: name at least one method (${[...METHODS.keys()].join(', ')}).`);
  const levels = [...new Set(sweep.datasets.flatMap((d) => shotsFor(sweep, d)))];
  for (const [m, only] of Object.entries(sweep.methodShots ?? {})) {
    if (!(m in sweep.methods)) throw new ConfigError(`${file}: methodShots.${m}: not one of the methods (${Object.keys(sweep.methods).join(', ')}).`);
    // A method kept to levels the grid never reaches would have no job at all, silently.
    if (METHODS.get(m)?.task !== 'cluster' && !only.some((k) => levels.includes(k))) throw new ConfigError(`${file}: methodShots.${m}: none of ${only.join(', ')} is a shot level of the sweep (shots: ${levels.join(', ')}); ${m} would run no job.`);
  }
  return { sweep, jobs: expand(sweep, variants), warnings };
}

/** The shot levels of one dataset. */
const shotsFor = (sweep: Sweep, dataset: string): number[] => (Array.isArray(sweep.shots) ? sweep.shots : sweep.shots[dataset]);

function guard(file: string, key: string, f: () => unknown): void {
  try {
    f();
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`${file}: ${key}: ${err.message}`);
    throw err;
  }
}

/**
 * The grid in a fixed order (dataset, backbone, shots, seed, method). Clustering scores the whole pool whatever the
 * shot level, so its jobs come once per (backbone, dataset, seed), at the first shot level.
 */
function expand(sweep: Sweep, variants: { method: string; options: Record<string, unknown> }[]): SweepJob[] {
  const jobs: SweepJob[] = [];
  const seen = new Set<string>();
  // Aliases name one model: `clip` and `clip-vit-b32` are one backbone, one job.
  const backbones = [...new Set(sweep.backbones.map((b) => resolveCard(b).id))];
  for (const dataset of sweep.datasets)
    for (const backbone of backbones)
      for (const shots of shotsFor(sweep, dataset))
        for (const seedValue of sweep.seeds)
          for (const { method, options } of variants) {
            const perShot = METHODS.get(method)!.task !== 'cluster';
            if (!perShot && shots !== shotsFor(sweep, dataset)[0]) continue;
            const only = sweep.methodShots?.[method];
            if (perShot && only && !only.includes(shots)) continue;
            // Clustering scores the whole dataset (the study's "all dataset"): 0 shots, every image tested.
            const split = perShot
              ? { protocol: sweep.protocol, shots, valPerClass: sweep.valPerClass, testPerClass: sweep.testPerClass }
              : { protocol: 'shots' as const, shots: 0, valPerClass: 0, testPerClass: sweep.testPerClass };
            const what = {
              backbone,
              dataset: canonicalDataset(dataset),
              protocol: split.protocol,
              shots: split.shots,
              valPerClass: split.valPerClass ?? null,
              testPerClass: split.testPerClass ?? null,
              seed: seedValue,
              method,
              // Renamed options under their old names: a job keeps its id (and its records file) across the rename.
              options: withOldNames(options, METHODS.get(method)!.flags),
              layer: sweep.layer ?? null,
              runtime: sweep.runtime,
              device: sweep.device,
              batchSize: sweep.batchSize,
            };
            const id = createHash('sha256').update(canonicalJson(what)).digest('hex').slice(0, 16);
            if (seen.has(id)) continue;
            seen.add(id);
            jobs.push({ id, backbone, dataset: canonicalDataset(dataset), ...split, seed: seedValue, method, options });
          }
  return jobs;
}

