import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { ConfigError } from '../../src/errors.ts';
import { inShard, parseShard, shardFromEnv } from '../../src/jobs/shard.ts';
import { tempDir } from '../helpers.ts';

test('parseShard takes i/n with whole numbers 0 <= i < n, and nothing else', () => {
  assert.deepEqual(parseShard('0/4'), { index: 0, count: 4 });
  assert.deepEqual(parseShard('3/4'), { index: 3, count: 4 });
  assert.deepEqual(parseShard(' 0/1 '), { index: 0, count: 1 });
  for (const bad of ['4/4', '5/4', '0/0', '-1/4', '1.5/4', '1/4.0', '1/', '/4', '1', '1/4/2', 'a/b', '1 /4', '', '1e1/20', '0x1/4', '99999999999999999999/1e30']) {
    assert.throws(() => parseShard(bad), (err: Error) => err instanceof ConfigError && !err.message.includes('\n') && err.message.includes(`"${bad}"`), bad);
  }
});

test('inShard: item i belongs to shard i % n', () => {
  const shards = [0, 1, 2].map((index) => Array.from({ length: 8 }, (_, i) => i).filter((i) => inShard(i, { index, count: 3 })));
  assert.deepEqual(shards, [[0, 3, 6], [1, 4, 7], [2, 5]]);
});

