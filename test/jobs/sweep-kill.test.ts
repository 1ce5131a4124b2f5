import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { parse } from 'yaml';
import { checkSweep } from '../../src/jobs/sweep-schema.ts';
import { seeded } from '../../src/util/rng.ts';
import { ledger, store, tinySweep } from '../fixtures/sweep-evidence.ts';
import { tempDir } from '../helpers.ts';
import { watchdog } from '../process-watchdog.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'reprobe.mjs');
const ROUNDS = 10;
/** A sweep here takes seconds (20 jobs: 15-30 s on 2 loaded cores); one still running after this is hung. */
const HUNG_MS = 240_000;
/** What the watchdog found: hung sweeps, described, then killed. */
const hung: string[] = [];

/** A sweep process on `file`; `started` resolves when it starts its first job (its startup is over). */
function sweepProcess(file: string, home: string): { child: ChildProcess; started: Promise<void>; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [bin, 'sweep', file], { env: { ...process.env, REPROBE_HOME: home }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const started = new Promise<void>((resolve) => {
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (/^\[\d+\/\d+\] /m.test(err)) resolve();
    });
    child.on('exit', () => resolve());
  });
  watchdog(child, HUNG_MS, `reprobe sweep ${file}`, (text) => hung.push(`${text}\nits stderr:\n${err.slice(-4000)}`));
  return { child, started, exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))) };
}

/** 3 classes x 8 small PNGs, each its own shade. */
async function colourImages(): Promise<string> {
  const root = tempDir();
  for (const [c, rgb] of [[200, 30, 30], [30, 200, 30], [30, 30, 200]].entries()) {
    mkdirSync(join(root, `c${c}`));
    for (let i = 0; i < 8; i++) await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: rgb[0] - i * 9, g: rgb[1] + i * 7, b: rgb[2] + ((i * 29) % 50) } } }).png().toFile(join(root, `c${c}`, `${i}.png`));
  }
  return root;
}

/** The numbers of a record: every field but those that say when, how fast, by which run, attempt or code state, or where. */
const VOLATILE = new Set(['run_id', 'time', 'extract_seconds', 'images_per_second', 'fit_seconds', 'features_from_cache', 'attempt', 'split_file', 'predictions', 'versions']);
/** A record's numbers, with its per-image predictions (the file's content, not its path). */
const numbers = (r: Record<string, unknown>) =>
  JSON.stringify([Object.fromEntries(Object.entries(r).filter(([k]) => !VOLATILE.has(k)).sort(([a], [b]) => (a < b ? -1 : 1))), readFileSync(String(r.predictions), 'utf8')]);

test(`${ROUNDS} rounds of two sweep processes killed (SIGKILL) at random points, then run again: no job lost, none run to completion twice, the numbers of an uninterrupted sweep`, async (t) => {
  const dir = tempDir();
  const home = tempDir();
  // 20 short jobs (2 shot levels x 5 seeds x knn, lr) on 3 x 8 generated images; each extracts its split's features.
  const grid = { datasets: [`folder:${await colourImages()}`], shots: [1, 2], seeds: [0, 1, 2, 3, 4], testPerClass: 3 };
  const file = tinySweep(dir, grid);
  const results = join(dir, 'results');
  const ids = checkSweep(parse(readFileSync(file, 'utf8')), file).jobs.map((j) => j.id);
  // The uninterrupted reference, in its own folders.
  const refDir = tempDir();
  const reference = sweepProcess(tinySweep(refDir, grid), tempDir());
  const rng = seeded(25);
  for (let round = 0; round < ROUNDS; round++) {
    // Two processes share the store (claims decide who runs what); each is killed at its own random point after
    // the sweep's startup: in the feature extraction, a fit, or writing the records.
    const pair = [sweepProcess(file, home), sweepProcess(file, home)];
    await Promise.race(pair.map((p) => p.started));
    await Promise.all(
      pair.map(async (p) => {
        await new Promise((r) => setTimeout(r, rng() * 1500));
        p.child.kill('SIGKILL');
        await p.exited;
      }),
    );
  }
  const last = [sweepProcess(file, home), sweepProcess(file, home)];
  const codes = await Promise.all(last.map((p) => p.exited));
  assert.deepEqual(hung, [], 'a sweep process hung');
  assert.deepEqual(codes, [0, 0]);

  const attempts = ledger(results);
  const { records } = store(results);
  // Where the kills fell: before a job started, while it ran (extraction, fit), after its records were written.
  const killed = attempts.filter((a) => a.end === null);
  const wrote = new Set(records.map((r) => `${String(r.job_id)}.${String(r.attempt)}`));
  const after = killed.filter((a) => wrote.has(`${a.job_id}.${a.attempt}`)).length;
  const during = killed.filter((a) => a.start !== null).length - after;
  t.diagnostic(`${attempts.length} attempts; killed: ${killed.length - during - after} before a start, ${during} while running, ${after} after writing`);
  assert.ok(during > 0, 'some attempt was killed while it ran a job');
  for (const id of ids) {
    const mine = attempts.filter((a) => a.job_id === id);
    const rec = records.filter((r) => r.job_id === id);
    assert.equal(rec.length, 1, `job ${id}: ${rec.length} records (lost or written twice)`);
    // Completed: ended done, or killed after its records were written (the record names its attempt).
    const completed = new Set([...mine.filter((a) => a.outcome === 'done').map((a) => a.attempt), rec[0].attempt]);
    assert.equal(completed.size, 1, `job ${id} ran to completion in attempts ${[...completed].join(', ')}`);
    const starts = mine.filter((a) => a.start !== null);
    assert.ok(starts.filter((a) => a.end !== null).every((a) => completed.has(a.attempt) || a.outcome === 'failed'), `job ${id}: an attempt ended without being the one that completed`);
  }
  assert.equal(await reference.exited, 0, hung.join('\n'));
  const want = store(join(refDir, 'results')).records.map(numbers).sort();
  assert.equal(want.length, ids.length);
  assert.deepEqual(records.map(numbers).sort(), want);
});
