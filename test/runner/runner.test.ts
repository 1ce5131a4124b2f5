/**
 * npm test's own checks (test/runner/run.ts): a run fails naming what a test file leaves in its temp folder, while
 * tempDir()'s folders go at exit; the CPU report counts a file's children; fixtures shared through the run's cache
 * (test/fixture-cache.ts) are seen whole or not at all by files running at once.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { removeEntriesAndBundles, tempDir } from '../helpers.ts';

const root = join(import.meta.dirname, '..', '..');
const runner = join(root, 'test', 'runner', 'run.ts');

/** A folder in the checkout for generated test files (their imports resolve from it); node_modules/.cache is ignored by git. */
function scratch(): string {
  mkdirSync(join(root, 'node_modules', '.cache'), { recursive: true });
  return mkdtempSync(join(root, 'node_modules', '.cache', 'runner-test-'));
}

test('a run fails naming what a test leaves in its temp folder; tempDir() folders are removed at exit; the CPU report counts children', () => {
  const dir = scratch();
  try {
    const helpers = JSON.stringify(join(root, 'test', 'helpers.ts'));
    // A child that spends at least a second of CPU, measured by itself.
    const busy = `const t = process.cpuUsage(); while ((process.cpuUsage(t).user + process.cpuUsage(t).system) < 1.1e6);`;
    writeFileSync(join(dir, 'clean.test.ts'), `import { test } from 'node:test';\nimport { spawnSync } from 'node:child_process';\nimport { writeFileSync } from 'node:fs';\nimport { join } from 'node:path';\nimport { tempDir } from ${helpers};\ntest('clean', () => { writeFileSync(join(tempDir(), 'x'), 'x'); spawnSync(process.execPath, ['-e', ${JSON.stringify(busy)}]); });\n`);
    writeFileSync(join(dir, 'litter.test.ts'), `import { test } from 'node:test';\nimport { mkdtempSync } from 'node:fs';\nimport { tmpdir } from 'node:os';\nimport { join } from 'node:path';\ntest('litter', () => { mkdtempSync(join(tmpdir(), 'left-behind-')); });\n`);
    // Without NODE_TEST_CONTEXT: set by the runner this file runs under, it would make the inner run report to it.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const run = (file: string) => spawnSync(process.execPath, ['--import', 'tsx', runner, relative(root, join(dir, file))], { cwd: root, encoding: 'utf8', env: { ...env, REPROBE_TEST_CONCURRENCY: '1' } });
    const clean = run('clean.test.ts');
    assert.equal(clean.status, 0, clean.stdout + clean.stderr);
    assert.doesNotMatch(clean.stdout, /left \d+ entr/);
    const cpu = clean.stdout.match(/^ +([\d.]+) s {2}\(([\d.]+) s in children, [\d.]+ s wall\) {2}.*clean\.test\.ts$/m);
    assert.ok(cpu, clean.stdout);
    assert.ok(Number(cpu[2]) >= 1.0 && Number(cpu[1]) >= Number(cpu[2]), cpu[0]);
    const litter = run('litter.test.ts');
    assert.equal(litter.status, 1, litter.stdout);
    assert.match(litter.stdout, /The tests left 1 entry in their temp folder[^\n]*\n {2}left-behind-\w+\/ \(0 entries\)/);
  } finally {
    removeEntriesAndBundles(dir);
  }
});

