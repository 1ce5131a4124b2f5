/**
 * `npm test`: the test files under node's runner, several at a time (each runs in its own process with its own temp
 * folders), the slowest of the last run first; the type check, the layer rules and knip run beside them rather than
 * before, and any of them failing fails the run. Extra arguments name test files to run instead of all of them.
 *   node --import tsx test/runner/run.ts [FILE...]
 * REPROBE_TEST_CONCURRENCY sets how many files run at once (default: the CPU count, at least 2).
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { run as runTests } from 'node:test';
import { spec } from 'node:test/reporters';
import { slowestFirst } from './order.ts';
import { Slowest, type TestDone } from './slowest.ts';

const root = join(import.meta.dirname, '..', '..');
const bin = (name: string) => join(root, 'node_modules', '.bin', name);

/** Every *.test.ts under test/, relative to the repository root. */
function testFiles(dir = join(root, 'test')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? testFiles(join(dir, e.name)) : e.name.endsWith('.test.ts') ? [relative(root, join(dir, e.name))] : [],
  );
}

/** Run a command; resolves to its exit code, with its output collected (or passed through). */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, passThrough: boolean): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, env, stdio: passThrough ? 'inherit' : ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', (err) => resolve({ code: 1, out: `${out}${err.message}\n` }));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), out }));
  });
}

/** The checks one after another (each is short); the first failure stops them. */
async function checks(): Promise<{ name: string; code: number; out: string } | undefined> {
  const list: [string, string[]][] = [
    ['tsc', ['--noEmit', '-p', '.']],
    ['depcruise', ['src', '--config', '.dependency-cruiser.cjs']],
    ['knip', []],
  ];
  for (const [name, args] of list) {
    const r = await run(bin(name), args, process.env, false);
    if (r.code !== 0) return { name, ...r };
  }
  return undefined;
}

/** The files under node:test (children get this process's --import tsx); resolves to whether every test passed. */
function testRun(files: string[], concurrency: number): Promise<boolean> {
  const slowest = new Slowest(root);
  let failed = 0;
  const stream = runTests({ files: files.map((f) => resolve(root, f)), concurrency });
  stream.on('test:pass', (d: TestDone) => slowest.add(d));
  stream.on('test:fail', (d: TestDone) => {
    failed++;
    slowest.add(d);
  });
  return new Promise((resolve) => {
    const out = stream.compose(new spec());
    out.pipe(process.stdout, { end: false });
    // After the spec reporter's last line (its summary).
    out.on('end', () => {
      process.stdout.write(slowest.report(concurrency));
      resolve(failed === 0);
    });
  });
}

const named = process.argv.slice(2);
const concurrency = Number(process.env.REPROBE_TEST_CONCURRENCY) || Math.max(2, availableParallelism());
const files = named.length ? named : slowestFirst(testFiles());
const [failedCheck, passed] = await Promise.all([named.length ? undefined : checks(), testRun(files, concurrency)]);
if (failedCheck) process.stdout.write(`\n${failedCheck.name} failed (exit ${failedCheck.code}):\n${failedCheck.out}`);
else if (!named.length) process.stdout.write('tsc, depcruise and knip passed\n');
process.exitCode = failedCheck || !passed ? 1 : 0;
