import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse, stringify } from 'yaml';
import { shardJobs } from '../../src/jobs/sweep.ts';
import { checkSweep } from '../../src/jobs/sweep-schema.ts';
import { formatTable } from '../../src/report/table.ts';
import { tempDir } from '../helpers.ts';
import { ledger, store, tinySweep } from '../fixtures/sweep-evidence.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'reprobe.mjs');
const GRID = { backbones: ['mobilenet-v2', 'inception-v3'], datasets: ['mnist'], shots: [5, 10], seeds: [0, 1], methods: { knn: {}, lr: { lrC: [1] }, cluster: null } };

test('the grid expands in a fixed order with stable ids: key order does not matter, every setting does', () => {
  const { jobs } = checkSweep(GRID, 'grid.yaml');
  // 2 backbones x (2 shots x 2 seeds x 2 probes + 2 seeds x 1 cluster, which ignores the shot level).
  assert.equal(jobs.length, 2 * (8 + 2));
  assert.equal(new Set(jobs.map((j) => j.id)).size, jobs.length);
  assert.deepEqual(jobs[0], { ...jobs[0], backbone: 'mobilenet-v2', dataset: 'mnist', shots: 5, seed: 0, method: 'knn' });
  assert.deepEqual(jobs[0].options, { knnK: [20], knnVote: 'weighted' });
  const reordered = checkSweep({ methods: { cluster: null, lr: { lrC: [1] }, knn: {} }, seeds: [0, 1], shots: [5, 10], datasets: ['mnist'], backbones: ['mobilenet-v2', 'inception-v3'] }, 'b.yaml').jobs;
  assert.deepEqual(new Set(reordered.map((j) => j.id)), new Set(jobs.map((j) => j.id)));
  const changed = checkSweep({ ...GRID, methods: { ...GRID.methods, lr: { lrC: [10] } } }, 'c.yaml').jobs;
  assert.equal(changed.filter((j) => !jobs.some((k) => k.id === j.id)).length, 8);
  // Variants: a list of option mappings is one job each.
  assert.equal(checkSweep({ ...GRID, shots: [5], seeds: [0], methods: { finetune: [{ train: 'head' }, { train: 'last:2' }] } }, 'f.yaml').jobs.length, 4);
});

test('shards partition the jobs exactly, for several n', () => {
  const { jobs } = checkSweep(GRID, 'grid.yaml');
  for (const n of [1, 2, 3, 4, 7, 25]) {
    const parts = Array.from({ length: n }, (_, i) => shardJobs(jobs, { index: i, count: n }).map((j) => j.id));
    assert.deepEqual(parts.flat().sort(), jobs.map((j) => j.id).sort(), `n = ${n}`);
  }
});

