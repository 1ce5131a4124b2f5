import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { loadFolder } from '../../src/data/folder.ts';
import { loadDataset } from '../../src/data/registry.ts';
import { DataError } from '../../src/errors.ts';
import { tempDir } from '../helpers.ts';

async function png(path: string, shade: number): Promise<void> {
  mkdirSync(join(path, '..'), { recursive: true });
  await sharp({ create: { width: 4, height: 4, channels: 3, background: { r: shade, g: shade, b: shade } } }).png().toFile(path);
}

test('csv: a repeated row, one image under two labels, and rows without a label are rejected and listed, never split', async () => {
  const root = tempDir();
  for (const [i, f] of ['a', 'b', 'c', 'd', 'e'].entries()) await png(join(root, 'imgs', `${f}.png`), i * 40);
  const rows = [
    'path,label',
    'imgs/a.png,cat',
    'imgs/a.png,cat', // the same row twice
    './imgs/a.png,cat', // the same image spelled another way
    'imgs/b.png,dog',
    'imgs/c.png,cat',
    'imgs/../imgs/c.png,dog', // c under two labels
    'imgs/d.png,', // empty label
    'imgs/e.png', // no label column at all
  ];
  writeFileSync(join(root, 'list.csv'), rows.join('\n') + '\n');
  const ds = await loadDataset(`csv:${join(root, 'list.csv')}`);
  assert.deepEqual(ds.samples.map((s) => s.id), ['imgs/a.png', 'imgs/b.png']);
  assert.deepEqual(ds.classes, ['cat', 'dog'], 'no class named "", "undefined" or "null"');
  const why = Object.fromEntries((ds.rejected ?? []).map((r) => [r.id, r.reason]));
  assert.match(why['./imgs/a.png'], /listed twice \(same image as imgs\/a\.png\)/);
  assert.match(why['imgs/c.png'], /under 2 labels \(cat, dog\)/);
  assert.match(why['imgs/../imgs/c.png'], /under 2 labels/);
  assert.match(why['imgs/d.png'], /no label/);
  assert.match(why['imgs/e.png'], /no label/);
  assert.equal(ds.rejected!.filter((r) => r.id === 'imgs/a.png').length, 1, 'the exact repeat is listed once');
});

test('folders: symlinked class folders are followed, a link loop ends, a non-UTF-8 file name is rejected and listed', async () => {
  const store = tempDir();
  await png(join(store, 'cats', '1.png'), 10);
  await png(join(store, 'cats', '2.png'), 20);
  await png(join(store, 'dogs', '1.png'), 200);
  const root = tempDir();
  symlinkSync(join(store, 'cats'), join(root, 'cat'));
  symlinkSync(join(store, 'dogs'), join(root, 'dog'));
  symlinkSync(join(store, 'dogs'), join(store, 'dogs', 'again')); // a loop inside a class
  writeFileSync(Buffer.concat([Buffer.from(join(store, 'dogs') + '/'), Buffer.from([0x66, 0xff, 0x2e, 0x70, 0x6e, 0x67])]), 'x');
  const ds = await loadFolder(root);
  assert.deepEqual(ds.classes, ['cat', 'dog']);
  assert.deepEqual(ds.samples.map((s) => s.id), ['cat/1.png', 'cat/2.png', 'dog/1.png']);
  assert.equal(ds.rejected?.length, 1);
  assert.match(ds.rejected![0].reason, /not valid UTF-8/);
});

test('two class folders leading to one folder would give its images two labels: one clear error', async () => {
  const store = tempDir();
  await png(join(store, 'pics', '1.png'), 10);
  const root = tempDir();
  symlinkSync(join(store, 'pics'), join(root, 'cat'));
  symlinkSync(join(store, 'pics'), join(root, 'dog'));
  await assert.rejects(loadFolder(root), (e: unknown) => e instanceof DataError && /Classes "cat" and "dog" both lead to the folder/.test(e.message));
});

test('an image linked into another class is rejected (two labels); one linked twice into its own class counts once', async () => {
  const root = tempDir();
  await png(join(root, 'cat', '1.png'), 10);
  await png(join(root, 'cat', '2.png'), 20);
  await png(join(root, 'dog', '1.png'), 200);
  await png(join(root, 'dog', '2.png'), 220);
  symlinkSync(join(root, 'cat', '1.png'), join(root, 'dog', 'also-a-cat.png'));
  symlinkSync(join(root, 'dog', '2.png'), join(root, 'dog', 'again.png'));
  const ds = await loadFolder(root);
  assert.deepEqual(ds.samples.map((s) => s.id), ['cat/2.png', 'dog/1.png', 'dog/2.png']);
  const why = Object.fromEntries((ds.rejected ?? []).map((r) => [r.id, r.reason]));
  assert.match(why['cat/1.png'], /under classes cat and dog/);
  assert.match(why['dog/also-a-cat.png'], /under classes cat and dog/);
  assert.match(why['dog/again.png'], /listed twice \(same image as dog\/2\.png, through a link\)/);
});

test('a class folder whose name is not UTF-8 is one clear error naming it', async () => {
  const root = tempDir();
  await png(join(root, 'ok', '1.png'), 10);
  mkdirSync(Buffer.concat([Buffer.from(root + '/'), Buffer.from([0x63, 0xe9, 0x74])]));
  await assert.rejects(loadFolder(root), (e: unknown) => e instanceof DataError && /Class folder "c\uFFFDt" .* not valid UTF-8; rename it/.test(e.message));
});
