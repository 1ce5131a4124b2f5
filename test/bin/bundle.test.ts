/**
 * bin/bundle.mjs, which the CLI and npm test's files run from: a bundle is rebuilt when any file it was built from
 * changes, each bundled file keeps its own import.meta while the same words in a string stay as written, and the CLI
 * prints the same from the bundle as through tsx.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { bundle } from '../../bin/bundle.mjs';
import { removeEntriesAndBundles } from '../helpers.ts';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'reprobe.mjs');

/** stdout of a plain node run of the file. */
const output = (file: string) => spawnSync(process.execPath, [file], { encoding: 'utf8' }).stdout;

test('a bundle is rebuilt when a module it imports changes, each module keeps its own folder in import.meta, and strings holding those words are untouched', async () => {
  // Entries must lie in the checkout (their bare imports resolve from it); node_modules/.cache is ignored by git.
  mkdirSync(join(root, 'node_modules', '.cache'), { recursive: true });
  const dir = mkdtempSync(join(root, 'node_modules', '.cache', 'bundle-test-'));
  try {
    mkdirSync(join(dir, 'sub'));
    const entry = join(dir, 'entry.ts');
    // This file runs bundled too: the words in these strings must reach the files as written.
    const here = 'import.meta.dirname';
    // A plain .js module beside the .ts ones gets its own import.meta too.
    writeFileSync(entry, `import { where, word } from './sub/dep.ts';\nimport { plain } from './sub/plain.js';\nconsole.log(JSON.stringify([word, where, ${here}, 'import.meta.url', "import.meta.filename", plain]));\n`);
    writeFileSync(join(dir, 'sub', 'plain.js'), `export const plain = ${here};\n`);
    const dep = (word: string) => `export const word: string = '${word}';\nexport const where = ${here};\n`;
    writeFileSync(join(dir, 'sub', 'dep.ts'), dep('first'));
    const first = await bundle(entry);
    assert.deepEqual(JSON.parse(output(first)), ['first', join(dir, 'sub'), dir, 'import.meta.url', 'import.meta.filename', join(dir, 'sub')]);
    assert.equal(await bundle(entry), first, 'unchanged sources: the same bundle');
    writeFileSync(join(dir, 'sub', 'dep.ts'), dep('second'));
    const second = await bundle(entry);
    assert.notEqual(second, first);
    assert.equal(JSON.parse(output(second))[0], 'second');
  } finally {
    removeEntriesAndBundles(dir);
  }
});

test('a bundle whose inputs keep their size and mtime is not rebuilt; a change of the same size with a new mtime is seen', async () => {
  mkdirSync(join(root, 'node_modules', '.cache'), { recursive: true });
  const dir = mkdtempSync(join(root, 'node_modules', '.cache', 'bundle-test-'));
  try {
    const entry = join(dir, 'entry.ts');
    const dep = join(dir, 'dep.ts');
    writeFileSync(entry, `import { word } from './dep.ts';\nconsole.log(word);\n`);
    // Older than bundle.mjs's 2 s, so that their size and mtime are recorded (a fresher file is always hashed).
    const past = (file: string, ago: number) => utimesSync(file, new Date(Date.now() - ago), new Date(Date.now() - ago));
    writeFileSync(dep, `export const word = 'aaaa';\n`);
    for (const f of [entry, dep]) past(f, 60_000);
    const first = await bundle(entry);
    assert.equal(output(first).trim(), 'aaaa');
    // Touched, same content: the same bundle.
    past(dep, 50_000);
    assert.equal(await bundle(entry), first);
    // The same size, other content, a new (old) mtime: rebuilt.
    writeFileSync(dep, `export const word = 'bbbb';\n`);
    past(dep, 40_000);
    const second = await bundle(entry);
    assert.notEqual(second, first);
    assert.equal(output(second).trim(), 'bbbb');
  } finally {
    removeEntriesAndBundles(dir);
  }
});

test('the CLI prints the same from its bundle as through tsx (REPROBE_NO_BUNDLE=1)', () => {
  const run = (env: Record<string, string>) =>
    ['--help', 'datasets list'].map((args) => spawnSync(process.execPath, [bin, ...args.split(' ')], { encoding: 'utf8', env: { ...process.env, ...env } }));
  const [bundled, plain] = [run({}), run({ REPROBE_NO_BUNDLE: '1' })];
  for (const [i, r] of bundled.entries()) {
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, plain[i].stdout);
    assert.ok(r.stdout.length > 100);
  }
});

test('the CLI ends quietly with status 0 when its reader closes the pipe early (reprobe models list | head -1), bundled and through tsx', async () => {
  for (const env of [{}, { REPROBE_NO_BUNDLE: '1' }]) {
    const child = spawn(process.execPath, [bin, 'models', 'list'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    // Closed before the CLI has started: every write it makes meets a closed pipe (EPIPE).
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const [code] = (await once(child, 'close')) as [number | null];
    assert.equal(stderr, '', JSON.stringify(env));
    assert.equal(code, 0, JSON.stringify(env));
  }
});
