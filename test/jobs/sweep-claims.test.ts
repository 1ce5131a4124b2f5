import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { claimHeld, claimJob } from '../../src/jobs/sweep-claims.ts';
import { tempDir } from '../helpers.ts';

/** A claim generation as another process would have left it. */
function leave(dir: string, id: string, gen: number, claim: { host: string; pid: number; token: string }, ageMs = 0): void {
  mkdirSync(join(dir, 'claims'), { recursive: true });
  const path = join(dir, 'claims', `${id}.${gen}`);
  writeFileSync(path, JSON.stringify({ ...claim, time: new Date().toISOString() }));
  const t = new Date(Date.now() - ageMs);
  utimesSync(path, t, t);
}

test('one claim per job; released, it can be taken again; a generation is never empty', async () => {
  const dir = tempDir();
  const a = await claimJob(dir, 'j1');
  assert.ok(a);
  assert.ok(await claimHeld(dir, 'j1'));
  await a.release();
  assert.equal(await claimHeld(dir, 'j1'), undefined);
  const b = await claimJob(dir, 'j1');
  assert.ok(b);
  assert.deepEqual([a.generation, b.generation], [1, 2], 'a released generation stays: attempt numbers never repeat');
  // Racing for one job in one process: the exclusive link lets one through.
  const racers = await Promise.all([claimJob(dir, 'j2'), claimJob(dir, 'j2'), claimJob(dir, 'j2')]);
  assert.equal(racers.filter(Boolean).length, 1);
  assert.equal(readdirSync(join(dir, 'claims')).filter((f) => f.startsWith('j2.')).length, racers.filter(Boolean).length);
  await b.release();
});

test('stale claims are taken over by a new generation: a dead pid here, this pid with another token (a restarted pod), an old heartbeat elsewhere', async () => {
  const dir = tempDir();
  leave(dir, 'dead', 1, { host: hostname(), pid: 2 ** 22 + 12345, token: 'x' });
  assert.ok(await claimJob(dir, 'dead'));
  assert.ok(readdirSync(join(dir, 'claims')).includes('dead.2'));
  leave(dir, 'pod', 1, { host: hostname(), pid: process.pid, token: 'an-earlier-process' });
  assert.ok(await claimJob(dir, 'pod'));
  leave(dir, 'far', 1, { host: 'another-host', pid: 1, token: 'y' });
  assert.equal(await claimJob(dir, 'far'), undefined, 'a fresh claim from another host stands');
  leave(dir, 'gone', 1, { host: 'another-host', pid: 1, token: 'z' }, 60 * 60_000);
  assert.ok(await claimJob(dir, 'gone'), 'an hour without a heartbeat: taken over');
});

test('a job whose main thread is blocked for five leases keeps its claim: the heartbeat does not wait for the main thread', async () => {
  const dir = tempDir();
  const [beatMs, leaseMs, blockMs] = [100, 1000, 5000];
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '..', 'fixtures', 'blocked-claim.ts'), dir, String(beatMs), String(blockMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((r) => child.on('exit', r));
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  while (!out.includes('claimed')) await new Promise((r) => setTimeout(r, 20));
  const claimFile = join(dir, 'claims', 'j.1');
  // While it spins, the claim's heartbeat (its mtime) is never older than the lease, so no other host may take it over.
  let oldest = 0;
  let looks = 0;
  while (!out.includes('released')) {
    try {
      oldest = Math.max(oldest, Date.now() - statSync(claimFile).mtimeMs);
      looks++;
    } catch {
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await exited;
  assert.ok(looks >= (blockMs / 50) * 0.5, `${looks} looks at the claim while the child spun`);
  assert.ok(oldest < leaseMs, `the heartbeat was ${oldest} ms old while the main thread was blocked (lease ${leaseMs} ms)`);
});
