import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, beforeEach, test } from 'node:test';
import { tempDir } from '../helpers.ts';
import { startHub } from '../fixtures/loopback-hub.ts';
import { fixtureFor } from '../fixtures/card-fixtures.ts';
import { tinyVit } from '../fixtures/onnx-fixtures.ts';

const { pullFile, reprobeCachePath, findCached } = await import('../../src/backbones/hub.ts');
const { STUDY_CARDS } = await import('../../src/backbones/cards/study.ts');
const { isCached, openBackbone } = await import('../../src/backbones/registry.ts');
const { openTextTower } = await import('../../src/backbones/text-tower.ts');
const { extractFeatures } = await import('../../src/features/extract.ts');
const { loadMnist } = await import('../../src/data/mnist.ts');
const { BackboneError } = await import('../../src/errors.ts');

const model = new Uint8Array(tinyVit({ size: 32, patch: 8, dim: 2048 })); // about 90 kB
const allFixtures = Object.assign({ 'acme/tiny/onnx/model.onnx': model }, ...STUDY_CARDS.map(fixtureFor));
const hub = await startHub(allFixtures);
after(() => hub.close());
const file = { repo: 'acme/tiny', file: 'onnx/model.onnx' };

beforeEach(() => {
  process.env.REPROBE_HOME = tempDir();
  process.env.HF_HUB_CACHE = tempDir();
  process.env.HF_ENDPOINT = hub.endpoint;
  delete process.env.HF_HUB_OFFLINE;
  delete process.env.HF_TOKEN;
  hub.log.length = 0;
  hub.fault = {};
});

const oneLine = (re: RegExp) => (e: unknown) => e instanceof BackboneError && re.test(e.message) && !e.message.includes('\n');

test('pull downloads into $REPROBE_HOME/models, verified, and a second pull makes no request', async () => {
  process.env.HF_TOKEN = 'hf_test';
  const seen: number[] = [];
  const path = await pullFile(file, { onProgress: (b) => seen.push(b) });
  assert.equal(path, join(process.env.REPROBE_HOME!, 'models', 'acme', 'tiny', 'main', 'onnx', 'model.onnx'));
  assert.deepEqual(new Uint8Array(readFileSync(path)), model);
  assert.equal(seen.at(-1), model.length);
  assert.equal(hub.log[0].auth, 'Bearer hf_test');
  assert.ok(!existsSync(`${path}.incomplete`));
  const n = hub.log.length;
  assert.equal(await pullFile(file), path);
  assert.equal(hub.log.length, n);
});

test('a cut connection leaves a partial file that the next pull resumes with a Range request', async () => {
  hub.fault.cutAfter = { bytes: 20000, times: 1 };
  await assert.rejects(pullFile(file, { retries: 0 }), oneLine(/was cut after \d+ bytes .*run the same command again to resume/));
  const kept = statSync(`${reprobeCachePath(file)}.incomplete`).size;
  assert.ok(kept > 0 && kept <= 20000, `partial file of ${kept} bytes`);
  const path = await pullFile(file);
  assert.equal(hub.log.filter((r) => r.path.startsWith('/cdn/')).at(-1)?.range, `bytes=${kept}-`);
  assert.deepEqual(new Uint8Array(readFileSync(path)), model);
});

test('with retries a cut download finishes in one call', async () => {
  hub.fault.cutAfter = { bytes: 5000, times: 2 };
  const path = await pullFile(file);
  assert.deepEqual(new Uint8Array(readFileSync(path)), model);
  const ranges = hub.log.filter((r) => r.path.startsWith('/cdn/')).map((r) => Number(/bytes=(\d+)-/.exec(r.range ?? '')?.[1] ?? 0));
  assert.equal(ranges.length, 3);
  assert.ok(ranges[0] === 0 && ranges[1] > 0 && ranges[2] > ranges[1], `resumed at ${ranges.join(', ')}`);
});

test('a corrupted download fails the sha256 check and leaves nothing behind', async () => {
  hub.fault.corrupt = true;
  await assert.rejects(pullFile(file), oneLine(/acme\/tiny\/onnx\/model\.onnx is corrupt: sha256 .* expected/));
  assert.ok(!existsSync(reprobeCachePath(file)));
  assert.ok(!existsSync(`${reprobeCachePath(file)}.incomplete`));
});

