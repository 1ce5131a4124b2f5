import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { EMBEDDED_CARDS } from '../../src/backbones/cards/embedded.ts';
import { readMat5 } from '../../src/data/mat5.ts';
import { loadDataset } from '../../src/data/registry.ts';
import { drawSplit, splitSource } from '../../src/data/split.ts';
import { studyTable } from '../../src/data/study-table.ts';
import { DataError } from '../../src/errors.ts';
import { extractFeatures } from '../../src/features/extract.ts';
import { openBackbone } from '../../src/backbones/registry.ts';
import { tempDir } from '../helpers.ts';

const mats = join(import.meta.dirname, '..', 'fixtures', 'mat');
const shared = join(import.meta.dirname, '..', '..', '..', 'shared', 'data');
const noShared = existsSync(shared) ? false : 'needs ../shared/data (not on a fresh machine)';

/** A small solid-colour image at root/rel (PNG or JPEG by extension). */
async function image(root: string, rel: string, shade: number): Promise<void> {
  const p = join(root, rel);
  mkdirSync(dirname(p), { recursive: true });
  const img = sharp({ create: { width: 16, height: 12, channels: 3, background: { r: shade, g: 255 - shade, b: (shade * 7) % 256 } } });
  await (rel.endsWith('.png') ? img.png() : img.jpeg()).toFile(p);
}
const write = (root: string, rel: string, text: string) => {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  writeFileSync(join(root, rel), text);
};

test('MAT v5 reader: compressed and plain numeric arrays of several types', () => {
  const ids = readMat5(readFileSync(join(mats, 'setid.mat')));
  assert.deepEqual([...ids.get('trnid')!], Array.from({ length: 12 }, (_, i) => i + 1));
  assert.equal(ids.get('tstid')!.length, 12);
  const d = readMat5(readFileSync(join(mats, 'doubles.mat')));
  assert.deepEqual([...d.get('x')!], [1.5, -2.25, 3e10]);
  assert.deepEqual([...d.get('name_longer_than_4')!], [7]);
  assert.throws(() => readMat5(new Uint8Array(200)), DataError);
});

test('flowers102: labels from imagelabels.mat, the train/val/test sets from setid.mat', async () => {
  const root = tempDir();
  const dir = join(root, 'flowers102');
  mkdirSync(dir);
  for (const f of ['imagelabels.mat', 'setid.mat']) copyFileSync(join(mats, f), join(dir, f));
  for (let i = 1; i <= 30; i++) await image(dir, `jpg/image_${String(i).padStart(5, '0')}.jpg`, i * 8);
  const ds = await loadDataset('flowers102', root);
  assert.deepEqual(ds.classes, ['class_001', 'class_002', 'class_003']);
  assert.equal(ds.samples.length, 30);
  assert.deepEqual([ds.samples[0].label, ds.samples[1].label, ds.samples[3].label], [0, 1, 0]);
  assert.deepEqual(Object.fromEntries(Object.entries(ds.pools!).map(([k, v]) => [k, v.length])), { pool: 12, val: 6, test: 12 });
});

test('fgvc-aircraft: variant names with spaces, official train split as the pool', async () => {
  const root = tempDir();
  const data = join(root, 'fgvc-aircraft-2013b', 'data');
  const variants = ['707-320', 'A300B4', 'Boeing 717'];
  write(data, 'variants.txt', variants.join('\n') + '\n');
  let n = 0;
  for (const [split, count] of [['train', 6], ['val', 3], ['test', 3]] as const) {
    const lines: string[] = [];
    for (let i = 0; i < count; i++, n++) {
      const id = String(1000000 + n);
      lines.push(`${id} ${variants[n % 3]}`);
      await image(data, `images/${id}.jpg`, n * 10);
    }
    write(data, `images_variant_${split}.txt`, lines.join('\n') + '\n');
  }
  const ds = await loadDataset('fgvc-aircraft', root);
  assert.deepEqual(ds.classes, variants);
  assert.deepEqual([ds.pools!.pool.length, ds.pools!.val.length, ds.pools!.test.length], [6, 3, 3]);
  assert.equal(ds.samples[2].label, 2);
});

test('csv: rows whose path escapes the data root are rejected and listed, the rest load', async () => {
  const root = tempDir();
  await image(root, 'imgs/a.png', 10);
  await image(root, 'imgs/b.png', 200);
  write(root, 'list.csv', 'path,label\nimgs/a.png,cat\nimgs/b.png,dog\n../../etc/passwd,cat\n/etc/hostname,dog\nimgs/../imgs/b.png,dog\n');
  const ds = await loadDataset(`csv:${join(root, 'list.csv')}`);
  assert.deepEqual(ds.samples.map((s) => s.id), ['imgs/a.png', 'imgs/b.png']);
  assert.deepEqual(ds.rejected!.map((r) => r.id), ['../../etc/passwd', '/etc/hostname', 'imgs/../imgs/b.png']);
  assert.match(ds.rejected![0].reason, /escapes the data root/);
  assert.match(ds.rejected![2].reason, /listed twice/);
});

