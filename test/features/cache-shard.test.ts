import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { loadFolder } from '../../src/data/folder.ts';
import { extractCached, featuresDir, isPending, listCache, type CacheRequest, type CachedExtraction, type PendingEntry } from '../../src/features/cache.ts';
import { fakeBackbone } from '../fixtures/fake-backbone.ts';
import { tempDir } from '../helpers.ts';

/** 2 classes x 11 small generated images and one file that is not an image: 23 samples, 6 chunks of 4. */
async function imageFolder(): Promise<string> {
  const root = tempDir();
  for (const [c, cls] of ['a', 'b'].entries()) {
    mkdirSync(join(root, cls));
    for (let i = 0; i < 11; i++) {
      const px = Buffer.alloc(8 * 8 * 3);
      for (let p = 0; p < px.length; p++) px[p] = (p * (c + 3) * 7 + i * 29) % 256;
      await sharp(px, { raw: { width: 8, height: 8, channels: 3 } }).png().toFile(join(root, cls, `${String(i).padStart(2, '0')}.png`));
    }
  }
  writeFileSync(join(root, 'b', 'broken.png'), 'not a png');
  return root;
}

const { samples } = await loadFolder(await imageFolder());
const req: CacheRequest = { backboneName: 'fake', dataset: 'folder:imgs', classes: ['a', 'b'], chunkSize: 4 };
const opt = { batchSize: 2 };
const CHUNKS = 6;
const shardOf = (index: number, count: number, over: Partial<CacheRequest> = {}) => ({ ...req, ...over, shard: { index, count } });
const chunksIn = (index: number, count: number) => Array.from({ length: CHUNKS }, (_, c) => c).filter((c) => c % count === index);
const chunksOf = (index: number, count: number) => chunksIn(index, count).length;
/** Backbone calls to embed `chunks` (of 4 images) in batches of `batch`: a batch of only the broken image makes none. */
const batchesFor = (chunks: number[], batch = 2) =>
  chunks.reduce((n, c) => {
    const ids = samples.slice(c * 4, c * 4 + 4).map((s) => s.id);
    for (let b = 0; b < ids.length; b += batch) if (ids.slice(b, b + batch).some((id) => id !== 'b/broken.png')) n++;
    return n;
  }, 0);

/** What an entry holds, less what may differ between runs (timings, creation time). */
function entry(key: string) {
  const side = JSON.parse(readFileSync(join(featuresDir(), `${key}.json`), 'utf8'));
  for (const k of ['seconds', 'imagesPerSecond', 'created']) delete side[k];
  return { npy: readFileSync(join(featuresDir(), `${key}.npy`)), side };
}
/** Only the finished entry is left: no partial folder, no temp file. */
const onlyEntry = (key: string) => assert.deepEqual(readdirSync(featuresDir()).sort(), [`${key}.json`, `${key}.npy`]);

process.env.REPROBE_HOME = tempDir();
const ref = await extractCached(fakeBackbone(), samples, req, opt);
const reference = entry(ref.key);

test('the reference: 22 rows, the broken image skipped, 6 chunks of 4', () => {
  assert.equal(ref.features.rows, 22);
  assert.deepEqual(ref.skipped.map((s) => s.id), ['b/broken.png']);
  assert.equal(Math.ceil(samples.length / 4), CHUNKS);
});

