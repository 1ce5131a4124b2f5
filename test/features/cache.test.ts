import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { tempDir } from '../helpers.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'reprobe.mjs');

/**
 * 4 classes x 20 small generated images, plus one corrupt file: 10 chunks of 8 (REPROBE_CHUNK_SIZE), so a kill after
 * three leaves seven to do, as 16-image chunks of 160 images did at half the extraction work.
 */
async function imageFolder(): Promise<string> {
  const root = tempDir();
  for (let c = 0; c < 4; c++) {
    mkdirSync(join(root, `c${c}`));
    for (let i = 0; i < 20; i++) {
      const px = Buffer.alloc(12 * 12 * 3);
      for (let p = 0; p < px.length; p++) px[p] = (p * (c + 1) * 7 + i * 13) % 256;
      await sharp(px, { raw: { width: 12, height: 12, channels: 3 } }).png().toFile(join(root, `c${c}`, `img${String(i).padStart(2, '0')}.png`));
    }
  }
  writeFileSync(join(root, 'c1', 'broken.jpg'), Buffer.from('not a jpeg at all'));
  return root;
}
const data = await imageFolder();
const env = (home: string) => ({ ...process.env, REPROBE_HOME: home, REPROBE_CHUNK_SIZE: '8' });
const args = ['extract', '-b', 'mobilenet-v2', '-d', `folder:${data}`, '--batch-size', '8', '--threads', '1'];
const finished = (home: string) => readdirSync(join(home, 'features')).filter((f) => f.endsWith('.npy'));

function run(home: string, extra: string[] = []) {
  const r = spawnSync(process.execPath, [bin, ...args, ...extra], { encoding: 'utf8', env: env(home) });
  assert.equal(r.status, 0, r.stderr);
  return r;
}

const reference = tempDir();
run(reference);
const refBytes = readFileSync(join(reference, 'features', finished(reference)[0]));

test('a finished extraction is reused; its sidecar lists ids, labels, classes and the skipped corrupt image', () => {
  const again = run(reference);
  assert.match(again.stdout, /80 x 576 features read from the cache/);
  const side = JSON.parse(readFileSync(join(reference, 'features', finished(reference)[0].replace('.npy', '.json')), 'utf8'));
  assert.equal(side.ids.length, 80);
  assert.deepEqual(side.classes, ['c0', 'c1', 'c2', 'c3']);
  assert.deepEqual(side.skipped.map((s: { id: string }) => s.id), ['c1/broken.jpg']);
  assert.equal(side.labels.filter((l: number) => l === 2).length, 20);
});

test('kill -9 during extraction, rerun: the same matrix bit for bit, and no partial file is read as complete', async () => {
  const home = tempDir();
  const child = spawn(process.execPath, [bin, ...args], { env: env(home), stdio: 'ignore' });
  const partial = () => (existsSync(join(home, 'features')) ? readdirSync(join(home, 'features')).find((f) => f.endsWith('.partial')) : undefined);
  // Wait for three whole chunks, then kill without warning.
  for (;;) {
    await new Promise((r) => setTimeout(r, 20));
    const p = partial();
    if (p && readdirSync(join(home, 'features', p)).filter((f) => f.endsWith('.json')).length >= 3) break;
  }
  child.kill('SIGKILL');
  await new Promise((r) => child.on('exit', r));
  assert.deepEqual(finished(home), [], 'nothing finished yet');
  const resumed = run(home);
  assert.match(resumed.stdout, /80 x 576 features extracted/);
  assert.deepEqual(readFileSync(join(home, 'features', finished(home)[0])), refBytes);
  assert.equal(partial(), undefined, 'the partial folder is gone');
});

test('two processes extracting the same key at once both finish, and the cache holds the right matrix', async () => {
  const home = tempDir();
  const both = await Promise.all(
    [0, 1].map(
      () =>
        new Promise<number>((resolve) => {
          const c = spawn(process.execPath, [bin, ...args], { env: env(home), stdio: 'ignore' });
          c.on('exit', (code) => resolve(code ?? 1));
        }),
    ),
  );
  assert.deepEqual(both, [0, 0]);
  assert.deepEqual(readFileSync(join(home, 'features', finished(home)[0])), refBytes);
});

test('an unwritable cache folder is one clear line; --no-cache still works; -o writes numpy files; cache clear empties it', () => {
  const file = join(tempDir(), 'a-file');
  writeFileSync(file, 'x');
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: env(join(file, 'home')) });
  assert.equal(r.status, 2);
  assert.equal(r.stderr.trim().split('\n').filter((l) => l.startsWith('reprobe:')).length, 1);
  assert.match(r.stderr, /Cannot write the feature cache in .* \(ENOTDIR[^)]*\)\. .* or pass --no-cache/);
  const out = join(tempDir(), 'feats');
  const noCache = spawnSync(process.execPath, [bin, ...args, '--no-cache', '-o', out], { encoding: 'utf8', env: env(join(file, 'home')) });
  assert.equal(noCache.status, 0, noCache.stderr);
  assert.deepEqual(readFileSync(`${out}.npy`).subarray(128), refBytes.subarray(128), 'same features as the cached run');
  const labels = readFileSync(`${out}.labels.npy`);
  assert.match(labels.subarray(0, 80).toString('latin1'), /'descr': '<i4'.*'shape': \(80,\)/);
  const cleared = spawnSync(process.execPath, [bin, 'cache', 'clear', '--all'], { encoding: 'utf8', env: env(reference) });
  assert.match(cleared.stdout, /removed 1 cache entry/);
  assert.deepEqual(finished(reference), []);
});
