import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { STUDY_CARDS } from '../../src/backbones/cards/study.ts';
import { fixtureFor } from '../fixtures/card-fixtures.ts';
import { startHub } from '../fixtures/loopback-hub.ts';
import { tinyVit } from '../fixtures/onnx-fixtures.ts';
import { tempDir } from '../helpers.ts';

const home = tempDir();
const bin = join(import.meta.dirname, '..', '..', 'bin', 'reprobe.mjs');
const dino = STUDY_CARDS.find((c) => c.id === 'dino-vits16')!;
const hub = await startHub(fixtureFor(dino));
after(() => hub.close());

/** Async spawn: the loopback hub lives in this process and must keep answering. */
function reprobe(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { ...process.env, REPROBE_HOME: home, HF_HUB_CACHE: join(home, 'hf'), HF_ENDPOINT: hub.endpoint, ...env } }, (err, out, errOut) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out, err: errOut }),
    );
  });
}

test('models list shows every study backbone with its pooling and whether it is cached', async () => {
  const r = await reprobe(['models', 'list']);
  assert.equal(r.code, 0, r.err);
  for (const id of ['clip-vit-b32', 'vit-b16', 'vit-b32', 'vit-l16', 'vit-l32', 'convnext-tiny', 'convnext-base', 'efficientnet-b2', 'efficientnet-b6', 'beit-base', 'mae-base', 'dino-vits16', 'dino-vitb16', 'data2vec-base']) {
    assert.match(r.out, new RegExp(`^${id}\\b.*\\bno\\b`, 'm'), id);
  }
  assert.match(r.out, /^dino-vits16, dino\s+22M\s+384\s+cls @ last_hidden_state/m);
  assert.match(r.out, /^mobilenet-v2\b.*embedded/m);
});

test('models info resolves an alias; models pull fetches from HF_ENDPOINT, then list says cached', async () => {
  const info = await reprobe(['models', 'info', 'mae']);
  assert.equal(JSON.parse(info.out).id, 'mae-base');
  const pull = await reprobe(['models', 'pull', 'dino']);
  assert.equal(pull.code, 0, pull.err);
  assert.match(pull.out, /dino-vits16: .*models\/Xenova\/dino-vits16\/main\/onnx\/model\.onnx/);
  assert.match((await reprobe(['models', 'list'])).out, /^dino-vits16, dino\b.*\byes\b/m);
});

test('offline and not cached: exit 2, one line naming the file and the command that fetches it', async () => {
  const r = await reprobe(['probe', '-b', 'vit-b16', '-d', 'mnist'], { HF_HUB_OFFLINE: '1' });
  assert.equal(r.code, 2);
  assert.equal(r.err.trim().split('\n').length, 1, r.err);
  assert.match(r.err, /Xenova\/vit-base-patch16-224-in21k\/onnx\/model\.onnx is not cached .*`reprobe models pull vit-b16`/);
});

test('probe runs any ONNX model described by a card; without the card, one clear line', async () => {
  const dir = tempDir();
  const model = join(dir, 'tiny.onnx');
  writeFileSync(model, tinyVit({ size: 32, patch: 8, dim: 24 }));
  const card = join(dir, 'card.json');
  writeFileSync(card, JSON.stringify({ input: { height: 32, width: 32 }, output: { name: 'last_hidden_state', pooling: 'mean' } }));
  const r = await reprobe(['probe', '-b', model, '--card', card, '-d', 'mnist', '--shots', '3', '--test-per-class', '3', '--results-dir', dir]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /@ last_hidden_state\[mean\] on onnxruntime-node/);
  assert.match(r.out, /model\s+knn_3\s+lr_3/);
  const rec = JSON.parse(readFileSync(join(dir, 'probe.jsonl'), 'utf8').split('\n')[0]);
  assert.equal(rec.model, `file:${model}`);
  assert.equal(rec.layer, 'last_hidden_state[mean]');
  const noCard = await reprobe(['probe', '-b', model, '-d', 'mnist']);
  assert.equal(noCard.code, 2);
  assert.match(noCard.err, /is a model file: give its card with --card card\.json/);
  const badCard = join(dir, 'bad.json');
  writeFileSync(badCard, JSON.stringify({ input: { height: 32, width: 32 }, output: { name: 'x', pooling: 'max' } }));
  const bad = await reprobe(['probe', '-b', model, '--card', badCard, '-d', 'mnist']);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /Invalid "output.pooling" in .*bad\.json/);
});
