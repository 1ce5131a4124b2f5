import { ConfigError } from '../errors.ts';

/** One task's part of a job split over `count` tasks: item i belongs to it when i % count === index. */
export interface Shard {
  index: number;
  count: number;
}

const WHOLE = /^\d+$/;

/** Does item `i` (a chunk, a cell) belong to `shard`? */
export const inShard = (i: number, shard: Shard): boolean => i % shard.count === shard.index;

/** `i/n` → { index: i, count: n }, strictly: whole numbers with 0 <= i < n, nothing else on the line. */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const [index, count] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
  if (!m || !Number.isSafeInteger(index) || !Number.isSafeInteger(count) || count < 1 || index >= count) {
    throw new ConfigError(`Invalid --shard "${text}": give i/n, whole numbers with 0 <= i < n (--shard 0/4 is the first of 4 tasks).`);
  }
  return { index, count };
}

/**
 * The shard a scheduler gave this task, from its environment, or undefined when none did:
 * - a SLURM array job: SLURM_ARRAY_TASK_ID of SLURM_ARRAY_TASK_COUNT tasks; ids start at SLURM_ARRAY_TASK_MIN
 *   (`--array=1-8` numbers tasks 1..8) and step by SLURM_ARRAY_TASK_STEP, so index = (ID - MIN) / STEP;
 * - a Kubernetes Indexed Job: JOB_COMPLETION_INDEX, with the number of tasks from `countFlag` (`--shards N`) or
 *   REPROBE_SHARDS, since Kubernetes does not export the Job's completions.
 * A count without an index (`--shards` or REPROBE_SHARDS outside an indexed task), an index without a count, or an
 * index outside the count is one clear line (ConfigError). `from` names the variable the index came from.
 */
export function shardFromEnv(env: Readonly<Record<string, string | undefined>>, countFlag?: number): (Shard & { from: string }) | undefined {
  const get = (name: string) => (env[name]?.trim() ? env[name]!.trim() : undefined);
  const whole = (name: string, value: string, min: number): number => {
    const n = Number(value);
    if (!WHOLE.test(value) || !Number.isSafeInteger(n) || n < min) throw new ConfigError(`${name}=${value} is not a whole number${min > 0 ? ` >= ${min}` : ''}.`);
    return n;
  };
  if (countFlag !== undefined && (!Number.isSafeInteger(countFlag) || countFlag < 1)) throw new ConfigError(`Invalid --shards ${countFlag}: give the number of tasks, a whole number >= 1.`);
  const envCount = get('REPROBE_SHARDS');
  const slurmId = get('SLURM_ARRAY_TASK_ID');
  const k8sIndex = get('JOB_COMPLETION_INDEX');
  let shard: Shard & { from: string };
  if (slurmId !== undefined) {
    const id = whole('SLURM_ARRAY_TASK_ID', slurmId, 0);
    const countText = get('SLURM_ARRAY_TASK_COUNT');
    if (countText === undefined) throw new ConfigError(`SLURM_ARRAY_TASK_ID=${slurmId} is set but SLURM_ARRAY_TASK_COUNT is not; pass --shard ${slurmId}/N instead.`);
    const count = whole('SLURM_ARRAY_TASK_COUNT', countText, 1);
    const minText = get('SLURM_ARRAY_TASK_MIN');
    const stepText = get('SLURM_ARRAY_TASK_STEP');
    const min = minText === undefined ? 0 : whole('SLURM_ARRAY_TASK_MIN', minText, 0);
    const step = stepText === undefined ? 1 : whole('SLURM_ARRAY_TASK_STEP', stepText, 1);
    const index = (id - min) / step;
    if (!Number.isInteger(index) || index < 0 || index >= count) {
      throw new ConfigError(`SLURM array task ${id} (min ${min}, step ${step}) is not one of ${count} evenly spaced tasks; submit a range such as --array=0-${count - 1}, or pass --shard i/n.`);
    }
    if (countFlag !== undefined && countFlag !== count) throw new ConfigError(`--shards ${countFlag} disagrees with SLURM_ARRAY_TASK_COUNT=${count}; leave out --shards in a SLURM array job.`);
    shard = { index, count, from: 'SLURM_ARRAY_TASK_ID' };
  } else if (k8sIndex !== undefined) {
    const index = whole('JOB_COMPLETION_INDEX', k8sIndex, 0);
    const count = countFlag ?? (envCount === undefined ? undefined : whole('REPROBE_SHARDS', envCount, 1));
    if (count === undefined) throw new ConfigError(`JOB_COMPLETION_INDEX=${k8sIndex} is set (a Kubernetes Indexed Job) but not the number of tasks: pass --shards N or set REPROBE_SHARDS to the Job's completions.`);
    if (index >= count) throw new ConfigError(`JOB_COMPLETION_INDEX=${index} is not below the number of tasks (${count}); set --shards or REPROBE_SHARDS to the Job's completions.`);
    shard = { index, count, from: 'JOB_COMPLETION_INDEX' };
  } else if (countFlag !== undefined || envCount !== undefined) {
    const what = countFlag !== undefined ? `--shards ${countFlag}` : `REPROBE_SHARDS=${envCount}`;
    throw new ConfigError(`${what} gives the number of tasks but no task index is set (JOB_COMPLETION_INDEX of a Kubernetes Indexed Job, or SLURM_ARRAY_TASK_ID); pass --shard i/n instead.`);
  } else return undefined;
  return shard;
}
