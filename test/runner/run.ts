/**
 * `npm test`: the test files under node's runner, several at a time (each runs in its own process with its own temp
 * folders), the slowest of the last run first, each from a bundle of its sources (bin/bundle.mjs: through tsx's loader
 * every module a file imports costs a round trip to its hooks thread); the type check, the layer rules and knip run
 * beside them rather than before, and any of them failing fails the run. Extra arguments name test files to run
 * instead of all of them (and skip the checks).
 *   node --import tsx test/runner/run.ts [FILE...]
 * REPROBE_TEST_CONCURRENCY sets how many files run at once (default: the CPU count, at least 2);
 * REPROBE_TEST_FILE_TIMEOUT_MS how long one file may run (default 20 minutes).
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundle } from '../../bin/bundle.mjs';
import { cpuByFile, cpuReport, leftovers, runFolders } from './leftovers.ts';
import { removeAll } from './remove.ts';
import { slowestFirst } from './order.ts';

const root = join(import.meta.dirname, '..', '..');
const bin = (name: string) => join(root, 'node_modules', '.bin', name);

/** Every *.test.ts under test/, relative to the repository root. */
function testFiles(dir = join(root, 'test')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? testFiles(join(dir, e.name)) : e.name.endsWith('.test.ts') ? [relative(root, join(dir, e.name))] : [],
  );
}

