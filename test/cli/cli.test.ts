import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { loadMnist } from '../../src/data/mnist.ts';
import { tempDir } from '../helpers.ts';

const home = tempDir();
const bin = join(import.meta.dirname, '..', '..', 'bin', 'reprobe.mjs');

function reprobe(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, REPROBE_HOME: home } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('probe end to end on a small MNIST subset: table, study columns, one JSON line per probe', () => {
  const results = tempDir();
  const r = reprobe('probe', '--backbone', 'mobilenet-v2', '--dataset', 'mnist', '--shots', '3', '--test-per-class', '5', '--results-dir', results);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /backbone\s+method\s+test_set\s+metric\s+value/);
  assert.match(r.out, /model\s+knn_3\s+lr_3/);
  assert.match(r.err, /split train\/val\/test 30\/10\/50/);
  const lines = readFileSync(join(results, 'probe.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.method), ['knn', 'lr']);
  for (const l of lines) {
    assert.equal(l.backbone, 'mobilenet-v2');
    assert.equal(l.n_test, 50);
    assert.ok(l.value > 0.2, `accuracy ${l.value} not above chance (0.1)`);
    assert.equal(typeof l.versions.onnxruntime, 'string');
    assert.equal(l.seed, 0);
  }
});

test('unknown backbone: exit 2, one line listing the valid names', () => {
  const r = reprobe('probe', '--backbone', 'dinov3');
  assert.equal(r.code, 2);
  assert.equal(r.err.trim().split('\n').length, 1);
  assert.match(r.err, /Unknown backbone "dinov3". Known: mobilenet-v2, inception-v3/);
});

test('unknown dataset: exit 2, one line listing the valid names', () => {
  const r = reprobe('probe', '--dataset', 'imagenet');
  assert.equal(r.code, 2);
  assert.equal(r.err.trim().split('\n').length, 1);
  assert.match(r.err, /Unknown dataset "imagenet". Known: mnist, ucmerced, .*, folder:<path>, csv:<file.csv>/);
});

test('too few images for --shots: exit 2, one line naming the class', () => {
  const r = reprobe('probe', '--dataset', 'mnist', '--shots', '5000');
  assert.equal(r.code, 2);
  assert.equal(r.err.trim().split('\n').length, 1);
  assert.match(r.err, /class "0" has \d+/);
});

test('folder dataset: an unreadable image is skipped and reported, the run goes on', async () => {
  const root = tempDir();
  const digits = (await loadMnist()).samples;
  for (const cls of ['3', '7']) {
    mkdirSync(join(root, cls));
    const picks = digits.filter((s) => String(s.label) === cls).slice(0, 6);
    for (const [i, s] of picks.entries()) {
      if (s.source.kind !== 'raw') throw new Error('mnist digits are raw');
      await sharp(s.source.data, { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(join(root, cls, `${i}.png`));
    }
  }
  writeFileSync(join(root, '7', 'broken.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 1, 2, 3]));
  const results = tempDir();
  const r = reprobe('probe', '--dataset', `folder:${root}`, '--shots', '2', '--val-per-class', '1', '--results-dir', results);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /skipped 1 unreadable image/);
  assert.match(r.err, /7\/broken\.jpg/);
  const lines = readFileSync(join(results, 'probe.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines[0].skipped_images, 1);
});

test('--help lists the commands and examples', () => {
  const r = reprobe('--help');
  assert.equal(r.code, 0);
  for (const word of ['probe', 'models', 'datasets', 'Examples:']) assert.ok(r.out.includes(word), word);
  const p = reprobe('probe', '--help');
  assert.match(p.out, /--shots/);
  assert.match(p.out, /Examples:/);
});

test('models list shows both embedded backbones', () => {
  const r = reprobe('models', 'list');
  assert.equal(r.code, 0);
  assert.match(r.out, /mobilenet-v2 .* block_13_expand_relu/);
  assert.match(r.out, /inception-v3 .* mixed6/);
});

test('--config reads a YAML job; flags override it; an unknown key is one clear error', () => {
  const dir = tempDir();
  const cfg = join(dir, 'job.yaml');
  writeFileSync(cfg, `backbones: [mobilenet-v2]\ndataset: mnist\nshots: 2\nvalPerClass: 1\ntestPerClass: 2\nseed: 5\nresultsDir: ${join(dir, 'out')}\n`);
  const r = reprobe('probe', '--config', cfg, '--seed', '6', '--probe', 'knn,lr', '--knn-k', '1,3', '--knn-vote', 'majority', '--lr-c', '0.1,1', '--lr-refit', 'train+val');
  assert.equal(r.code, 0, r.err);
  const [knn, lr] = readFileSync(join(dir, 'out', 'probe.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lr.seed, 6);
  assert.equal(lr.n_train, 20);
  assert.equal(lr.n_test, 20);
  assert.equal(lr.method, 'lr');
  assert.ok([0.1, 1].includes(lr.chosen.C), `C ${lr.chosen.C}`);
  assert.equal(lr.chosen.fit_on, 'train+val');
  assert.ok([1, 3].includes(knn.chosen.k), `k ${knn.chosen.k}`);
  assert.equal(knn.chosen.vote, 'majority');
  const zeroK = reprobe('probe', '--config', cfg, '--knn-k', '0');
  assert.equal(zeroK.code, 2);
  assert.match(zeroK.err.trim(), /^[^\n]*Invalid --knn-k/);
  writeFileSync(cfg, 'shots: 2\nshotz: 3\n');
  const bad = reprobe('probe', '--config', cfg);
  assert.equal(bad.code, 2);
  assert.equal(bad.err.trim().split('\n').length, 1);
  assert.match(bad.err, /shotz/);
});

test('the shipped example config is a valid job', async () => {
  const { parse } = await import('yaml');
  const { ProbeJobSchema } = await import('../../src/jobs/job-schema.ts');
  const text = readFileSync(join(import.meta.dirname, '..', '..', 'configs', 'probe-mnist.yaml'), 'utf8');
  assert.ok(ProbeJobSchema.strict().safeParse(parse(text)).success);
});