test('csv: a row through a symlink inside the data root to a folder outside it is rejected like a ../ row', async () => {
  const root = tempDir();
  const outside = tempDir();
  await image(root, 'imgs/a.png', 10);
  await image(root, 'imgs/b.png', 200);
  await image(outside, 'c.png', 90);
  symlinkSync(outside, join(root, 'elsewhere'));
  write(root, 'list.csv', 'path,label\nimgs/a.png,cat\nimgs/b.png,dog\nelsewhere/c.png,cat\nelsewhere/new/d.png,dog\n');
  const ds = await loadDataset(`csv:${join(root, 'list.csv')}`);
  assert.deepEqual(ds.samples.map((s) => s.id), ['imgs/a.png', 'imgs/b.png']);
  assert.deepEqual(ds.rejected!.map((r) => [r.id, r.reason]), [
    ['elsewhere/c.png', 'path "elsewhere/c.png" escapes the data root'],
    ['elsewhere/new/d.png', 'path "elsewhere/new/d.png" escapes the data root'],
  ]);
});

test('WILDS FMoW: ID/OOD splits by year as WILDS makes them, regions as groups, sequestered rows left out', async () => {
  const root = tempDir();
  const dir = join(root, 'fmow_v1.1');
  // split, year, category, country → expected set
  const rows: [string, number, string, string, string | undefined][] = [
    ['train', 2010, 'airport', 'USA', 'train'],
    ['train', 2011, 'zoo', 'FRA', 'train'],
    ['train', 2014, 'zoo', 'USA', undefined], // OOD-era train rows are unused
    ['val', 2011, 'airport', 'KEN', 'id_val'],
    ['val', 2014, 'zoo', 'FRA', 'val'],
    ['test', 2012, 'zoo', 'XXX', 'id_test'],
    ['test', 2016, 'airport', 'KEN', 'test'],
    ['test', 2014, 'airport', 'USA', undefined],
    ['seq', 2012, 'zoo', 'USA', undefined],
  ];
  write(dir, 'rgb_metadata.csv', 'split,img_filename,category,country_code,timestamp\n' + rows.map(([s, y, c, cc], i) => `${s},img${i}.jpg,${c},${cc},${y}-06-01T10:00:00Z`).join('\n') + '\n');
  write(dir, 'country_code_mapping.csv', 'name,alpha-2,alpha-3,region\nUnited States,US,USA,Americas\nFrance,FR,FRA,Europe\nKenya,KE,KEN,Africa\n');
  for (let i = 0; i < rows.length; i++) await image(dir, `images/rgb_img_${i}.png`, i * 20);
  const ds = await loadDataset('fmow', root);
  const setOf = new Map(Object.entries(ds.pools!).flatMap(([k, v]) => v.map((i) => [ds.samples[i].id, k] as const)));
  for (const [i, r] of rows.entries()) assert.equal(setOf.get(`rgb_img_${i}`), r[4], `row ${i}`);
  assert.deepEqual(ds.groups!.names, ['Africa', 'Americas', 'Europe', 'Other']);
});

test('WILDS iWildCam: splits from metadata.csv, names from categories.csv, locations as groups', async () => {
  const root = tempDir();
  const dir = join(root, 'iwildcam_v2.0');
  const splits = ['train', 'train', 'train', 'val', 'id_val', 'id_test', 'test', 'test'];
  // The last row repeats f1 (a train image) as id_test: it is rejected, and every set still points at its own image.
  write(dir, 'metadata.csv', 'split,location_remapped,y,filename\n' + splits.map((s, i) => `${s},${i % 3},${i % 2 === 0 ? 0 : 2},f${i}.jpg`).join('\n') + '\nid_test,1,2,f1.jpg\n');
  write(dir, 'categories.csv', 'y,category_id,name\n0,0,empty\n1,3,deer\n2,7,fox\n');
  for (let i = 0; i < splits.length; i++) await image(dir, `train/f${i}.jpg`, i * 25);
  const ds = await loadDataset('iwildcam', root);
  assert.deepEqual(ds.classes, ['empty', 'deer', 'fox']);
  assert.deepEqual(Object.fromEntries(Object.entries(ds.pools!).map(([k, v]) => [k, v.length])), { train: 3, val: 1, id_val: 1, id_test: 1, test: 2 });
  assert.equal(ds.groups!.field, 'location');
  assert.deepEqual(ds.rejected!.map((r) => r.id), ['f1.jpg']);
  assert.equal(ds.groups!.of.length, ds.samples.length);
  assert.deepEqual(ds.pools!.id_test.map((i) => ds.samples[i].id), ['f5.jpg']);
  assert.deepEqual(ds.pools!.test.map((i) => ds.samples[i].id), ['f6.jpg', 'f7.jpg']);
  // The real metadata.csv has 203,029 rows: loading must not spread them into one call (stack overflow).
  const big = join(tempDir(), 'iwildcam_v2.0');
  write(big, 'metadata.csv', 'split,location_remapped,y,filename\n' + Array.from({ length: 210000 }, (_, i) => `train,${i % 50},${i % 182},f${i}.jpg`).join('\n') + '\n');
  const many = await loadDataset('iwildcam', join(big, '..'));
  assert.deepEqual([many.samples.length, many.classes.length], [210000, 182]);
});