test('a bad sweep file is one line naming the file, the key and what was expected', () => {
  const bad: [unknown, RegExp][] = [
    [{ ...GRID, shot: [5] }, /^s\.yaml: \(top level\): unknown key "shot"$/],
    [{ ...GRID, seeds: ['zero'] }, /^s\.yaml: seeds\[0\]: .*number/i],
    [{ ...GRID, backbones: ['mobilenet-v2', 'resnet-9000'] }, /^s\.yaml: backbones\[1\]: Unknown backbone "resnet-9000"/],
    [{ ...GRID, datasets: ['imagenet'] }, /^s\.yaml: datasets\[0\]: Unknown dataset "imagenet"/],
    [{ ...GRID, datasets: ['ucmerced'], protocol: 'study', shots: [10, 1000] }, /^s\.yaml: shots: ucmerced has no study split at 1000 shots; it has 10, 100\.$/],
    [{ ...GRID, methods: { knn: { knnK: 'many' } } }, /^s\.yaml: methods\.knn\.knnK: /],
    [{ ...GRID, methods: { finetune: [{ train: 'head' }, { trian: 'all' }] } }, /^s\.yaml: methods\.finetune\[1\]: unknown key "trian"$/],
    [{ ...GRID, methods: { svm: {} } }, /^s\.yaml: methods: unknown method "svm"/],
    [{ ...GRID, shots: { mnist: [5], dtd: [10] } }, /^s\.yaml: shots\.dtd: not one of the datasets/],
  ];
  for (const [doc, re] of bad) assert.throws(() => checkSweep(doc, 's.yaml'), (err: Error) => re.test(err.message), String(re));
  // And from the command line: exit 2, one line, nothing run.
  const dir = tempDir();
  writeFileSync(join(dir, 's.yaml'), stringify({ ...GRID, backbones: ['resnet-9000'] }));
  const r = spawnSync(process.execPath, [bin, 'sweep', join(dir, 's.yaml'), '--results-dir', join(dir, 'out')], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.equal(existsSync(join(dir, 'out')), false);
});


const env = (home: string) => ({ ...process.env, REPROBE_HOME: home });



test('a sweep killed mid-way and run again runs every job exactly once; --dry-run and --status count them', async () => {
  const dir = tempDir();
  const home = tempDir();
  const file = tinySweep(dir);
  const dry = spawnSync(process.execPath, [bin, 'sweep', file, '--dry-run'], { encoding: 'utf8', env: env(home) });
  assert.equal(dry.status, 0, dry.stderr);
  assert.match(dry.stdout, /\n4 jobs\n$/);
  // Kill the first run once its first job is in the store.
  const child = spawn(process.execPath, [bin, 'sweep', file], { env: env(home), stdio: 'ignore' });
  const results = join(dir, 'results');
  await new Promise<void>((resolve) => {
    const t = setInterval(() => {
      if (store(results).files.length >= 1) {
        child.kill('SIGKILL');
        clearInterval(t);
        resolve();
      }
    }, 50);
  });
  await new Promise((r) => child.on('exit', r));
  const before = store(results).files.length;
  assert.ok(before >= 1 && before < 4, `${before} jobs done before the kill`);
  const status = spawnSync(process.execPath, [bin, 'sweep', file, '--status'], { encoding: 'utf8', env: env(home) });
  assert.match(status.stdout, new RegExp(`4 jobs: ${before} done, 0 failed, 0 running, ${4 - before} pending`));
  const again = spawnSync(process.execPath, [bin, 'sweep', file], { encoding: 'utf8', env: env(home) });
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, new RegExp(`4 jobs: ${4 - before} run, ${before} already in the store`));
  const { files, records } = store(results);
  assert.equal(files.length, 4);
  // knn and lr each score one test set: one record per job, each cell once, tagged with its job.
  assert.equal(records.length, 4);
  assert.equal(new Set(records.map((r) => r.cell_id)).size, 4);
  assert.deepEqual(new Set(records.map((r) => `${String(r.job_id)}.jsonl`)), new Set(files));
  // The ledger, not the sweep's own tally: each job ran to completion in one attempt, the one its record names (an
  // attempt killed after writing its records and before ending its ledger entry counts by its record).
  for (const r of records) {
    const done = ledger(results).filter((a) => a.job_id === r.job_id && a.outcome === 'done').map((a) => a.attempt);
    assert.deepEqual(new Set([...done, r.attempt]), new Set([r.attempt]), `job ${String(r.job_id)}: completed in attempts ${[...done, r.attempt].join(', ')}`);
  }
  // merge gives pandas one JSONL file.
  const merged = spawnSync(process.execPath, [bin, 'results', 'merge', results], { encoding: 'utf8' });
  assert.equal(merged.status, 0, merged.stderr);
  assert.equal(readFileSync(join(results, 'merged.jsonl'), 'utf8').trim().split('\n').length, 4);
});

test('four concurrent sweep processes on one store start every job once (the ledger) and lose nothing; a failing job is recorded and the sweep goes on', async () => {
  const dir = tempDir();
  const home = tempDir();
  // A third dataset that does not exist fails at run time (its jobs), the others run.
  const file = tinySweep(dir, { datasets: ['mnist', `folder:${join(dir, 'missing')}`], shots: [2, 3] });
  const sweep = () => new Promise<number>((resolve) => spawn(process.execPath, [bin, 'sweep', file], { env: env(home), stdio: 'ignore' }).on('exit', (c) => resolve(c ?? -1)));
  // Two start together (they race for every job); two more once a job is done (they meet finished jobs, released).
  let exited = 0;
  const first = [sweep(), sweep()].map((p) => p.finally(() => exited++));
  while (exited < 2 && !ledger(join(dir, 'results')).some((a) => a.outcome === 'done')) await new Promise((r) => setTimeout(r, 50));
  const runs = await Promise.all([...first, sweep(), sweep()]);
  const { files, records } = store(join(dir, 'results'));
  // From the ledger: each of the 4 jobs that run was started by exactly one attempt. The 4 that fail are retried by a
  // sweep that began after they failed (as a rerun would), but never while another attempt runs them.
  const ids = checkSweep(parse(readFileSync(file, 'utf8')), file).jobs.map((j) => j.id);
  const attempts = ledger(join(dir, 'results'));
  for (const id of ids) {
    const starts = attempts.filter((a) => a.job_id === id && a.start !== null).sort((a, b) => (a.start! < b.start! ? -1 : 1));
    assert.ok(starts.length >= 1 && starts.every((a) => a.end !== null), `job ${id}: ${JSON.stringify(starts)}`);
    if (starts.some((a) => a.outcome === 'done')) assert.equal(starts.length, 1, `job ${id} started ${starts.length} times: ${JSON.stringify(starts)}`);
    else for (let i = 1; i < starts.length; i++) assert.ok(starts[i].start! >= starts[i - 1].end!, `job ${id} run by two attempts at once: ${JSON.stringify(starts)}`);
  }
  // Each record names the attempt that wrote it.
  for (const r of records) assert.equal(r.attempt, attempts.find((a) => a.job_id === r.job_id && a.outcome === 'done')?.attempt, `record of ${String(r.job_id)}`);
  assert.equal(files.length, 4, `${files.length} job files`);
  assert.equal(records.length, 4);
  assert.equal(new Set(records.map((r) => r.cell_id)).size, 4);
  assert.ok(runs.some((c) => c === 2), `exit codes ${runs.join(',')}: failed jobs make a non-zero exit`);
  const status = spawnSync(process.execPath, [bin, 'sweep', file, '--status'], { encoding: 'utf8', env: env(home) });
  assert.match(status.stdout, /8 jobs: 4 done, 4 failed, 0 running, 0 pending/);
  assert.match(status.stdout, /failed [0-9a-f]{16} mobilenet-v2 folder:.*missing 2-shot seed 0 knn: /);
});

