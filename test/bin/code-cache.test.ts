/**
 * bin/code-cache.mjs, which runs the CLI's CommonJS bundle and the packages it requires with V8's code cache: a
 * missing, stale or corrupt cache is remade and changes nothing a run prints; and the CLI's start loads none of the
 * heavy packages (bin/bundle.mjs' lazyRequireExternal) until a command uses one.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const root = join(import.meta.dirname, '..', '..');
const codeCache = join(root, 'bin', 'code-cache.mjs');

/** A scratch folder in the checkout (node_modules/.cache: ignored by git, inside node_modules for cachePackages). */
function scratch(): string {
  mkdirSync(join(root, 'node_modules', '.cache'), { recursive: true });
  return mkdtempSync(join(root, 'node_modules', '.cache', 'code-cache-test-'));
}

/** Replace a file by a new one (never write into it: node_modules may be hard links shared with other checkouts). */
function replace(path: string, data: Buffer): void {
  writeFileSync(`${path}.new`, data);
  renameSync(`${path}.new`, path);
}

/** The same file with 2000 bytes in its middle flipped. */
function corrupt(path: string): void {
  const b = readFileSync(path);
  for (let i = b.length >> 1; i < (b.length >> 1) + 2000 && i < b.length; i++) b[i] ^= 0x5a;
  replace(path, b);
}

/** Whether a cache file is as code-cache.mjs writes one: the sha256 of the rest, then the rest. */
function whole(path: string): boolean {
  const b = readFileSync(path);
  return createHash('sha256').update(b.subarray(32)).digest().equals(b.subarray(0, 32));
}

