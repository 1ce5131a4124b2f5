import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import type { Backbone } from '../../src/backbones/types.ts';
import { fileDigest } from '../../src/backbones/weights-digest.ts';
import { crossLabelCopies, crossLabelNearCopies, datasetDigest, fileDigests, splitLeaks } from '../../src/data/content-digest.ts';
import { loadDataset } from '../../src/data/registry.ts';
import { featureKey } from '../../src/features/cache-key.ts';
import { seeded } from '../../src/util/rng.ts';
import { tempDir } from '../helpers.ts';

process.env.REPROBE_HOME = tempDir();

async function png(path: string, shade: number): Promise<void> {
  mkdirSync(join(path, '..'), { recursive: true });
  await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: shade, g: 255 - shade, b: 60 } } }).png().toFile(path);
}

async function folder(): Promise<string> {
  const root = tempDir();
  for (const cls of ['a', 'b']) for (let i = 0; i < 3; i++) await png(join(root, cls, `${i}.png`), cls === 'a' ? 20 + i : 200 + i);
  return root;
}

/** featureKey reads only these fields of a backbone. */
const bb = { card: { id: 'x' }, tap: 'out', runtime: 'test', weights: 'w' } as unknown as Backbone;

test('file digests are sha256 of the bytes (node:crypto on the file, independently), kept and reused per file', async () => {
  const root = await folder();
  const paths = [join(root, 'a', '0.png'), join(root, 'b', '2.png'), join(root, 'missing.png')];
  const got = await fileDigests(paths);
  assert.deepEqual(got.slice(0, 2), paths.slice(0, 2).map((p) => createHash('sha256').update(readFileSync(p)).digest('hex')));
  assert.equal(got[2], 'error:ENOENT');
  assert.deepEqual(await fileDigests(paths), got);
});

test('an image replaced in place by another of the same size, its mtime restored, gets another feature key and dataset digest', async () => {
  const root = await folder();
  const target = join(root, 'a', '1.png');
  // Whole seconds, which utimes sets back exactly.
  utimesSync(target, 1_700_000_000, 1_700_000_000);
  const ds = await loadDataset(`folder:${root}`);
  const [key, digest] = [await featureKey(bb, ds.samples), await datasetDigest(ds)];
  const before = statSync(target);
  // Another image of exactly the same byte count: b/1.png differs only in its colour.
  const other = readFileSync(join(root, 'b', '1.png'));
  assert.equal(other.length, before.size);
  assert.notDeepEqual(other, readFileSync(target));
  writeFileSync(target, other);
  utimesSync(target, 1_700_000_000, 1_700_000_000);
  assert.deepEqual([statSync(target).size, statSync(target).mtimeMs], [before.size, before.mtimeMs], 'size and mtime as before');
  const again = await loadDataset(`folder:${root}`);
  assert.notEqual(await featureKey(bb, again.samples), key);
  assert.notEqual(await datasetDigest(again), digest);
});

test('the same images in another folder have the same digest and feature key; another class layout does not', async () => {
  const root = await folder();
  const copy = join(tempDir(), 'copy');
  cpSync(root, copy, { recursive: true });
  const [a, b] = [await loadDataset(`folder:${root}`), await loadDataset(`folder:${copy}`)];
  assert.equal(await datasetDigest(a), await datasetDigest(b));
  assert.equal(await featureKey(bb, a.samples), await featureKey(bb, b.samples));
  const moved = join(tempDir(), 'moved');
  cpSync(root, moved, { recursive: true });
  cpSync(join(moved, 'a', '0.png'), join(moved, 'b', '9.png'));
  assert.notEqual(await datasetDigest(await loadDataset(`folder:${moved}`)), await datasetDigest(a));
});

test('a model file replaced in place, its size and mtime restored, gets the new weights digest', async () => {
  const path = join(tempDir(), 'model.onnx');
  const [a, b] = [Buffer.alloc(64, 1), Buffer.alloc(64, 2)];
  writeFileSync(path, a);
  utimesSync(path, 1_700_000_000, 1_700_000_000);
  assert.equal(await fileDigest(path), createHash('sha256').update(a).digest('hex'));
  writeFileSync(path, b);
  utimesSync(path, 1_700_000_000, 1_700_000_000);
  assert.equal(await fileDigest(path), createHash('sha256').update(b).digest('hex'));
});

test('an image copied (not linked) into another class is found by its bytes; copies within one class are not', async () => {
  const root = await folder();
  cpSync(join(root, 'a', '1.png'), join(root, 'b', 'copy.png')); // a's image under b
  cpSync(join(root, 'b', '0.png'), join(root, 'b', 'same.png')); // a duplicate, same class
  const ds = await loadDataset(`folder:${root}`);
  assert.deepEqual(await crossLabelCopies(ds), [['a/1.png', 'b/copy.png']]);
});