test('sharded tasks split the whole-dataset extraction by chunks, then each runs its share of the jobs', async () => {
  const dir = tempDir();
  const home = tempDir();
  const data = join(dir, 'images');
  // 3 classes x 8 small photos-like images.
  const sharp = (await import('sharp')).default;
  for (let c = 0; c < 3; c++) {
    mkdirSync(join(data, `c${c}`), { recursive: true });
    for (let k = 0; k < 8; k++) {
      const px = Buffer.alloc(32 * 32 * 3);
      for (let p = 0; p < px.length; p++) px[p] = (p * (c + 3) + k * 11) % 256;
      await sharp(px, { raw: { width: 32, height: 32, channels: 3 } }).png().toFile(join(data, `c${c}`, `${k}.png`));
    }
  }
  const file = tinySweep(dir, { datasets: [`folder:${data}`], shots: [2, 3], testPerClass: 3, extract: 'whole', batchSize: 4 });
  const task = (i: number) => spawnSync(process.execPath, [bin, 'sweep', file, '--shard', `${i}/2`], { encoding: 'utf8', env: { ...env(home), REPROBE_CHUNK_SIZE: '4' } });
  const first = task(0);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stderr, /extract mobilenet-v2 on folder:.* \(shard 0\/2: 2\): 3 of 6 chunks done/);
  const second = task(1);
  assert.equal(second.status, 0, second.stderr);
  assert.match(second.stderr, /\(shard 1\/2: 2\): 24 images joined/);
  const { files, records } = store(join(dir, 'results'));
  assert.equal(files.length, 4);
  // Task 0's first job found the entry pending and embedded the missing chunks itself; every later job read the entry.
  assert.ok(records.every((r) => r.n_train === 3 * Number(r.shots)));
  assert.equal(records.filter((r) => r.features_from_cache === true).length, 3);
});

test('a sweep with device cuda and strictDevice stops in one line before any job when CUDA cannot be used', async (t) => {
  const { cudaStatus } = await import('../../src/runtime/ort.ts');
  if ((await cudaStatus()).usable) return t.skip('CUDA works on this machine');
  const dir = tempDir();
  const file = tinySweep(dir, { device: 'cuda', strictDevice: true });
  const r = spawnSync(process.execPath, [bin, 'sweep', file], { encoding: 'utf8', env: env(tempDir()) });
  assert.equal(r.status, 2);
  assert.match(r.stderr.trim(), /^reprobe: --device cuda --strict: /);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.equal(existsSync(join(dir, 'results')), false);
});

test('a grid of 300k jobs expands and lists (--dry-run) without overflowing the call stack', () => {
  // 300k seeds x 1 shot level: every job is a row of the dry-run table (spreading the rows into Math.max overflowed).
  const seeds = Array.from({ length: 300_000 }, (_, i) => i);
  const { jobs } = checkSweep({ ...GRID, backbones: ['mobilenet-v2'], shots: [5], seeds, methods: { knn: {} } }, 'big.yaml');
  assert.equal(jobs.length, 300_000);
  const table = formatTable(['job', 'seed'], jobs.map((j) => [j.id, j.seed]));
  assert.equal(table.split('\n').length, 2 + 300_000);
});

test('methodShots that selects no shot level of the grid is one error naming the key, not a method with zero jobs', () => {
  assert.throws(() => checkSweep({ ...GRID, methodShots: { lr: [1000] } }, 's.yaml'), /^ConfigError: s\.yaml: methodShots\.lr: none of 1000 is a shot level of the sweep \(shots: 5, 10\)/);
  // One level of the grid is enough: lr runs at 10 only.
  const { jobs } = checkSweep({ ...GRID, methodShots: { lr: [10, 1000] } }, 's.yaml');
  assert.deepEqual([...new Set(jobs.filter((j) => j.method === 'lr').map((j) => j.shots))], [10]);
});
