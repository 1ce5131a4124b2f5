import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { tempDir, unprivileged } from '../helpers.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'reprobe.mjs');
const home = tempDir();

function reprobe(args: string[], opt: { home?: string; extra?: SpawnSyncOptions } = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, REPROBE_HOME: opt.home ?? home, HOME: tempDir() }, ...opt.extra });
  return { code: r.status, out: String(r.stdout), err: String(r.stderr) };
}

/** Exit 2 and one `reprobe:` line, the last, matching `re`, with no native library internals. */
function oneLine(r: { code: number | null; err: string }, re: RegExp) {
  assert.equal(r.code, 2, r.err);
  const lines = r.err.trim().split('\n');
  assert.equal(lines.filter((l) => l.startsWith('reprobe:')).length, 1, r.err);
  assert.match(lines.at(-1)!, re);
  assert.doesNotMatch(r.err, /onnxruntime::|\.cc:\d+|internal error/);
}

/** 3 classes x 4 readable images, plus `broken` unreadable files per class (named first, so the first draw picks them). */
async function folder(broken: number): Promise<string> {
  const root = tempDir();
  for (const [c, cls] of ['c0', 'c1', 'c2'].entries()) {
    mkdirSync(join(root, cls));
    for (let i = 0; i < broken; i++) writeFileSync(join(root, cls, `a-broken-${i}.png`), 'not an image');
    for (let i = 0; i < 4; i++) {
      const shade = 30 + c * 80 + i * 9;
      await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: shade, g: 255 - shade, b: 60 } } }).png().toFile(join(root, cls, `img${i}.png`));
    }
  }
  return root;
}
const clean = await folder(0);

