import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir, unprivileged } from '../helpers.ts';
import { store, tinySweep } from '../fixtures/sweep-evidence.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'reprobe.mjs');
const preload = join(import.meta.dirname, '..', 'fixtures', 'enospc-preload.mjs');

function sweep(file: string, env: Record<string, string> = {}, extra = {}) {
  const r = spawnSync(process.execPath, ['--import', preload, bin, 'sweep', file], { encoding: 'utf8', env: { ...process.env, ...env }, ...extra });
  return { code: r.status, out: String(r.stdout), err: String(r.stderr) };
}

/** Exit 2, the last line one `reprobe:` line matching `re`, no internal error. */
function oneLine(r: { code: number | null; err: string }, re: RegExp) {
  assert.equal(r.code, 2, r.err);
  assert.match(r.err.trim().split('\n').at(-1)!, re);
  assert.doesNotMatch(r.err, /internal error/);
}

test('a full disk fails the job whose record cannot be written; the sweep records it and goes on', () => {
  const dir = tempDir();
  const file = tinySweep(dir, { shots: [2], methods: { knn: {}, lr: { lrC: [1] } } });
  const results = join(dir, 'results');
  const r = sweep(file, { FAKE_FULL_DIR: results, FAKE_FULL_MATCH: '/records/' });
  oneLine(r, /^reprobe: 2 job\(s\) failed; see `reprobe sweep .* --status`/);
  assert.match(r.err, /failed: Cannot write results in .*results \(ENOSPC: disk full\)/);
  assert.equal(store(results).records.length, 0);
  assert.equal(readdirSync(join(results, 'failed')).length, 2, 'both jobs ran and are recorded as failed');
  assert.match(readFileSync(join(results, 'failed', readdirSync(join(results, 'failed'))[0]), 'utf8'), /ENOSPC/);
});

test('a disk on which nothing can be written stops the sweep in one line naming the folder', () => {
  const dir = tempDir();
  const file = tinySweep(dir, { shots: [2], methods: { knn: {} } });
  const results = join(dir, 'results');
  oneLine(sweep(file, { FAKE_FULL_DIR: results }), new RegExp(`^reprobe: ${results}/.*: cannot open it \\(ENOSPC: disk full\\)\\. Free disk space`));
  // Claims can be written, the record and the failure cannot: the sweep stops, naming the job and the folder.
  oneLine(sweep(file, { FAKE_FULL_DIR: results, FAKE_FULL_MATCH: '/(records|failed)/' }), /^reprobe: Job \w+ failed \(Cannot write results in .*\) and its failure cannot be written in .*results \(ENOSPC: disk full\)\. Free disk space or pass another folder\. Or rerun once .*results can be written; the sweep stops after 0 job\(s\) run/);
});

test('a read-only results folder is one line naming it', (t) => {
  const as = unprivileged();
  if (!as) return t.skip('no unprivileged user can run reprobe here');
  const dir = tempDir();
  const home = join(dir, 'home');
  mkdirSync(home, { mode: 0o777 });
  chmodSync(home, 0o777);
  const results = join(dir, 'results');
  mkdirSync(results);
  chmodSync(results, 0o555);
  const file = tinySweep(dir, { shots: [2], methods: { knn: {} }, cache: false });
  const r = sweep(file, {}, { ...as, env: { ...process.env, HOME: home, REPROBE_HOME: home } });
  oneLine(r, new RegExp(`^reprobe: ${results}.*\\((EACCES: permission denied|EROFS: read-only file system)\\)`));
});
