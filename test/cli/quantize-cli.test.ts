import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { OnnxGraph } from '../../src/runtime/onnx-graph.ts';
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
  assert.match(q.out, /cosine to the float model's "last_hidden_state" on 4 noise images: worst 0\.99\d+, mean 0\.99\d+ \(>= --min-cosine 0\.99;/);
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

/**
 * Pixels [1,3,8,8] → Flatten → MatMul by W [192, 16] → `features`: W is small except one entry 1000x larger, so one
 * scale for the whole tensor (--no-per-channel) rounds all but that entry to 0 and the copy is far from the float model.
 */
function outlierModel(dir: string): { model: string; card: string } {
  const g = new OnnxGraph();
  const w = Float32Array.from({ length: 192 * 16 }, (_, i) => Math.sin(i * 12.9898) * 0.01);
  w[5] = 10;
  g.node('MatMul', [g.node('Flatten', ['pixel_values'], { axis: 1 }), g.float('w', [192, 16], w)], {}, 'features');
  const [model, card] = [join(dir, 'outlier.onnx'), join(dir, 'outlier.card.json')];
  writeFileSync(model, g.encodeModel({ name: 'outlier', inputs: [{ name: 'pixel_values', dims: [1, 3, 8, 8] }], outputs: [{ name: 'features', dims: [1, 16] }] }));
  writeFileSync(card, JSON.stringify({ id: 'outlier', input: { height: 8, width: 8 }, output: { name: 'features', pooling: 'none' } }));
  return { model, card };
}

test('models quantize refuses a copy below --min-cosine (exit 2, one line with the numbers, nothing written); --force writes it and says so', () => {
  const dir = tempDir();
  const { model, card } = outlierModel(dir);
  const out = join(dir, 'q', 'outlier-int8.onnx');
  const low = reprobe(['models', 'quantize', model, '--card', card, '--out', out, '--no-per-channel']);
  assert.equal(low.code, 2, low.out + low.err);
  assert.equal(low.err.trim().split('\n').length, 1, low.err);
  assert.match(low.err, /outlier: the int8 copy's cosine to the float model's "features" on 4 noise images: worst 0\.\d+, mean 0\.\d+, below --min-cosine 0\.99; nothing written/);
  assert.ok(!existsSync(out) && !existsSync(join(dir, 'q', 'outlier-int8.card.json')));
  const forced = reprobe(['models', 'quantize', model, '--card', card, '--out', out, '--no-per-channel', '--force']);
  assert.equal(forced.code, 0, forced.err);
  assert.match(forced.out, /BELOW --min-cosine 0\.99, written because of --force/);
  assert.ok(existsSync(out));
  // The threshold is a flag: the same good tiny ViT is refused when asked for more than it reaches.
  writeFileSync(join(dir, 'vit.onnx'), tinyVit({ size: 32, patch: 8, width: 16, dim: 24, layers: 2 }));
  writeFileSync(join(dir, 'vit.json'), JSON.stringify({ id: 'vit', input: { height: 32, width: 32 }, output: { name: 'last_hidden_state', pooling: 'cls' } }));
  const strict = reprobe(['models', 'quantize', join(dir, 'vit.onnx'), '--card', join(dir, 'vit.json'), '--out', join(dir, 'v.onnx'), '--min-cosine', '1.0001']);
  assert.equal(strict.code, 2, strict.out);
  assert.match(strict.err, /below --min-cosine 1\.0001; nothing written/);
  assert.ok(!existsSync(join(dir, 'v.onnx')));
});