test('the same pixels saved again (another PNG compression, lossless WebP, stripped metadata) under another class are found; a split with copies on both sides is named', async () => {
  const root = await folder();
  const a1 = readFileSync(join(root, 'a', '1.png'));
  // Other bytes, same pixels: PNG at another compression level with text metadata, and lossless WebP (sharp decodes both back to a1's pixels).
  await sharp(a1).png({ compressionLevel: 0 }).withMetadata({ exif: { IFD0: { Copyright: 'x' } } }).toFile(join(root, 'b', 'resaved.png'));
  await sharp(a1).webp({ lossless: true }).toFile(join(root, 'b', 'lossless.webp'));
  assert.notDeepEqual(readFileSync(join(root, 'b', 'resaved.png')), a1);
  const raw = async (p: string) => (await sharp(p).removeAlpha().raw().toBuffer()).toString('hex');
  assert.equal(await raw(join(root, 'b', 'lossless.webp')), await raw(join(root, 'a', '1.png')), 'sharp reads the same pixels back');
  // Within a class: b/0 saved again as b/zz.png; a different picture is no copy.
  await sharp(readFileSync(join(root, 'b', '0.png'))).png({ compressionLevel: 1 }).toFile(join(root, 'b', 'zz.png'));
  // Two empty files (skipped as unreadable by every run) are no copies of each other.
  writeFileSync(join(root, 'a', 'empty.png'), '');
  writeFileSync(join(root, 'b', 'empty.png'), '');
  const ds = await loadDataset(`folder:${root}`);
  assert.deepEqual((await crossLabelCopies(ds)).sort(), [['a/1.png', 'b/lossless.webp'], ['a/1.png', 'b/resaved.png']]);
  const at = (id: string) => ds.samples.findIndex((s) => s.id === id);
  // b/0 in train, its copy b/zz in test: a leak; with both in test (or the copy not drawn), none.
  assert.deepEqual(await splitLeaks(ds, { train: [at('b/0.png'), at('a/0.png')], val: [], tests: { test: [at('b/zz.png'), at('a/2.png')] } }), [['b/0.png', 'b/zz.png']]);
  assert.deepEqual(await splitLeaks(ds, { train: [at('a/0.png')], val: [], tests: { test: [at('b/zz.png'), at('b/0.png')] } }), []);
});

test("a dataset's digest reads bytes only; the pixels are decoded when a copy check asks, kept beside them, and the digest stays", async () => {
  const root = await folder();
  const stored = () =>
    readdirSync(join(process.env.REPROBE_HOME!, 'digests'))
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(readFileSync(join(process.env.REPROBE_HOME!, 'digests', f), 'utf8')) as { dir: string; files: Record<string, unknown[]> })
      .filter((d) => d.dir.startsWith(root))
      .flatMap((d) => Object.values(d.files));
  const ds = await loadDataset(`folder:${root}`);
  const digest = await datasetDigest(ds);
  assert.equal(stored().length, 6);
  assert.ok(stored().every((e) => e.length === 5), 'no pixel digest computed for the identity');
  assert.deepEqual(await crossLabelCopies(ds), []);
  assert.ok(stored().every((e) => e.length === 7 && typeof e[5] === 'string' && typeof e[6] === 'string'), 'pixel digests and thumbnails kept after a copy check');
  assert.equal(await datasetDigest(await loadDataset(`folder:${root}`)), digest);
});

/** A 64x64 picture with structure at several scales, from a seed (our own generator: sharp's noise has no seed). */
async function picture(seed: number): Promise<ReturnType<typeof sharp>> {
  const rng = seeded(seed);
  const coarse = Array.from({ length: 8 * 8 * 3 }, () => rng() * 255);
  const data = Buffer.alloc(64 * 64 * 3);
  for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) for (let c = 0; c < 3; c++) data[(y * 64 + x) * 3 + c] = Math.max(0, Math.min(255, coarse[((y >> 3) * 8 + (x >> 3)) * 3 + c] + (rng() - 0.5) * 60));
  return sharp(data, { raw: { width: 64, height: 64, channels: 3 } });
}

test('a picture saved again with loss (PNG to JPEG q90, lossy WebP) under another class is a near copy; distinct pictures and one class are not', async () => {
  const root = tempDir();
  for (const c of ['a', 'b']) mkdirSync(join(root, c));
  await (await picture(1)).png().toFile(join(root, 'a', 'pic.png'));
  const png1 = readFileSync(join(root, 'a', 'pic.png'));
  await sharp(png1).jpeg({ quality: 90 }).toFile(join(root, 'b', 'pic.jpg'));
  await sharp(png1).webp({ quality: 80 }).toFile(join(root, 'b', 'pic.webp'));
  await sharp(png1).jpeg({ quality: 85 }).toFile(join(root, 'a', 'same-class.jpg'));
  for (const [c, seed] of [['a', 2], ['b', 3], ['b', 4]] as const) await (await picture(seed)).png().toFile(join(root, c, `other${seed}.png`));
  const raw = async (p: string) => sharp(p).removeAlpha().raw().toBuffer();
  assert.notDeepEqual(await raw(join(root, 'b', 'pic.jpg')), await raw(join(root, 'a', 'pic.png')), 'lossy: other pixels, no exact copy');
  const ds = await loadDataset(`folder:${root}`);
  assert.deepEqual(await crossLabelCopies(ds), []);
  assert.deepEqual(await crossLabelNearCopies(ds), [['a/pic.png', 'b/pic.jpg'], ['a/pic.png', 'b/pic.webp'], ['a/same-class.jpg', 'b/pic.jpg'], ['a/same-class.jpg', 'b/pic.webp']]);
});

const ucmerced = join(import.meta.dirname, '..', '..', '..', 'shared', 'data');
test('no near copy across the classes of UC Merced (2100 real images; its one exact copy, airplane01 = airplane02, is within a class)', { skip: existsSync(join(ucmerced, 'ucmerced', 'Images')) ? false : '../shared/data/ucmerced is not here' }, async () => {
  const ds = await loadDataset('ucmerced', ucmerced);
  assert.equal(ds.samples.length, 2100);
  assert.deepEqual(await crossLabelNearCopies(ds), []);
  assert.deepEqual(await crossLabelCopies(ds), []);
});
