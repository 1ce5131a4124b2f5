import { hostname } from 'node:os';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { firstLine, fsError, systemError } from '../errors.ts';
import { isCached, resolveBackbone, resolveCard } from '../backbones/registry.ts';
import { weightsDigest } from '../backbones/weights-digest.ts';
import { datasetDigest } from '../data/content-digest.ts';
import { loadDataset } from '../data/registry.ts';
import { isPending } from '../features/cache.ts';
import { isFinished, readJobFile } from '../results/job-store.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { canonicalJson } from '../util/canonical-json.ts';
import { openAttempt } from './attempt-ledger.ts';
import { runExtractJob } from './extract-job.ts';
import { getMethod } from './methods.ts';
import { runCells, type CellEvents, type CellJob } from './run-cells.ts';
import { inShard, type Shard } from './shard.ts';
import { claimHeld, claimJob } from './sweep-claims.ts';
import type { Sweep, SweepJob } from './sweep-schema.ts';

/**
 * invalid: a records file that is empty, truncated or damaged; stale: valid records of the dataset or the backbone as
 * it was (its content digest, weights or card's preprocessing have changed since). Neither is finished: the next run
 * runs the job again.
 */
export type JobState = 'done' | 'invalid' | 'stale' | 'failed' | 'running' | 'pending';

export interface SweepEvents extends CellEvents {
  /** The extraction step of a shard: one backbone and dataset, finished (joined by this task) or still pending. */
  onExtractStep?(backbone: string, dataset: string, state: string): void;
  /** A job of this process's share: started, finished, failed (with the error's line), or left to the process running it. */
  onJob?(job: SweepJob, what: 'start' | 'done' | 'failed' | 'busy' | 'skipped', position: number, total: number, error?: string): void;
}

export interface SweepTally {
  done: number;
  failed: number;
  /** Already in the store before this run. */
  skipped: number;
  /** Held by another live process. */
  busy: number;
}

const FAILED_DIR = 'failed';
const failedPath = (dir: string, id: string) => join(dir, FAILED_DIR, `${id}.json`);

/** The jobs of shard i/n: the i-th of every n in the sweep's fixed order (all of them without a shard). */
export function shardJobs(jobs: readonly SweepJob[], shard?: Shard): SweepJob[] {
  return shard ? jobs.filter((_, i) => inShard(i, shard)) : [...jobs];
}

/** The content digest each dataset of a sweep has now, once per dataset; undefined when it cannot be loaded (its jobs say why when they run). */
function digestsNow(sweep: Sweep): (dataset: string) => Promise<string | undefined> {
  const memo = new Map<string, Promise<string | undefined>>();
  return (dataset) => {
    if (!memo.has(dataset)) memo.set(dataset, loadDataset(dataset, sweep.dataRoot).then(datasetDigest, () => undefined));
    return memo.get(dataset)!;
  };
}

/** What a backbone runs now: its weights' sha256 and its card's preprocessing (as records hold them, keys sorted). */
interface BackboneNow {
  weights: string;
  preprocess: string;
}

/** A preprocessing as a record holds it (through JSON: no undefined fields), keys sorted: two spellings compare equal. */
const recordedJson = (v: unknown): string => canonicalJson(JSON.parse(JSON.stringify(v ?? null)));

/**
 * Each backbone as it is now, once per backbone; undefined when its model files are not here (a status never
 * downloads; the job's run fetches them and records what it ran). The weights' sha256 is cached by path, size and
 * mtime (weights-digest.ts), so a model is hashed once, not per status.
 */
function backbonesNow(): (backbone: string) => Promise<BackboneNow | undefined> {
  const memo = new Map<string, Promise<BackboneNow | undefined>>();
  const look = async (name: string): Promise<BackboneNow | undefined> => {
    const card = resolveCard(name);
    if (!isCached(card)) return undefined;
    const weights = await weightsDigest(await resolveBackbone(name));
    return { weights, preprocess: recordedJson({ ...card.preprocess, input: card.input }) };
  };
  return (backbone) => {
    if (!memo.has(backbone)) memo.set(backbone, look(backbone).catch(() => undefined));
    return memo.get(backbone)!;
  };
}

/** The dataset's content digest and each backbone's weights and preprocessing now, each looked up once. */
interface Now {
  dataset: (dataset: string) => Promise<string | undefined>;
  backbone: (backbone: string) => Promise<BackboneNow | undefined>;
}

const nowOf = (sweep: Sweep): Now => ({ dataset: digestsNow(sweep), backbone: backbonesNow() });

type Provenance = { dataset_digest?: string; weights_sha256?: unknown; preprocess?: unknown };