test('shardFromEnv: SLURM arrays (with their MIN and STEP), Kubernetes Indexed Jobs with a count, and clear errors', () => {
  assert.equal(shardFromEnv({}), undefined);
  assert.equal(shardFromEnv({ SLURM_JOB_ID: '7', SLURM_ARRAY_TASK_ID: '' }), undefined, 'an empty variable is unset');
  assert.deepEqual(shardFromEnv({ SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_COUNT: '4' }), { index: 2, count: 4, from: 'SLURM_ARRAY_TASK_ID' });
  // sbatch --array=1-4 numbers its tasks 1..4: task 1 is shard 0.
  const slurm = { SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '4', SLURM_ARRAY_TASK_COUNT: '4' };
  assert.deepEqual(shardFromEnv({ ...slurm, SLURM_ARRAY_TASK_ID: '1' }), { index: 0, count: 4, from: 'SLURM_ARRAY_TASK_ID' });
  assert.deepEqual(shardFromEnv({ ...slurm, SLURM_ARRAY_TASK_ID: '4' }), { index: 3, count: 4, from: 'SLURM_ARRAY_TASK_ID' });
  // --array=10-40:10 → tasks 10, 20, 30, 40.
  assert.deepEqual(shardFromEnv({ SLURM_ARRAY_TASK_ID: '30', SLURM_ARRAY_TASK_MIN: '10', SLURM_ARRAY_TASK_STEP: '10', SLURM_ARRAY_TASK_COUNT: '4' }), { index: 2, count: 4, from: 'SLURM_ARRAY_TASK_ID' });
  assert.deepEqual(shardFromEnv({ SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '4' }, 4), { index: 3, count: 4, from: 'SLURM_ARRAY_TASK_ID' }, 'a --shards that agrees');
  assert.deepEqual(shardFromEnv({ JOB_COMPLETION_INDEX: '5' }, 8), { index: 5, count: 8, from: 'JOB_COMPLETION_INDEX' });
  assert.deepEqual(shardFromEnv({ JOB_COMPLETION_INDEX: '0', REPROBE_SHARDS: '3' }), { index: 0, count: 3, from: 'JOB_COMPLETION_INDEX' });
  assert.deepEqual(shardFromEnv({ JOB_COMPLETION_INDEX: '1', REPROBE_SHARDS: '3' }, 2), { index: 1, count: 2, from: 'JOB_COMPLETION_INDEX' }, '--shards wins over REPROBE_SHARDS');
  const errors: [Record<string, string>, number | undefined, RegExp][] = [
    [{ JOB_COMPLETION_INDEX: '2' }, undefined, /JOB_COMPLETION_INDEX=2 is set .* pass --shards N or set REPROBE_SHARDS/],
    [{ JOB_COMPLETION_INDEX: '3', REPROBE_SHARDS: '3' }, undefined, /JOB_COMPLETION_INDEX=3 is not below the number of tasks \(3\)/],
    [{ JOB_COMPLETION_INDEX: 'x', REPROBE_SHARDS: '3' }, undefined, /JOB_COMPLETION_INDEX=x is not a whole number/],
    [{ JOB_COMPLETION_INDEX: '1', REPROBE_SHARDS: '0' }, undefined, /REPROBE_SHARDS=0 is not a whole number >= 1/],
    [{ JOB_COMPLETION_INDEX: '1' }, 0, /Invalid --shards 0/],
    [{ JOB_COMPLETION_INDEX: '1' }, 2.5, /Invalid --shards 2.5/],
    [{ JOB_COMPLETION_INDEX: '1' }, NaN, /Invalid --shards NaN/],
    [{}, 4, /--shards 4 gives the number of tasks but no task index is set/],
    [{ REPROBE_SHARDS: '4' }, undefined, /REPROBE_SHARDS=4 gives the number of tasks but no task index/],
    [{ SLURM_ARRAY_TASK_ID: '3' }, undefined, /SLURM_ARRAY_TASK_COUNT is not/],
    [{ SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_COUNT: '4' }, undefined, /SLURM array task 4 \(min 0, step 1\) is not one of 4 .*--array=0-3/],
    [{ SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_COUNT: '4' }, undefined, /SLURM array task 0 \(min 1/],
    [{ SLURM_ARRAY_TASK_ID: '15', SLURM_ARRAY_TASK_MIN: '10', SLURM_ARRAY_TASK_STEP: '10', SLURM_ARRAY_TASK_COUNT: '4' }, undefined, /not one of 4 evenly spaced tasks/],
    [{ SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_COUNT: '4' }, 8, /--shards 8 disagrees with SLURM_ARRAY_TASK_COUNT=4/],
    [{ SLURM_ARRAY_TASK_ID: '-1', SLURM_ARRAY_TASK_COUNT: '4' }, undefined, /SLURM_ARRAY_TASK_ID=-1 is not a whole number/],
  ];
  for (const [env, count, why] of errors) {
    assert.throws(() => shardFromEnv(env, count), (err: Error) => err instanceof ConfigError && why.test(err.message) && !err.message.includes('\n'), `${JSON.stringify(env)} ${count}`);
  }
});

// The CLI end to end on mobilenet-v2: 2 classes x 10 generated images, chunks of 4 → 5 chunks.
const bin = join(import.meta.dirname, '..', '..', 'bin', 'reprobe.mjs');
const data = tempDir();
for (const [c, cls] of ['x', 'y'].entries()) {
  mkdirSync(join(data, cls));
  for (let i = 0; i < 10; i++) {
    const px = Buffer.alloc(12 * 12 * 3);
    for (let p = 0; p < px.length; p++) px[p] = (p * (c + 2) * 5 + i * 31) % 256;
    await sharp(px, { raw: { width: 12, height: 12, channels: 3 } }).png().toFile(join(data, cls, `${i}.png`));
  }
}
const home = tempDir();
const out = tempDir();
/** A task's environment: nothing of the runner's own scheduler leaks in. */
const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(SLURM_ARRAY_|JOB_COMPLETION_INDEX$|REPROBE_SHARDS$)/.test(k)));
function reprobe(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [bin, 'extract', '-b', 'mobilenet-v2', '-d', `folder:${data}`, '--batch-size', '4', '--threads', '1', ...args], {
    encoding: 'utf8',
    env: { ...clean, REPROBE_HOME: home, REPROBE_CHUNK_SIZE: '4', ...env },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('reprobe extract --shard: a bad shard is one line; the first task is pending, the last (from SLURM variables) joins and writes -o', () => {
  for (const [args, env, why] of [
    [['--shard', '2/2'], {}, /^reprobe: Invalid --shard "2\/2": give i\/n/],
    [['--shard', '0/2', '--shards', '2'], {}, /not both/],
    [[], { JOB_COMPLETION_INDEX: '1' }, /JOB_COMPLETION_INDEX=1 is set .* --shards N/],
    [['--shard', '0/2', '--no-cache'], {}, /leave out --no-cache/],
  ] as const) {
    const r = reprobe([...args], env);
    assert.equal(r.code, 2, r.err);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.match(r.err, why);
  }
  const whole = reprobe(['--no-cache', '-o', join(out, 'whole')]);
  assert.equal(whole.code, 0, whole.err);
  const first = reprobe(['--shard', '0/2', '-o', join(out, 'sharded')]);
  assert.equal(first.code, 0, first.err);
  assert.match(first.err, /20 images, shard 0\/2/);
  assert.match(first.out, /^shard 0\/2: 3 of 5 chunks done; another task joins them, and writes -o \(or rerun any shard once all are done\)\n$/);
  assert.ok(!existsSync(join(out, 'sharded.npy')), '-o waits for the finished entry');
  // sbatch --array=4-5 numbers the tasks 4 and 5: task 5 is shard 1 of 2.
  const last = reprobe(['-o', join(out, 'sharded')], { SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_MIN: '4', SLURM_ARRAY_TASK_COUNT: '2' });
  assert.equal(last.code, 0, last.err);
  assert.match(last.err, /shard 1\/2 from SLURM_ARRAY_TASK_ID/);
  assert.match(last.out, /^20 x 576 features extracted at [\d.]+ images\/s .*\nwrote .*sharded\.npy/);
  assert.deepEqual(readFileSync(join(out, 'sharded.npy')), readFileSync(join(out, 'whole.npy')), 'the joined entry is the unsharded matrix, bit for bit');
  assert.deepEqual(readFileSync(join(out, 'sharded.labels.npy')), readFileSync(join(out, 'whole.labels.npy')));
  assert.deepEqual(readdirSync(join(home, 'features')).filter((f) => !/^[0-9a-f]+\.(npy|json)$/.test(f)), [], 'no partial folder or temp file is left');
});
