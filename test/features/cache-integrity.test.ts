import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, test } from 'node:test';
import sharp from 'sharp';
import { loadFolder } from '../../src/data/folder.ts';
import type { Sample } from '../../src/data/types.ts';
import { ConfigError } from '../../src/errors.ts';
import { npySize } from '../../src/features/cache-entry.ts';
import { clearCache, extractCached, featuresDir, listCache, type CacheRequest } from '../../src/features/cache.ts';
import { fakeBackbone } from '../fixtures/fake-backbone.ts';
import { tempDir } from '../helpers.ts';

async function png(path: string, shade: number): Promise<void> {
  mkdirSync(join(path, '..'), { recursive: true });
  await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: shade, g: 255 - shade, b: (shade * 7) % 256 } } }).png().toFile(path);
}

/** Two classes x `n` images with shades from `base`. */
async function folder(root: string, base: number, n = 5): Promise<void> {
  for (const c of ['a', 'b']) for (let i = 0; i < n; i++) await png(join(root, c, `${i}.png`), (base + i * 17 + (c === 'a' ? 0 : 90)) % 256);
}

const req = (onInvalid?: (r: string) => void): CacheRequest => ({ backboneName: 'fake', dataset: 'folder:imgs', classes: ['a', 'b'], chunkSize: 4, ...(onInvalid ? { onInvalid } : {}) });
const opt = { batchSize: 2 };
const entryFiles = () => readdirSync(featuresDir()).filter((f) => /^[0-9a-f]+\.(npy|json)$/.test(f));

beforeEach(() => {
  process.env.REPROBE_HOME = tempDir();
});

test('the key is the files, not the name typed: the same layout elsewhere, an edited image and a fixed one are read again', async () => {
  const cwd = process.cwd();
  const [x, y] = [tempDir(), tempDir()];
  await folder(join(x, 'imgs'), 10);
  await folder(join(y, 'imgs'), 150);
  try {
    process.chdir(x);
    const a = await loadFolder('imgs');
    process.chdir(y);
    const b = await loadFolder('imgs');
    assert.equal(a.name, b.name, 'typed the same');
    const fa = await extractCached(fakeBackbone(), a.samples, req(), opt);
    const fb = await extractCached(fakeBackbone(), b.samples, req(), opt);
    assert.equal(fb.fromCache, false);
    assert.notEqual(fb.key, fa.key);
    assert.notDeepEqual(fb.features.data, fa.features.data);
    // Edit one image in place: a new entry, whose row for it changes.
    await png(join(y, 'imgs', 'a', '0.png'), 33);
    utimesSync(join(y, 'imgs', 'a', '0.png'), new Date(), new Date(Date.now() + 5000));
    const edited = await extractCached(fakeBackbone(), b.samples, req(), opt);
    assert.equal(edited.fromCache, false);
    assert.notDeepEqual(edited.features.data.subarray(0, 3), fb.features.data.subarray(0, 3));
    assert.deepEqual(edited.features.data.subarray(3), fb.features.data.subarray(3));
    // A broken image is skipped; once fixed it is read, not served from the old skip list.
    writeFileSync(join(y, 'imgs', 'b', '4.png'), 'not a png');
    const broken = await extractCached(fakeBackbone(), b.samples, req(), opt);
    assert.deepEqual(broken.skipped.map((s) => s.id), ['b/4.png']);
    await png(join(y, 'imgs', 'b', '4.png'), 99);
    const fixed = await extractCached(fakeBackbone(), b.samples, req(), opt);
    assert.deepEqual([fixed.skipped.length, fixed.features.rows], [0, 10]);
  } finally {
    process.chdir(cwd);
  }
});

type Damage = [string, (npy: string, side: string) => void, RegExp];
const sidecar = (side: string) => JSON.parse(readFileSync(side, 'utf8')) as { ids: string[]; skipped: unknown };
const rewrite = (side: string, f: (s: { ids: string[]; skipped: unknown }) => void) => {
  const s = sidecar(side);
  f(s);
  writeFileSync(side, JSON.stringify(s));
};
const DAMAGES: Damage[] = [
  ['cut short', (npy) => truncateSync(npy, readFileSync(npy).length - 8), /has \d+ bytes/],
  ['other bytes of the same size', (npy) => {
    const b = readFileSync(npy);
    b[b.length - 3] ^= 0xff;
    writeFileSync(npy, b);
  }, /checksum/],
  ['reordered ids', (_, side) => rewrite(side, (s) => ([s.ids[0], s.ids[1]] = [s.ids[1], s.ids[0]])), /not the requested images in order|neither a row/],
  ['an unknown id', (_, side) => rewrite(side, (s) => (s.ids[2] = 'zz/unknown.png')), /not the requested images|neither a row/],
  ['a missing id', (_, side) => rewrite(side, (s) => s.ids.pop()), /ids for \d+ rows/],
  ['"skipped": null', (_, side) => rewrite(side, (s) => (s.skipped = null)), /malformed at "skipped"/],
];