/** Run a command; resolves to its exit code, with its output collected (or passed through). */
function exec(cmd: string, args: string[], env: NodeJS.ProcessEnv, passThrough: boolean): Promise<{ code: number; out: string; signal?: NodeJS.Signals }> {
  return new Promise((done) => {
    const child = spawn(cmd, args, { cwd: root, env, stdio: passThrough ? 'inherit' : ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', (err) => done({ code: 1, out: `${out}${err.message}\n` }));
    child.on('close', (code, signal) => done({ code: code ?? (signal ? 1 : 0), out, ...(signal ? { signal } : {}) }));
  });
}

/** The checks one after another (each is short); the first failure stops them. */
async function checks(): Promise<{ name: string; code: number; out: string } | undefined> {
  // tsc is incremental: a rerun checks what changed since the last (14 -> 4 CPU s here). It works on a copy of the kept
  // state, which replaces it whole when tsc ends: a run killed meanwhile, or one beside it, cannot leave it half written.
  const kept = join(root, 'node_modules', '.cache', 'reprobe', 'tsc.tsbuildinfo');
  const state = `${kept}.tmp-${process.pid}`;
  mkdirSync(dirname(kept), { recursive: true });
  removeDeadCopies(kept);
  if (existsSync(kept)) copyFileSync(kept, state);
  const list: [string, string[]][] = [
    ['tsc', ['--noEmit', '-p', '.', '--incremental', '--tsBuildInfoFile', state]],
    ['depcruise', ['src', '--config', '.dependency-cruiser.cjs']],
    ['knip', []],
  ];
  try {
    for (const [name, args] of list) {
      const r = await exec(bin(name), args, process.env, false);
      // Kept only from a tsc that ended by itself (0: no errors, 1-2: errors found), not from one killed mid-write.
      if (name === 'tsc' && !r.signal && r.code <= 2 && existsSync(state)) renameSync(state, kept);
      if (r.code !== 0) return { name, ...r };
    }
    return undefined;
  } finally {
    rmSync(state, { force: true });
  }
}

/** Remove the copies of `kept` (`kept`.tmp-PID) whose run died before its finally did. */
function removeDeadCopies(kept: string): void {
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  };
  const prefix = `${basename(kept)}.tmp-`;
  for (const f of readdirSync(dirname(kept))) if (f.startsWith(prefix) && !alive(Number(f.slice(prefix.length)))) rmSync(join(dirname(kept), f), { force: true });
}

/**
 * A file still running after this fails: node stops its process (SIGTERM; descendants-hook.ts kills what it started),
 * and reports the file, not the test that hung. The slowest file takes about 45 s alone on 2 cores (int8-cpu's
 * emulated runs allow themselves 15 minutes); a hung one would otherwise hold the run until CI's own limit, with
 * nothing printed of any file after it. Node passes the limit into the files too, as each test's default timeout.
 */
const FILE_TIMEOUT_MS = Number(process.env.REPROBE_TEST_FILE_TIMEOUT_MS) || 20 * 60_000;

/** The files under `node --test`, from bundles with source maps; through tsx when a bundle cannot be built. */
async function runFiles(files: string[], concurrency: number, env: NodeJS.ProcessEnv, run: string): Promise<{ code: number; sources: Record<string, string> }> {
  const common = ['--test', `--test-concurrency=${concurrency}`, `--test-timeout=${FILE_TIMEOUT_MS}`, '--test-reporter=spec', '--test-reporter-destination=stdout'];
  let bundles: string[];
  let reporter: string;
  let hook: string;
  let killHook: string;
  try {
    [reporter, hook, killHook, ...bundles] = await Promise.all([join(import.meta.dirname, 'slowest-reporter.ts'), join(import.meta.dirname, 'cpu-hook.ts'), join(import.meta.dirname, 'descendants-hook.ts'), ...files].map((f) => bundle(resolve(root, f), { sourcemap: true })));
  } catch (err) {
    process.stdout.write(`# the test files run through tsx (no bundles: ${(err as Error).message.split('\n')[0]}); no list of the slowest tests\n`);
    return { code: (await exec(process.execPath, ['--import', 'tsx', ...common, ...files], env, true)).code, sources: {} };
  }
  const sources = Object.fromEntries(bundles.map((b, i) => [b, resolve(root, files[i])]));
  writeFileSync(join(run, 'sources.json'), JSON.stringify(sources));
  const withSources = { ...env, REPROBE_TEST_SOURCES: join(run, 'sources.json') };
  const args = ['--enable-source-maps', `--import=${pathToFileURL(hook).href}`, `--import=${pathToFileURL(killHook).href}`, ...common, `--test-reporter=${reporter}`, '--test-reporter-destination=stdout', ...bundles];
  return { code: (await exec(process.execPath, args, withSources, true)).code, sources };
}

/**
 * The files with a temp folder of their own (TMPDIR) and a fixture cache shared by the run (REPROBE_TEST_CACHE,
 * test/fixture-cache.ts); then the files that cost the most CPU, and a failure when a test left anything in that
 * temp folder.
 */
async function tests(files: string[], concurrency: number): Promise<number> {
  const run = mkdtempSync(join(tmpdir(), 'reprobe-test-run-'));
  try {
    const folders = runFolders(run);
    // One training thread unless the run asks for more: a second one costs each short fine-tune in the tests its start
    // (about 2 CPU s); test/train/parallel.test.ts trains with two on purpose.
    const env = { ...process.env, TMPDIR: folders.tmp, REPROBE_TEST_CACHE: folders.cache, REPROBE_TEST_CPU: folders.cpu, REPROBE_TEST_STOPPED: folders.stopped, REPROBE_TEST_CONCURRENCY: String(concurrency), REPROBE_TRAIN_THREADS: process.env.REPROBE_TRAIN_THREADS ?? '1' };
    const { code, sources } = await runFiles(files, concurrency, env, run);
    // What the files stopped at their time limit were waiting for (descendants-hook.ts): node shows none of their output.
    if (existsSync(folders.stopped)) process.stdout.write(`\n${readFileSync(folders.stopped, 'utf8')}`);
    process.stdout.write(cpuReport(cpuByFile(folders.cpu, sources, root)));
    const { left, others } = leftovers(folders.tmp);
    if (others) process.stdout.write(`\n(onnxruntime's telemetry and tsx's and torch's caches left ${others} entries in the run's temp folder, removed with it)\n`);
    if (!left.length) return code;
    process.stdout.write(`\nThe tests left ${left.length} entr${left.length === 1 ? 'y' : 'ies'} in their temp folder (each test must remove what it makes; tempDir() in test/helpers.ts does):\n${left.slice(0, 40).map((l) => `  ${l}`).join('\n')}\n`);
    return 1;
  } finally {
    removeAll(run);
  }
}

const named = process.argv.slice(2);
const concurrency = Number(process.env.REPROBE_TEST_CONCURRENCY) || Math.max(2, availableParallelism());
const files = named.length ? named : slowestFirst(testFiles());
const [failedCheck, code] = await Promise.all([named.length ? undefined : checks(), tests(files, concurrency)]);
if (failedCheck) process.stdout.write(`\n${failedCheck.name} failed (exit ${failedCheck.code}):\n${failedCheck.out}`);
else if (!named.length) process.stdout.write('tsc, depcruise and knip passed\n');
process.exitCode = failedCheck || code !== 0 ? 1 : 0;
