import assert from 'node:assert/strict';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import * as tar from 'tar';
import yazl from 'yazl';
import { pullDataset } from '../../src/data/pull.ts';
import { datasetEntry, loadDataset } from '../../src/data/registry.ts';
import { tempDir } from '../helpers.ts';

/** A static file server with Range support that can cut the first download short. */
const files = new Map<string, Buffer>();
let cutNext = 0;
const ranges: (string | undefined)[] = [];
const server = createServer((req, res) => {
  const body = files.get(decodeURIComponent((req.url ?? '').slice(1)));
  if (!body) return void res.writeHead(404).end();
  ranges.push(req.headers.range);
  const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
  const part = body.subarray(start);
  res.writeHead(start ? 206 : 200, { 'content-length': String(part.length) });
  if (cutNext > 0) {
    const n = cutNext;
    cutNext = 0;
    return void res.write(part.subarray(0, n), () => res.socket?.end());
  }
  res.end(part);
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
process.env.REPROBE_DATASETS_MIRROR = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
after(() => new Promise<void>((r) => server.close(() => r())));

async function jpeg(path: string, shade: number): Promise<void> {
  mkdirSync(join(path, '..'), { recursive: true });
  await sharp({ create: { width: 20, height: 20, channels: 3, background: { r: shade, g: 100, b: 255 - shade } } }).jpeg().toFile(path);
}

test('datasets pull: a tar.gz (DTD) downloads, resumes after a cut, unpacks where the loader looks, and a rerun does nothing', async () => {
  const src = tempDir();
  const lines: string[] = [];
  for (const cls of ['banded', 'dotted'])
    for (let i = 0; i < 3; i++) {
      await jpeg(join(src, 'dtd', 'images', cls, `${cls}_000${i}.jpg`), 60 * i + (cls === 'banded' ? 0 : 30));
      if (i < 2) lines.push(`${cls}/${cls}_000${i}.jpg`);
    }
  mkdirSync(join(src, 'dtd', 'labels'), { recursive: true });
  writeFileSync(join(src, 'dtd', 'labels', 'train1.txt'), lines.slice(0, 2).join('\n') + '\n');
  writeFileSync(join(src, 'dtd', 'labels', 'val1.txt'), lines.slice(2).join('\n') + '\n');
  const archive = join(tempDir(), 'dtd.tar.gz');
  await tar.c({ gzip: true, file: archive, cwd: src }, ['dtd']);
  files.set('dtd-r1.0.1.tar.gz', readFileSync(archive));
  const root = tempDir();
  cutNext = 500;
  ranges.length = 0;
  const fetched = await pullDataset(datasetEntry('dtd').entry, root);
  assert.deepEqual(fetched, ['dtd-r1.0.1.tar.gz']);
  assert.deepEqual(ranges, [undefined, 'bytes=500-']);
  const ds = await loadDataset('dtd', root);
  assert.deepEqual([ds.classes, ds.samples.length, ds.pools!.pool.length], [['banded', 'dotted'], 6, 4]);
  assert.ok(!existsSync(join(root, '.downloads', 'dtd-r1.0.1.tar.gz')), 'the archive is removed once unpacked');
  assert.deepEqual(await pullDataset(datasetEntry('dtd').entry, root), []);
});

test('datasets pull: a zip (UC Merced) unpacks into its own folder', async () => {
  const src = tempDir();
  const zip = new yazl.ZipFile();
  for (const cls of ['beach', 'forest'])
    for (let i = 0; i < 5; i++) {
      const p = join(src, `${cls}${i}.jpg`);
      await jpeg(p, cls === 'beach' ? 200 - i : 20 + i);
      zip.addFile(p, `UCMerced_LandUse/Images/${cls}/${cls}0${i}.jpg`);
    }
  zip.end();
  const zipPath = join(src, 'ucm.zip');
  await new Promise<void>((r) => zip.outputStream.pipe(createWriteStream(zipPath)).on('close', () => r()));
  files.set('UCMerced_LandUse.zip', readFileSync(zipPath));
  const root = tempDir();
  await pullDataset(datasetEntry('ucmerced').entry, root);
  const ds = await loadDataset('ucmerced', root);
  assert.deepEqual([ds.classes, ds.samples.length, ds.pools!.pool.length], [['beach', 'forest'], 10, 6]);
});

test('datasets pull: an archive plus plain files (Flowers102 jpg/ + .mat files) land in one folder', async () => {
  const src = tempDir();
  for (let i = 1; i <= 30; i++) await jpeg(join(src, 'jpg', `image_${String(i).padStart(5, '0')}.jpg`), i * 8);
  const archive = join(tempDir(), 'f.tgz');
  await tar.c({ gzip: true, file: archive, cwd: src }, ['jpg']);
  files.set('102flowers.tgz', readFileSync(archive));
  const mats = join(import.meta.dirname, '..', 'fixtures', 'mat');
  for (const f of ['imagelabels.mat', 'setid.mat']) files.set(f, readFileSync(join(mats, f)));
  const root = tempDir();
  assert.deepEqual(await pullDataset(datasetEntry('flowers102').entry, root), ['102flowers.tgz', 'imagelabels.mat', 'setid.mat']);
  const ds = await loadDataset('flowers102', root);
  assert.deepEqual([ds.samples.length, ds.pools!.pool.length], [30, 12]);
});

test('datasets pull: a dataset without a direct download says where to get it', async () => {
  await assert.rejects(pullDataset(datasetEntry('isic').entry, tempDir()), /isic has no direct download; get it from https:\/\/api\.isic-archive\.com/);
});