test('offline, unreachable and missing files each give one clear line', async () => {
  process.env.HF_HUB_OFFLINE = '1';
  await assert.rejects(pullFile(file, { name: 'tiny' }), oneLine(/onnx\/model\.onnx is not cached .* offline mode is on .*`reprobe models pull tiny` fetches it/));
  assert.equal(hub.log.length, 0);
  delete process.env.HF_HUB_OFFLINE;
  const closed = await startHub({});
  await closed.close();
  process.env.HF_ENDPOINT = closed.endpoint;
  await assert.rejects(pullFile(file, { name: 'tiny' }), oneLine(/not cached .* cannot reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/));
  process.env.HF_ENDPOINT = hub.endpoint;
  await assert.rejects(pullFile({ repo: 'acme/none', file: 'onnx/model.onnx' }, { exportHint: 'optimum-cli export onnx ...' }), oneLine(/does not exist \(404\)\. Make it: optimum-cli/));
});

test('a file in an existing Hugging Face cache is used in place', async () => {
  const commit = 'a'.repeat(40);
  const repoDir = join(process.env.HF_HUB_CACHE!, 'models--acme--tiny');
  mkdirSync(join(repoDir, 'refs'), { recursive: true });
  mkdirSync(join(repoDir, 'snapshots', commit, 'onnx'), { recursive: true });
  writeFileSync(join(repoDir, 'refs', 'main'), commit);
  writeFileSync(join(repoDir, 'snapshots', commit, 'onnx', 'model.onnx'), model);
  process.env.HF_HUB_OFFLINE = '1';
  assert.equal(findCached(file), join(repoDir, 'snapshots', commit, 'onnx', 'model.onnx'));
  assert.equal(await pullFile(file), findCached(file));
});

test('every study backbone runs end to end once its file is on the (loopback) hub', async () => {
  const digits = (await loadMnist()).samples.slice(0, 3);
  for (const card of STUDY_CARDS) {
    assert.equal(isCached(card), false, card.id);
    const bb = await openBackbone(card.aliases?.[0] ?? card.id, { runtime: 'auto' });
    assert.equal(isCached(card), true, card.id);
    const f = (await extractFeatures(bb, digits, { batchSize: 2 })).features;
    await bb.dispose();
    assert.equal(f.rows, 3, card.id);
    assert.equal(f.cols, card.featureDim, card.id);
    assert.ok(f.data.every(Number.isFinite), card.id);
    assert.notDeepEqual(f.data.subarray(0, f.cols), f.data.subarray(f.cols, 2 * f.cols), `${card.id}: two digits, two features`);
  }
});

test('the CLIP card brings its text tower: token ids → text_embeds', async () => {
  const clip = STUDY_CARDS.find((c) => c.id === 'clip-vit-b32')!;
  const text = await openTextTower(clip);
  const e = await text.embed([[1, 5, 9], [2, 3]]);
  const again = await text.embed([[2, 3]]);
  await text.dispose();
  assert.deepEqual([e.rows, e.cols], [2, 512]);
  // Padding the shorter prompt must not change its embedding (the mask hides the pad).
  for (let j = 0; j < 512; j++) assert.ok(Math.abs(e.data[512 + j] - again.data[j]) < 1e-5);
});

test('token ids beyond the text tower\'s embedding table are one line before onnxruntime runs (its vocabulary read from the graph)', async () => {
  const clip = STUDY_CARDS.find((c) => c.id === 'clip-vit-b32')!;
  const text = await openTextTower(clip);
  try {
    // The fixture's tower (card-fixtures.ts) has a 64-row token embedding: ids 0..63.
    assert.equal((await text.embed([[0, 63]])).rows, 1);
    for (const bad of [64, 49407, -1])
      await assert.rejects(text.embed([[1, bad]]), (e) => e instanceof BackboneError && e.message === `token id ${bad} is not in the text tower's vocabulary of 64 (ids 0 to 63); the tokenizer is not this tower's (check --tokenizer or the token ids given).`);
  } finally {
    await text.dispose();
  }
});