/**
 * Whether a job's records are still its result: a job id names the configuration, not the data nor the model, so a
 * dataset whose content changed since (an image added, replaced or relabelled), a model file whose weights changed
 * (a hub file replaced, a new revision) or a card whose preprocessing changed makes its finished job stale (the cell
 * a run makes now would differ); undefined when it is finished and current. Records without a digest (older
 * stores) or a backbone whose files are not here are kept.
 */
async function staleness(job: SweepJob, records: readonly Provenance[], now: Now): Promise<string | undefined> {
  const digest = await now.dataset(job.dataset);
  const old = records.find((r) => r.dataset_digest !== undefined && r.dataset_digest !== digest)?.dataset_digest;
  if (digest !== undefined && old !== undefined) return `${job.dataset} changed since its records (content digest ${old}, now ${digest})`;
  const bb = await now.backbone(job.backbone);
  if (!bb) return undefined;
  const weights = records.find((r) => typeof r.weights_sha256 === 'string' && r.weights_sha256 !== bb.weights)?.weights_sha256;
  if (typeof weights === 'string') return `${job.backbone}'s weights changed since its records (sha256 ${weights.slice(0, 16)}, now ${bb.weights.slice(0, 16)})`;
  if (records.some((r) => r.preprocess !== undefined && recordedJson(r.preprocess) !== bb.preprocess)) return `${job.backbone}'s card changed its preprocessing since its records (now ${bb.preprocess})`;
  return undefined;
}

/** A job's records file, and whether it holds the job's current result (finished, and of the dataset as it is now). */
async function finishedNow(dir: string, job: SweepJob, now: Now): Promise<{ done: boolean; file: Awaited<ReturnType<typeof readJobFile>>; stale?: string }> {
  const file = await readJobFile(dir, job.id);
  if (!isFinished(file)) return { done: false, file };
  const stale = await staleness(job, file!.records, now);
  return { done: stale === undefined, file, stale };
}

/**
 * Each job's state from the store: a valid records file of the dataset and backbone as they are now (done), one of
 * an older content of the dataset or of other weights or preprocessing (stale), a live claim (running), a failure file (failed), a records file that is not valid (invalid,
 * with its first problem), else pending.
 */
export async function sweepStatus(sweep: Sweep, jobs: readonly SweepJob[]): Promise<{ job: SweepJob; state: JobState; error?: string }[]> {
  const resultsDir = sweep.resultsDir;
  const now = nowOf(sweep);
  return Promise.all(
    jobs.map(async (job) => {
      const { done, file, stale } = await finishedNow(resultsDir, job, now);
      if (done) return { job, state: 'done' as const };
      if (stale) return { job, state: 'stale' as const, error: stale };
      if (await claimHeld(resultsDir, job.id)) return { job, state: 'running' as const };
      if (file) return { job, state: 'invalid' as const, error: `${file.problems[0].file}: ${file.problems[0].error}` };
      const failed = await readFile(failedPath(resultsDir, job.id), 'utf8').catch(() => undefined);
      if (failed !== undefined) return { job, state: 'failed' as const, error: (JSON.parse(failed) as { error: string }).error };
      return { job, state: 'pending' as const };
    }),
  );
}

/** The runner's job for one sweep job: one backbone, one method, its store file named by the job's id. */
function cellJobOf(sweep: Sweep, job: SweepJob, attempt: number): CellJob {
  return {
    backbones: [job.backbone],
    dataset: job.dataset,
    dataRoot: sweep.dataRoot,
    split: { protocol: job.protocol, shots: job.shots, valPerClass: job.valPerClass, testPerClass: job.testPerClass, seed: job.seed },
    methods: [getMethod(job.method)],
    options: job.options,
    open: { layer: sweep.layer, runtime: sweep.runtime, threads: sweep.threads, device: sweep.device, strict: sweep.strictDevice },
    batchSize: sweep.batchSize,
    cache: sweep.cache,
    resume: true,
    resultsDir: sweep.resultsDir,
    wholeDataset: sweep.extract === 'whole',
    tags: { job_id: job.id, attempt },
    storeName: () => job.id,
  };
}

/**
 * With shards and `extract: whole`, every task first embeds its share of the chunks of every (backbone, dataset) the
 * sweep extracts, so one long extraction is split across the tasks; the task that finds every chunk done joins them.
 * A job whose extraction is still pending when it starts embeds the missing chunks itself (the cache shares them).
 */