test('unreadable images drawn for train are never trained on: the split is drawn again from readable images', async () => {
  const data = await folder(8);
  const results = tempDir();
  const r = reprobe(['probe', '-d', `folder:${data}`, '--shots', '2', '--val-per-class', '1', '--results-dir', results, '--probe', 'knn']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /skipped 24 unreadable image/);
  assert.match(r.err, /24 unreadable image\(s\) had been drawn for train or val; split drawn again without them: train\/val\/test 6\/3\/3/);
  const [rec] = readFileSync(join(results, 'probe.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual([rec.n_train, rec.n_val, rec.n_test, rec.skipped_images], [6, 3, 3, 24]);
  assert.equal(rec.features_from_cache, false, 'extracted in this run (the redraw reads nothing twice)');
  const split = JSON.parse(readFileSync(rec.split_file, 'utf8'));
  const used = [...split.train, ...split.val, ...split.tests.test];
  assert.ok(used.every((id: string) => !id.includes('broken')), 'no unreadable image in the split');
  assert.equal(split.unreadable.length, 24);
});

test('a repeated backbone or probe runs once; every record has a run id, and a rerun has a new one with the same cell ids', () => {
  const results = tempDir();
  const args = ['probe', '-b', 'mobilenet-v2,mobilenet-v2', '-d', `folder:${clean}`, '--shots', '2', '--val-per-class', '1', '--probe', 'knn,knn,lr', '--results-dir', results];
  assert.equal(reprobe(args).code, 0);
  assert.equal(reprobe(args).code, 0);
  const recs = readFileSync(join(results, 'probe.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(recs.map((x) => x.method), ['knn', 'lr', 'knn', 'lr']);
  assert.equal(recs[0].run_id, recs[1].run_id);
  assert.notEqual(recs[0].run_id, recs[2].run_id);
  assert.deepEqual([recs[2].cell_id, recs[3].cell_id], [recs[0].cell_id, recs[1].cell_id]);
  assert.notEqual(recs[0].cell_id, recs[1].cell_id);
});

test('bad seeds, a --card for a named backbone and a results folder that is a file: one line each, before any work', () => {
  oneLine(reprobe(['probe', '--seed', '4294967296']), /Invalid --seed: .*4294967295/);
  oneLine(reprobe(['probe', '--seed', '-1']), /Invalid --seed/);
  const card = join(tempDir(), 'card.json');
  writeFileSync(card, JSON.stringify({ input: { height: 224, width: 224 }, output: { name: 'output' } }));
  oneLine(reprobe(['probe', '-b', 'mobilenet-v2', '--card', card]), /--card describes a model file .* mobilenet-v2 is a named backbone/);
  const file = join(tempDir(), 'results');
  writeFileSync(file, 'x');
  oneLine(reprobe(['probe', '-d', `folder:${clean}`, '--shots', '2', '--results-dir', file]), /Cannot write results in .*results \((ENOTDIR|EEXIST)[:)]/);
});

test('cards: mean/std on the 0-255 scale, values that overflow, a 0-byte model and a folder as the model are one line each', () => {
  const dir = tempDir();
  const model = join(dir, 'model.onnx');
  writeFileSync(model, Buffer.from([8, 7, 18, 4]));
  const card = (pre: object) => {
    const p = join(dir, `card-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(p, JSON.stringify({ input: { height: 224, width: 224 }, preprocess: pre, output: { name: 'output' } }));
    return p;
  };
  oneLine(reprobe(['probe', '-b', model, '--card', card({ mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375] })]), /"preprocess.mean" .* larger scale than the pixels .* divide them by 255, or set scale: 1/);
  oneLine(reprobe(['probe', '-b', model, '--card', card({ std: [1e-320, 1, 1] })]), /"preprocess.std" .* must keep inputs finite/);
  const empty = join(dir, 'empty.onnx');
  writeFileSync(empty, '');
  oneLine(reprobe(['probe', '-b', empty, '--card', card({})]), /empty\.onnx" is empty \(0 bytes\)/);
  mkdirSync(join(dir, 'folder.onnx'));
  oneLine(reprobe(['probe', '-b', join(dir, 'folder.onnx'), '--card', card({})]), /is a folder; give the path of an \.onnx file/);
  oneLine(reprobe(['probe', '-b', model, '--card', card({}), '-d', `folder:${clean}`, '--shots', '2']), /onnxruntime cannot load .*model\.onnx/);
});

test('one line each: a bad command choice, cache list with keys, a dataset pull while offline', () => {
  oneLine(reprobe(['cache', 'bogus']), /Invalid values: Argument: action, Given: "bogus"/);
  oneLine(reprobe(['cache', 'list', 'abc']), /takes no keys/);
  const r = spawnSync(process.execPath, [bin, 'datasets', 'pull', 'dtd', '--data-root', tempDir()], { encoding: 'utf8', env: { ...process.env, REPROBE_OFFLINE: '1' } });
  oneLine({ code: r.status, err: r.stderr }, /offline mode is on/);
});

test('extract -o makes its folder; a dataset with no readable image is one line, not an empty matrix', async () => {
  const out = join(tempDir(), 'new', 'nested', 'feats');
  const ok = reprobe(['extract', '-b', 'mobilenet-v2', '-d', `folder:${clean}`, '-o', out]);
  assert.equal(ok.code, 0, ok.err);
  assert.equal(readFileSync(`${out}.npy`).length, 128 + 12 * 576 * 4);
  const junk = tempDir();
  for (const c of ['a', 'b']) {
    mkdirSync(join(junk, c));
    writeFileSync(join(junk, c, 'x.png'), 'text');
  }
  oneLine(reprobe(['extract', '-b', 'mobilenet-v2', '-d', `folder:${junk}`]), /None of the 2 images could be read \(first: a\/x\.png/);
});

test('extract -o onto a folder is one line', () => {
  const out = join(tempDir(), 'feats.npy');
  mkdirSync(out);
  oneLine(reprobe(['extract', '-b', 'mobilenet-v2', '-d', `folder:${clean}`, '-o', out]), /-o .*feats\.npy is a folder; -o names the files/);
});

const asUser = unprivileged();
test('without permission: an unreadable class folder and an unwritable results folder are one line; a read-only cache still serves', { skip: asUser ? false : 'cannot run reprobe as an unprivileged user here' }, async () => {
  const extra = { ...asUser };
  const data = await folder(0);
  const cache = tempDir();
  const args = ['probe', '-d', `folder:${data}`, '--shots', '2', '--val-per-class', '1', '--probe', 'knn'];
  // Fill the cache (as this user), then make it read-only: the entries it holds are served.
  chmodSync(cache, 0o777);
  assert.equal(reprobe([...args, '--results-dir', tempDir()], { home: cache }).code, 0);
  chmodSync(cache, 0o555);
  chmodSync(join(cache, 'features'), 0o555);
  chmodSync(join(cache, 'onnx'), 0o555);
  const writable = tempDir();
  chmodSync(writable, 0o777);
  const served = reprobe([...args, '--results-dir', writable], { home: cache, extra });
  assert.equal(served.code, 0, served.err);
  assert.match(served.err, /features from the cache/);
  const locked = tempDir();
  chmodSync(locked, 0o555);
  oneLine(reprobe([...args, '--results-dir', join(locked, 'out')], { home: cache, extra }), /Cannot write results in .* \(EACCES: permission denied\)/);
  chmodSync(join(data, 'c1'), 0o000);
  oneLine(reprobe([...args, '--results-dir', writable], { home: cache, extra }), /Cannot read the folder ".*c1" \(EACCES: permission denied\)/);
  chmodSync(join(data, 'c1'), 0o755);
});