test('1, 2 and 3 tasks run one after another: the first ones are pending, the last joins the same bytes and sidecar', async () => {
  for (const n of [1, 2, 3]) {
    process.env.REPROBE_HOME = tempDir();
    let done = 0;
    for (let i = 0; i < n; i++) {
      const bb = fakeBackbone();
      const r = await extractCached(bb, samples, shardOf(i, n), opt);
      assert.equal(bb.batches, batchesFor(chunksIn(i, n)), `${i}/${n} embedded only its own chunks`);
      done += chunksOf(i, n);
      if (i < n - 1) {
        assert.deepEqual(r, { pending: true, key: ref.key, done, total: CHUNKS } satisfies PendingEntry, `${i}/${n}`);
        assert.deepEqual((await listCache()).map((e) => e.state), ['partial']);
      } else {
        assert.ok(!isPending(r), `${i}/${n} joins`);
        assert.equal(r.fromCache, false);
        assert.deepEqual(r.features.data, ref.features.data);
        assert.deepEqual(r.kept, ref.kept);
        assert.deepEqual(entry(ref.key), reference, `${n} task(s): the same .npy bytes and sidecar`);
        onlyEntry(ref.key);
      }
    }
    // Any task run again reads the finished entry.
    const again = await extractCached(fakeBackbone(), samples, shardOf(0, n), opt);
    assert.ok(!isPending(again) && again.fromCache);
  }
});

test('tasks run at once: the same matrix, every task pending or finished, nothing left behind', async () => {
  for (const n of [2, 3, 6]) {
    process.env.REPROBE_HOME = tempDir();
    const results = await Promise.all(Array.from({ length: n }, (_, i) => extractCached(fakeBackbone(), samples, shardOf(i, n), opt)));
    const joined = results.filter((r): r is CachedExtraction => !isPending(r));
    assert.ok(joined.length >= 1, `${n} tasks: at least one joined`);
    for (const r of joined) assert.deepEqual(r.features.data, ref.features.data);
    for (const r of results.filter(isPending)) assert.ok(r.done < r.total);
    assert.deepEqual(entry(ref.key), reference, `${n} concurrent tasks`);
    onlyEntry(ref.key);
  }
});

test('a killed task leaves the entry pending; rerunning that shard finishes it', async () => {
  process.env.REPROBE_HOME = tempDir();
  // Shard 1 of 3 never ran; shards 0 and 2 find its chunks missing.
  assert.ok(isPending(await extractCached(fakeBackbone(), samples, shardOf(0, 3), opt)));
  assert.deepEqual(await extractCached(fakeBackbone(), samples, shardOf(2, 3), opt), { pending: true, key: ref.key, done: 4, total: CHUNKS });
  // Shard 1 is killed half way through its first chunk: still pending, nothing joined.
  await assert.rejects(extractCached(fakeBackbone({ failAfter: 1 }), samples, shardOf(1, 3), opt), /simulated crash/);
  assert.ok(!existsSync(join(featuresDir(), `${ref.key}.json`)));
  assert.deepEqual((await listCache()).map((e) => e.state), ['partial']);
  const rerun = fakeBackbone();
  const r = await extractCached(rerun, samples, shardOf(1, 3), opt);
  assert.ok(!isPending(r));
  assert.equal(rerun.batches, batchesFor(chunksIn(1, 3)), 'only the killed shard was embedded again');
  assert.deepEqual(entry(ref.key), reference);
  onlyEntry(ref.key);
});

test('chunk boundaries are fixed by the first task, and a broken chunk of another task is embedded again by the joiner', async () => {
  process.env.REPROBE_HOME = tempDir();
  assert.ok(isPending(await extractCached(fakeBackbone(), samples, shardOf(0, 2), opt)));
  const partial = join(featuresDir(), `${ref.key}.partial`);
  assert.deepEqual(JSON.parse(readFileSync(join(partial, 'layout.json'), 'utf8')), { images: 23, chunkSize: 4 });
  truncateSync(join(partial, 'chunk-000002.npy'), 40);
  // Another chunk size and batch size: the layout on disk wins, so the chunks meet.
  const joiner = fakeBackbone();
  const r = await extractCached(joiner, samples, shardOf(1, 2, { chunkSize: 6 }), { batchSize: 3 });
  assert.ok(!isPending(r));
  assert.equal(joiner.batches, batchesFor([...chunksIn(1, 2), 2], 3), 'its own 3 chunks of 4 images and the broken one, in batches of 3');
  assert.deepEqual(entry(ref.key), reference);
  onlyEntry(ref.key);
});