async function extractionStep(sweep: Sweep, jobs: readonly SweepJob[], shard: Shard, events: SweepEvents): Promise<void> {
  if (sweep.extract !== 'whole' || !sweep.cache) return;
  const pairs = new Map<string, SweepJob>();
  for (const j of jobs) if (getMethod(j.method).needs === 'features') pairs.set(JSON.stringify([j.backbone, j.dataset]), j);
  for (const j of pairs.values()) {
    try {
      const r = await runExtractJob(
        { backbone: j.backbone, dataset: j.dataset, dataRoot: sweep.dataRoot, cache: true, batchSize: sweep.batchSize, shard, open: { layer: sweep.layer, runtime: sweep.runtime, threads: sweep.threads, device: sweep.device, strict: sweep.strictDevice } },
        { onStart: (n, runtime, layer) => events.onBackbone?.(j.backbone, runtime, layer, n, []), onProgress: events.onProgress, onDownload: events.onDownload, onCacheInvalid: events.onCacheInvalid },
      );
      events.onExtractStep?.(j.backbone, j.dataset, isPending(r) ? `${r.done} of ${r.total} chunks done, the other tasks go on` : `${r.rows} images joined`);
    } catch (err) {
      // Its jobs fail with the same error, each recorded as failed.
      events.onExtractStep?.(j.backbone, j.dataset, `failed: ${firstLine(err)}`);
    }
  }
}

/**
 * Run this process's share of the jobs, in order: a job already in the store is skipped, one another live process
 * has claimed is left to it, a failing one is written to `failed/<id>.json` with its error and the sweep goes on.
 * Records go to the store only when a job finishes, whole, so a killed sweep rerun runs each job exactly once.
 */
export async function runSweep(sweep: Sweep, jobs: readonly SweepJob[], opt: { shard?: Shard; events?: SweepEvents } = {}): Promise<SweepTally> {
  const mine = shardJobs(jobs, opt.shard);
  const tally: SweepTally = { done: 0, failed: 0, skipped: 0, busy: 0 };
  const dir = sweep.resultsDir;
  const events = opt.events ?? {};
  if (opt.shard) await extractionStep(sweep, jobs, opt.shard, events);
  const started = Date.now();
  /** Failed after this run began (by another process of the same sweep): not run again now; a later sweep retries it. */
  const failedSince = async (id: string) => ((await stat(failedPath(dir, id)).catch(() => undefined))?.mtimeMs ?? 0) >= started;
  const now = nowOf(sweep);
  for (const [i, job] of mine.entries()) {
    if ((await finishedNow(dir, job, now)).done) {
      tally.skipped++;
      events.onJob?.(job, 'skipped', i + 1, mine.length);
      continue;
    }
    const claim = await claimJob(dir, job.id);
    if (!claim) {
      tally.busy++;
      events.onJob?.(job, 'busy', i + 1, mine.length);
      continue;
    }
    // Every claim generation is in the ledger, whatever became of it: what proves a job ran exactly once.
    const ledger = await openAttempt(dir, job.id, claim.generation, claim.token).catch(async (err: unknown) => {
      await claim.release();
      throw err;
    });
    try {
      if (await failedSince(job.id)) {
        tally.failed++;
        await ledger.ended('skipped');
        events.onJob?.(job, 'failed', i + 1, mine.length, 'failed in another process of this sweep (see --status)');
        continue;
      }
      // Between our look and our claim another process may have finished it.
      if ((await finishedNow(dir, job, now)).done) {
        tally.skipped++;
        await ledger.ended('skipped');
        events.onJob?.(job, 'skipped', i + 1, mine.length);
        continue;
      }
      events.onJob?.(job, 'start', i + 1, mine.length);
      await ledger.started();
      await runCells(cellJobOf(sweep, job, claim.generation), events);
      await rm(failedPath(dir, job.id), { force: true });
      await ledger.ended('done');
      tally.done++;
      events.onJob?.(job, 'done', i + 1, mine.length);
    } catch (err) {
      const error = firstLine(systemError(err) ?? err);
      // A full disk fails the job; the sweep goes on while the failure can be recorded, and stops in one line when not.
      await writeFileAtomic(failedPath(dir, job.id), JSON.stringify({ job, error, host: hostname(), pid: process.pid, time: new Date().toISOString() })).catch((e: unknown) => {
        throw fsError(e, `Job ${job.id} failed (${error}) and its failure cannot be written in ${dir}`, `Rerun once ${dir} can be written; the sweep stops after ${tally.done} job(s) run.`);
      });
      await ledger.ended('failed');
      tally.failed++;
      events.onJob?.(job, 'failed', i + 1, mine.length, error);
    } finally {
      await claim.release();
    }
  }
  return tally;
}
