import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tinyVit } from '../fixtures/onnx-fixtures.ts';
import { tempDir } from '../helpers.ts';

const home = tempDir();
const bin = join(import.meta.dirname, '..', '..', 'bin', 'reprobe.mjs');

function reprobe(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, REPROBE_HOME: home, HF_HUB_CACHE: join(home, 'hf'), HF_HUB_OFFLINE: '1' } });
  return { code: r.status ?? 1, out: r.stdout, err: r.stderr };
}

test('models quantize FILE --card: writes the int8 model and its card; probe runs them with --backbone --card', () => {
  const dir = tempDir();
  const model = join(dir, 'vit.onnx');
  writeFileSync(model, tinyVit({ size: 32, patch: 8, width: 16, dim: 24, layers: 2 }));
  writeFileSync(join(dir, 'card.json'), JSON.stringify({ id: 'vit', input: { height: 32, width: 32 }, output: { name: 'last_hidden_state', pooling: 'cls' } }));
  const out = join(dir, 'q', 'vit-small.onnx');
  const q = reprobe(['models', 'quantize', model, '--card', join(dir, 'card.json'), '--out', out]);
  assert.equal(q.code, 0, q.err);
  assert.match(q.out, /^MatMul\s+5\s*$/m);
  assert.match(q.out, /\(MatMul\/Gemm int8 7-bit, per channel\)/);
  assert.match(q.out, /cosine to the float model's "last_hidden_state" on 4 noise images >= 0\.99/);
  const card = JSON.parse(readFileSync(join(dir, 'q', 'vit-small.card.json'), 'utf8'));
  assert.deepEqual([card.id, card.output, card.source], ['vit-int8', { name: 'last_hidden_state', pooling: 'cls' }, undefined]);
  const p = reprobe(['probe', '-b', out, '--card', join(dir, 'q', 'vit-small.card.json'), '-d', 'mnist', '--shots', '1', '--val-per-class', '1', '--test-per-class', '2', '--probe', 'knn', '--results-dir', join(dir, 'results')]);
  assert.equal(p.code, 0, p.err);
  assert.match(p.out, /vit-small\.onnx\s+knn\s+test\s+accuracy/);
});

test('models quantize on an embedded CNN: nothing without --conv (one line, exit 2); with --conv the file and card land in $REPROBE_HOME', () => {
  const none = reprobe(['models', 'quantize', 'mobilenet-v2']);
  assert.equal(none.code, 2);
  assert.equal(none.err.trim().split('\n').length, 1, none.err);
  assert.match(none.err, /mobilenet-v2: nothing to quantize .*--conv quantizes Conv weights/);
  const conv = reprobe(['models', 'quantize', 'mobilenet-v2', '--conv']);
  assert.equal(conv.code, 0, conv.err);
  assert.match(conv.out, /^Conv\s+27\s*$/m); // the 27 dense convs up to the tap; the 13 depthwise ones stay float
  assert.match(conv.out, /^Conv\s+13\s+grouped \(depthwise\) conv: no faster/m);
  assert.match(conv.out, /MatMul\/Gemm int8 7-bit, Conv uint8, per channel/);
  assert.match(conv.out, /40 BatchNormalization folded/);
  const file = join(home, 'models', 'quantized', 'mobilenet-v2-int8.onnx');
  assert.ok(existsSync(file) && existsSync(join(home, 'models', 'quantized', 'mobilenet-v2-int8.card.json')));
  assert.ok(conv.out.includes(`wrote ${file}`));
});

test('models quantize on a hub model that is not cached: exit 2, one line naming the file and the pull command', () => {
  const r = reprobe(['models', 'quantize', 'vit-b32']);
  assert.equal(r.code, 2);
  assert.equal(r.err.trim().split('\n').length, 1, r.err);
  assert.match(r.err, /vit-b32 is not cached here \(.*onnx\/model\.onnx\): `reprobe models pull vit-b32` fetches it/);
});