test('two processes asking for the same cached fixture at once: it is made once, both get it whole, no temp copy or lock stays', async () => {
  const cache = tempDir();
  const made = tempDir();
  const fixtureCache = JSON.stringify(join(root, 'test', 'fixture-cache.ts'));
  // make() writes one file, waits, writes the other: a reader that got the folder early would miss the second.
  const code = `
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cachedFixture } from ${fixtureCache};
const dir = await cachedFixture('pair', { n: 1 }, async (d) => {
  appendFileSync(${JSON.stringify(join(made, 'count'))}, 'x');
  writeFileSync(join(d, 'a'), 'a');
  await new Promise((r) => setTimeout(r, 1500));
  writeFileSync(join(d, 'b'), 'b');
});
console.log(JSON.stringify({ dir, whole: existsSync(join(dir, 'a')) && existsSync(join(dir, 'b')) }));
`;
  const one = () =>
    new Promise<{ dir: string; whole: boolean }>((done, fail) => {
      const c = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: root, env: { ...process.env, REPROBE_TEST_CACHE: cache } });
      let out = '';
      let err = '';
      c.stdout.on('data', (d: Buffer) => (out += d.toString()));
      c.stderr.on('data', (d: Buffer) => (err += d.toString()));
      c.on('close', (status) => (status === 0 ? done(JSON.parse(out) as { dir: string; whole: boolean }) : fail(new Error(err))));
    });
  const first = one();
  // The second starts while the first is still making it.
  await new Promise((r) => setTimeout(r, 800));
  const got = await Promise.all([first, one()]);
  assert.deepEqual(got.map((g) => g.whole), [true, true]);
  assert.equal(got[0].dir, got[1].dir);
  assert.deepEqual(readdirSync(cache), [relative(cache, got[0].dir)], 'one folder, no temp copy, no lock');
  assert.equal(readFileSync(join(made, 'count'), 'utf8'), 'x', 'made once');
});

test('a REPROBE_TEST_CACHE that does not exist yet is made: the fixture is made in it, not waited for forever', () => {
  const cache = join(tempDir(), 'not', 'yet');
  const code = `import { cachedFixture } from ${JSON.stringify(join(root, 'test', 'fixture-cache.ts'))};
console.log(await cachedFixture('new', { n: 2 }, () => undefined));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: root, encoding: 'utf8', timeout: 30_000, env: { ...process.env, REPROBE_TEST_CACHE: cache } });
  assert.equal(r.status, 0, `${r.signal ?? ''} ${r.stderr}`);
  assert.equal(dirname(r.stdout.trim()), cache);
});

test('a file still running at REPROBE_TEST_FILE_TIMEOUT_MS fails the run, the run says what it waited for, and what it started is killed: a child holding its output pipe does not hold the run', () => {
  const dir = scratch();
  try {
    const pidFile = join(dir, 'child.pid');
    // A test that never ends, with a child that would outlive its file and keep the inherited stderr open.
    writeFileSync(
      join(dir, 'hang.test.ts'),
      `import { test } from 'node:test';\nimport { spawn } from 'node:child_process';\nimport { writeFileSync } from 'node:fs';\ntest('hangs', async () => { const c = spawn('sleep', ['120'], { stdio: 'inherit' }); writeFileSync(${JSON.stringify(pidFile)}, String(c.pid)); await new Promise(() => setInterval(() => undefined, 1000)); });\n`,
    );
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const t0 = Date.now();
    const r = spawnSync(process.execPath, ['--import', 'tsx', runner, relative(root, join(dir, 'hang.test.ts'))], { cwd: root, encoding: 'utf8', timeout: 100_000, env: { ...env, REPROBE_TEST_CONCURRENCY: '1', REPROBE_TEST_FILE_TIMEOUT_MS: '4000' } });
    const seconds = (Date.now() - t0) / 1000;
    assert.equal(r.status, 1, `${r.signal ?? ''} ${r.stdout}`);
    assert.match(r.stdout, /timed out after 4000ms/);
    // What it waited for is shown: its handles, and the process it started.
    assert.match(r.stdout, /stopped at its time limit: node_modules\/\.cache\/runner-test-\w+\/hang\.test\.ts\n {2}waiting on: .*ProcessWrap/);
    assert.match(r.stdout, /pid \d+ \(state S, waits in \w+\): sleep 120/);
    // Its threads, and gdb's stacks of them where gdb can attach.
    assert.match(r.stdout, /\n {2}thread \d+ sleep: waits in \w+\n(Thread 1 .*\n#0 |\(no native stacks)/);
    // Its child's 120 s would have held the run that long.
    assert.ok(seconds < 60, `the run took ${seconds} s`);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    // Killed: gone, or a zombie its new parent has not reaped yet.
    const state = () => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      } catch {
        return 'gone';
      }
    };
    assert.ok(['gone', 'Z'].includes(state()), `sleep (pid ${pid}) is still running (state ${state()})`);
  } finally {
    removeEntriesAndBundles(dir);
  }
});