test('a missing, stale, rejected or corrupt code cache is remade, and the run prints the same', () => {
  const dir = scratch();
  try {
    const file = join(dir, 'mod.cjs');
    // Enough functions that a cache is more than a header; one of them runs only after the start (a lazy one).
    const source = (word: string) =>
      `${Array.from({ length: 200 }, (_, i) => `function f${i}(x) { return x * ${i} + ${i}; }`).join('\n')}\nexports.say = () => '${word}:' + f199(2);\n`;
    writeFileSync(file, source('first'));
    const runner = join(dir, 'run.mjs');
    writeFileSync(runner, `import { runWithCodeCache } from ${JSON.stringify(codeCache)};\nconst m = runWithCodeCache(process.argv[2], (s) => console.log(s));\nconsole.log(m.say());\n`);
    const run = () => {
      const r = spawnSync(process.execPath, [runner, file], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.trim().split('\n');
    };
    const caches = () => readdirSync(dir).filter((f) => f.endsWith('.v8cache'));
    assert.deepEqual(run(), ['missing', 'first:597']);
    assert.equal(caches().length, 1, 'made at exit');
    const cache = join(dir, caches()[0]);
    assert.deepEqual(run(), ['accepted', 'first:597']);
    // A cache file V8 checks and refuses (whole, but not a code cache of this node): remade.
    const bytes = readFileSync(cache);
    const foreign = Buffer.alloc(4096, 7);
    replace(cache, Buffer.concat([createHash('sha256').update(foreign).digest(), foreign]));
    assert.deepEqual(run(), ['rejected', 'first:597']);
    assert.deepEqual(run(), ['accepted', 'first:597']);
    // Stale: the file changed under the same name (V8 checks its length).
    writeFileSync(file, source('second!'));
    assert.deepEqual(run(), ['rejected', 'second!:597']);
    assert.deepEqual(run(), ['accepted', 'second!:597']);
    // Corrupt: V8 would crash in its deserializer (SIGTRAP); the digest makes it read as missing.
    corrupt(cache);
    assert.deepEqual(run(), ['missing', 'second!:597']);
    assert.deepEqual(run(), ['accepted', 'second!:597']);
    assert.notDeepEqual(readFileSync(cache), bytes);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a corrupt or stale cache of the packages is remade, and the packages run as without one', () => {
  const dir = scratch();
  try {
    // A package file: cachePackages compiles files under node_modules (outside node_modules/.cache) itself.
    const pkg = join(root, 'node_modules', `.code-cache-test-${process.pid}`);
    mkdirSync(pkg, { recursive: true });
    try {
      const file = join(pkg, 'index.js');
      writeFileSync(file, `module.exports = { twice: (x) => 2 * x, where: __filename, req: typeof require.resolve };\n`);
      const runner = join(dir, 'run.mjs');
      writeFileSync(
        runner,
        `import { cachePackages } from ${JSON.stringify(codeCache)};\nimport { createRequire } from 'node:module';\ncachePackages(${JSON.stringify(dir)});\nconst m = createRequire(import.meta.url)(${JSON.stringify(file)});\nconsole.log(JSON.stringify([m.twice(21), m.where, m.req]));\n`,
      );
      const run = () => {
        const r = spawnSync(process.execPath, [runner], { encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
        return JSON.parse(r.stdout);
      };
      const expected = [42, file, 'function'];
      assert.deepEqual(run(), expected);
      const cache = readdirSync(dir).find((f) => f.startsWith('packages-'));
      assert.ok(cache, 'a packages cache is made at exit');
      const made = readFileSync(join(dir, cache));
      assert.deepEqual(run(), expected);
      assert.deepEqual(readFileSync(join(dir, cache)), made, 'a run that compiled nothing new leaves it');
      corrupt(join(dir, cache));
      assert.deepEqual(run(), expected);
      assert.ok(whole(join(dir, cache)), 'remade whole');
      // A changed file of the same length (V8 would take the old cache for it: it checks a source's length) is
      // compiled anew, by its new mtime.
      writeFileSync(file, `module.exports = { twice: (x) => 3 * x, where: __filename, req: typeof require.resolve };\n`);
      assert.deepEqual(run(), [63, file, 'function']);
      assert.deepEqual(run(), [63, file, 'function']);
    } finally {
      rmSync(pkg, { recursive: true, force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const bin = join(root, 'bin', 'reprobe.mjs');

/** A --require hook listing, at exit, each CommonJS file the process loaded (a fixed path: it is in the caches' key). */
const hook = join(root, 'node_modules', '.cache', 'code-cache-test-hook.cjs');

/** The CLI's run of `args`, with what it printed and the CommonJS files it required. */
function cli(args: string[], env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(root, 'node_modules', '.cache', 'code-cache-cli-'));
  const report = join(dir, 'required.json');
  try {
    const r = spawnSync(process.execPath, ['--require', hook, bin, ...args], { encoding: 'utf8', env: { ...process.env, ...env, CODE_CACHE_TEST_REPORT: report } });
    const required: string[] = existsSync(report) ? JSON.parse(readFileSync(report, 'utf8')) : [];
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, required };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const HEAVY = /node_modules\/(@tensorflow\/tfjs|sharp|onnxruntime-node)\//;

test('the CLI starts without tfjs, sharp or onnxruntime-node, and prints the same as through tsx with its caches fresh, made or corrupt', async () => {
  mkdirSync(join(root, 'node_modules', '.cache'), { recursive: true });
  replace(hook, Buffer.from(`process.on('exit', () => require('node:fs').writeFileSync(process.env.CODE_CACHE_TEST_REPORT, JSON.stringify(Object.keys(require.cache))));\n`));
  const plain = cli(['--help'], { REPROBE_NO_BUNDLE: '1' });
  assert.equal(plain.status, 0, plain.stderr);
  // A start that builds the bundle loads the packages once to see their exports (bin/bundle.mjs): the start looked at is a later one.
  assert.equal(cli(['--version']).status, 0);
  const bundled = cli(['--help']);
  assert.equal(bundled.status, 0, bundled.stderr);
  assert.equal(bundled.stdout, plain.stdout);
  assert.deepEqual(bundled.required.filter((f) => HEAVY.test(f)), [], 'none of them loaded');
  // An argument error too: one line, exit 2, nothing heavy.
  const bad = cli(['probe', '--shots', '-1']);
  assert.equal(bad.status, 2);
  assert.deepEqual(bad.required.filter((f) => HEAVY.test(f)), []);
  // The caches of these starts (their flags: --require hook) corrupt: the same output, and they are remade whole.
  const { nodeKey } = await import('../../bin/code-cache.mjs');
  const cacheDir = join(root, 'node_modules', '.cache', 'reprobe');
  const mine = readdirSync(cacheDir).filter((f) => f.endsWith(`-${nodeKey(['--require', hook], process.env.NODE_OPTIONS)}.v8cache`));
  // The packages' cache and the bundle's (and those of older bundles, which go after a day).
  assert.ok(mine.some((f) => f.startsWith('packages-')) && mine.some((f) => f.startsWith('src-cli-main-')), mine.join(', '));
  for (const f of mine) corrupt(join(cacheDir, f));
  const again = cli(['--help']);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(again.stdout, plain.stdout);
  // Remade: the packages' cache and the current bundle's (an older bundle's is not read, nor remade).
  const remade = mine.filter((f) => whole(join(cacheDir, f)));
  assert.ok(remade.some((f) => f.startsWith('packages-')) && remade.some((f) => f.startsWith('src-cli-main-')), remade.join(', '));
});
