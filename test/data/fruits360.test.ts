import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { loadDataset } from '../../src/data/registry.ts';
import { drawSplit, splitSource } from '../../src/data/split.ts';
import { DataError } from '../../src/errors.ts';
import { tempDir } from '../helpers.ts';

/** Training and Test images per class of the generated copy (folder names as the real dataset's; sorted: Apple Braeburn, Pear 2, Tomato 1). */
const CLASSES: Record<string, [number, number]> = { 'Pear 2': [10, 4], 'Apple Braeburn': [12, 5], 'Tomato 1': [10, 3] };

/** A 100x100 JPEG at root/rel, like the dataset's. */
async function jpeg(root: string, rel: string, shade: number): Promise<void> {
  const p = join(root, rel);
  mkdirSync(dirname(p), { recursive: true });
  await sharp({ create: { width: 100, height: 100, channels: 3, background: { r: shade, g: 255 - shade, b: 128 } } }).jpeg().toFile(p);
}

/** A Fruits-360-shaped folder: <root>/<top>/{Training,Test}/<class>/<n>_100.jpg (the same file names in both sets, as the real one has). */
async function fruits(top: string): Promise<string> {
  const root = tempDir();
  for (const [c, [train, test]] of Object.entries(CLASSES)) {
    for (let i = 0; i < train; i++) await jpeg(root, `${top}/Training/${c}/${i}_100.jpg`, i * 20);
    for (let i = 0; i < test; i++) await jpeg(root, `${top}/Test/${c}/${i}_100.jpg`, i * 20 + 5);
  }
  return root;
}

test('fruits360: Training and Test load as the official split, classes sorted, counts right, val held out of Training', async () => {
  const root = await fruits('fruits-360');
  const ds = await loadDataset('fruits360', root);
  assert.equal(ds.name, 'fruits360');
  assert.deepEqual(ds.classes, ['Apple Braeburn', 'Pear 2', 'Tomato 1']);
  assert.equal(ds.samples.length, 32 + 12);
  assert.equal(ds.rejected, undefined);
  assert.deepEqual(ds.official, { train: 'train', val: 'val', tests: { test: 'test' } });
  const pools = ds.pools!;
  const ids = (set: number[]) => set.map((i) => ds.samples[i].id);
  const perClass = (set: number[]) => ds.classes.map((_, c) => set.filter((i) => ds.samples[i].label === c).length);
  assert.ok([...ids(pools.train), ...ids(pools.val)].every((id) => id.startsWith('Training/')));
  assert.ok(ids(pools.test).every((id) => id.startsWith('Test/')));
  assert.deepEqual(perClass(pools.test), [5, 4, 3]);
  // 20 % of each class's Training images (rounded) are the validation set, the rest train.
  assert.deepEqual(perClass(pools.val), [2, 2, 2]);
  assert.deepEqual(perClass(pools.train), [10, 8, 8]);
  assert.equal(new Set([...pools.train, ...pools.val, ...pools.test]).size, ds.samples.length, 'the sets are disjoint and cover every image');
  // Labels follow the class folder: the same file name in Training and Test is two images of one class.
  const byId = new Map(ds.samples.map((s) => [s.id, s]));
  assert.equal(byId.get('Training/Pear 2/0_100.jpg')!.label, 1);
  assert.equal(byId.get('Test/Pear 2/0_100.jpg')!.label, 1);
  assert.match((byId.get('Test/Tomato 1/2_100.jpg')!.source as { path: string }).path, /fruits-360\/Test\/Tomato 1\/2_100\.jpg$/);
  // The held-out val is part of the dataset's definition: the same on every load.
  assert.deepEqual((await loadDataset('fruits360', root)).pools, pools);
});

test('fruits360: --shots draws train and val from Training only and scores all of Test', async () => {
  const ds = await loadDataset('fruits360', await fruits('fruits-360'));
  const src = splitSource(ds);
  const split = drawSplit(src, { protocol: 'shots', shots: 3, valPerClass: 2, seed: 7 });
  const from = (idx: number[]) => new Set(idx.map((i) => ds.samples[i].id.split('/')[0]));
  assert.deepEqual(from(split.train), new Set(['Training']));
  assert.deepEqual(from(split.val), new Set(['Training']));
  assert.deepEqual(Object.keys(split.tests), ['test']);
  assert.deepEqual([...split.tests.test].sort((a, b) => a - b), ds.pools!.test);
  assert.equal(split.train.length, 9);
  assert.equal(split.val.length, 6);
  const train = new Set(split.train);
  assert.ok(split.val.every((i) => !train.has(i)), 'train and val are disjoint');
  for (let c = 0; c < 3; c++) assert.equal(split.train.filter((i) => ds.samples[i].label === c).length, 3);
  // --test-per-class does not cut the official test set; another seed draws other training images.
  assert.equal(drawSplit(src, { protocol: 'shots', shots: 3, testPerClass: 1, seed: 7 }).tests.test.length, 12);
  assert.notDeepEqual(drawSplit(src, { protocol: 'shots', shots: 3, valPerClass: 2, seed: 8 }).train, split.train);
});

test('fruits360: a nested archive folder is found, a Test class without Training is rejected and listed, a missing copy is one line', async () => {
  const root = await fruits('fruits-360_dataset/fruits-360');
  await jpeg(root, 'fruits-360_dataset/fruits-360/Test/Kiwi/0_100.jpg', 50);
  const ds = await loadDataset('fruits360', root);
  assert.deepEqual(ds.classes, ['Apple Braeburn', 'Pear 2', 'Tomato 1']);
  assert.equal(ds.samples.length, 44);
  assert.deepEqual(ds.rejected, [{ id: 'Test/Kiwi/0_100.jpg', reason: 'class "Kiwi" has no Training folder' }]);

  const empty = tempDir();
  await assert.rejects(loadDataset('fruits360', empty), (e: unknown) => e instanceof DataError && /fruits360 not found under .*Training/.test(e.message) && !e.message.includes('\n'));
  mkdirSync(join(empty, 'fruits-360', 'Training'), { recursive: true });
  await assert.rejects(loadDataset('fruits360', empty), (e: unknown) => e instanceof DataError && /no Training\/ and Test\/ folders/.test(e.message));
});

test('datasets info fruits360 describes the layout it expects when the data is missing', () => {
  const bin = join(import.meta.dirname, '..', '..', 'bin', 'reprobe.mjs');
  const r = spawnSync(process.execPath, [bin, 'datasets', 'info', 'fruits360', '--data-root', tempDir()], { encoding: 'utf8', env: { ...process.env, REPROBE_HOME: tempDir() } });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stdout, /layout: <data-root>\/fruits-360\/Training\/<class>\/\*\.jpg and fruits-360\/Test\/<class>\/\*\.jpg/);
  assert.match(r.stdout, /not loaded: fruits360 not found under/);
});