test('a missing dataset says where it was looked for and what goes there', async () => {
  await assert.rejects(loadDataset('patternnet', tempDir()), (e: unknown) => e instanceof DataError && /patternnet not found under .* Expected: <data-root>\/patternnet\/images\/<class>/.test(e.message));
});

test('a corrupt JPEG and a truncated TIFF are skipped and listed; the other images go on', async () => {
  const root = tempDir();
  for (const [i, c] of ['a', 'b'].entries()) await image(root, `${c}/ok.png`, 40 + i * 100);
  await sharp({ create: { width: 64, height: 64, channels: 3, background: '#808080' } }).tiff().toFile(join(root, 'a', 'cut.tif'));
  const tif = readFileSync(join(root, 'a', 'cut.tif'));
  writeFileSync(join(root, 'a', 'cut.tif'), tif.subarray(0, tif.length >> 1));
  const jpg = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#336699' } }).jpeg().toBuffer();
  writeFileSync(join(root, 'b', 'bad.jpg'), Buffer.concat([jpg.subarray(0, 200), Buffer.alloc(300, 0x55)]));
  const ds = await loadDataset(`folder:${root}`);
  const bb = await openBackbone(EMBEDDED_CARDS[0].id, { runtime: 'auto' });
  const ext = await extractFeatures(bb, ds.samples, { batchSize: 4 });
  await bb.dispose();
  assert.deepEqual(ext.skipped.map((s) => s.id).sort(), ['a/cut.tif', 'b/bad.jpg']);
  assert.equal(ext.features.rows, 2);
});

test('real UC Merced: the study 10-shot (147:42:1071) and 100-shot (567:189:504) splits', { skip: noShared }, async () => {
  const ds = await loadDataset('ucmerced', shared);
  assert.equal(ds.samples.length, 2100);
  const study = (shots: number, seed: number) => drawSplit(splitSource(ds), { protocol: 'study', shots, seed }, { table: studyTable() });
  for (const [shots, want] of [[10, [147, 42, 1071]], [100, [567, 189, 504]]] as const) {
    const s = study(shots, 0);
    assert.deepEqual([s.train.length, s.val.length, s.tests.test.length], want);
  }
  assert.deepEqual(study(10, 1), study(10, 1));
});

test('real ISIC and DTD: 2 labels kept (2 unknown diagnoses rejected), DTD classes from its folders', { skip: noShared }, async () => {
  const isic = await loadDataset('isic', shared);
  assert.deepEqual(isic.classes, ['melanoma', 'nevus']);
  assert.equal(isic.samples.length, 548);
  assert.equal(isic.rejected?.length, 2);
  const dtd = await loadDataset('dtd', shared);
  assert.equal(dtd.classes.length, 10);
  assert.equal(dtd.samples.length, 120);
});

test('two class folders that look the same (café as NFC and as NFD, a zero-width space, a trailing space) are refused, naming both as code points', async () => {
  const nfc = 'caf\u00e9';
  const nfd = 'cafe\u0301';
  assert.notEqual(nfc, nfd);
  assert.equal(nfc, nfd.normalize('NFC'), 'the same text once normalised');
  for (const [a, b] of [[nfc, nfd], ['dog', 'dog\u200b'], ['dog', 'dog ']]) {
    const root = tempDir();
    await image(root, `${a}/1.png`, 10);
    await image(root, `${b}/2.png`, 200);
    await assert.rejects(loadDataset(`folder:${root}`), (e: unknown) => e instanceof DataError && /classes ".*" and ".*" look the same but are two names/.test(e.message));
  }
  const root = tempDir();
  await image(root, `${nfc}/1.png`, 10);
  await assert.rejects(loadDataset(`folder:${root}`).then(async () => {
    await image(root, `${nfd}/2.png`, 200);
    return loadDataset(`folder:${root}`);
  }), /classes "cafe\\u0301" and "caf\\u00e9" look the same/);
  // Distinct names that only share letters stay two classes.
  const fine = tempDir();
  for (const c of ['cafe', nfc, 'Cafe']) await image(fine, `${c}/1.png`, c.length * 20);
  assert.equal((await loadDataset(`folder:${fine}`)).classes.length, 3);
});