test('a damaged entry is not served: each damage is one line, the entry is extracted again, the features are right', async () => {
  const root = tempDir();
  await folder(root, 40);
  const { samples } = await loadFolder(root);
  const reference = await extractCached(fakeBackbone(), samples, req(), opt);
  const files = () => ({ npy: join(featuresDir(), `${reference.key}.npy`), side: join(featuresDir(), `${reference.key}.json`) });
  for (const [what, damage, why] of DAMAGES) {
    damage(files().npy, files().side);
    const reasons: string[] = [];
    const again = await extractCached(fakeBackbone(), samples, req((r) => reasons.push(r)), opt);
    assert.equal(again.fromCache, false, what);
    assert.equal(reasons.length, 1, what);
    assert.match(reasons[0], why, what);
    assert.ok(!reasons[0].includes('\n'), what);
    assert.deepEqual(again.features.data, reference.features.data, what);
    assert.equal((await extractCached(fakeBackbone(), samples, req(), opt)).fromCache, true, `${what}: the new entry is whole`);
  }
});

test('a killed extraction resumes; a chunk cut short is extracted again and the joined matrix is whole and right', async () => {
  const root = tempDir();
  await folder(root, 70, 8);
  const { samples } = await loadFolder(root);
  const reference = await extractCached(fakeBackbone(), samples, req(), opt);
  process.env.REPROBE_HOME = tempDir();
  await assert.rejects(extractCached(fakeBackbone({ failAfter: 5 }), samples, req(), opt), /simulated crash/);
  const partial = join(featuresDir(), `${reference.key}.partial`);
  const chunks = readdirSync(partial).filter((f) => f.endsWith('.npy')).sort();
  assert.equal(chunks.length, 2, 'two whole chunks of 4 before the crash');
  truncateSync(join(partial, chunks[1]), 100);
  const resumed = fakeBackbone();
  const done = await extractCached(resumed, samples, req(), opt);
  assert.deepEqual(done.features.data, reference.features.data);
  assert.equal(resumed.batches, 6, 'the cut chunk (2 batches) and the last two chunks (4) were extracted, the whole one was not');
  assert.equal(readFileSync(join(featuresDir(), `${done.key}.npy`)).length, npySize(16, 3), 'the joined file holds every row its header announces');
});

test('cache list shows a finished key once even with a stale partial folder; clear takes whole keys or unique prefixes', async () => {
  const root = tempDir();
  await folder(root, 5);
  const { samples } = await loadFolder(root);
  const half: Sample[] = samples.slice(0, 6);
  const one = await extractCached(fakeBackbone(), samples, req(), opt);
  mkdirSync(join(featuresDir(), `${one.key}.partial`));
  writeFileSync(join(featuresDir(), `${one.key}.npy.tmp-1-2`), 'left by a killed run');
  const two = await extractCached(fakeBackbone(), half, req(), opt);
  const listed = await listCache();
  assert.deepEqual(listed.map((e) => [e.key, e.state]).sort(), [[one.key, 'done'], [two.key, 'done']].sort());
  await assert.rejects(clearCache(['']), ConfigError);
  await assert.rejects(clearCache(['not-hex']), ConfigError);
  const common = [...one.key].findIndex((ch, i) => ch !== two.key[i]);
  if (common > 0) await assert.rejects(clearCache([one.key.slice(0, common)]), /matches 2 cache entries/);
  assert.deepEqual(await clearCache([one.key.slice(0, common + 1)]), [one.key]);
  assert.ok(!existsSync(join(featuresDir(), `${one.key}.partial`)));
  assert.ok(!existsSync(join(featuresDir(), `${one.key}.npy.tmp-1-2`)));
  assert.equal(entryFiles().length, 2, 'the other entry is untouched');
  // A sidecar of junk is listed as invalid (not a crash) and can be cleared; keys are taken in either case.
  writeFileSync(join(featuresDir(), 'abc123.json'), '{not json');
  assert.deepEqual((await listCache()).find((e) => e.key === 'abc123')?.state, 'invalid');
  assert.deepEqual(await clearCache(['ABC123']), ['abc123']);
});
