import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { OnnxGraph } from '../../src/runtime/onnx-graph.ts';
import { tempDir } from '../helpers.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'reprobe.mjs');

/** A model whose 3 features are log(mean channel value): NaN for the dark images (their normalised mean is negative). */
function logModel(): Uint8Array {
  const g = new OnnxGraph();
  g.node('Log', [g.node('Flatten', [g.node('GlobalAveragePool', ['pixel_values'])], { axis: 1 })], {}, 'features');
  return g.encodeModel({ name: 'log', inputs: [{ name: 'pixel_values', dims: ['batch', 3, 16, 16] }], outputs: [{ name: 'features', dims: ['batch', 3] }] });
}

test('NaN features are refused by probe, cluster and finetune --train head alike, naming the image', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'log.onnx'), logModel());
  const card = { id: 'log', summary: 'generated', weights: 'random', input: { name: 'pixel_values', height: 16, width: 16, layout: 'NCHW' }, preprocess: { resize: 'stretch', interpolation: 'bilinear', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] }, output: { name: 'features', pooling: 'none' } };
  writeFileSync(join(dir, 'log.json'), JSON.stringify(card));
  const data = join(dir, 'data');
  for (const [c, shade] of [['bright', 250], ['dark', 10]] as const) {
    mkdirSync(join(data, c), { recursive: true });
    for (let i = 0; i < 6; i++) await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: shade - i, g: shade, b: shade } } }).png().toFile(join(data, c, `${i}.png`));
  }
  for (const [cmd, extra] of [['probe', ['--probe', 'knn']], ['cluster', []], ['finetune', ['--train', 'head', '--max-epochs', '2']]] as const) {
    const results = join(dir, `results-${cmd}`);
    const r = spawnSync(process.execPath, [bin, cmd, '-b', join(dir, 'log.onnx'), '--card', join(dir, 'log.json'), '-d', `folder:${data}`, '--shots', '2', '--val-per-class', '1', '--no-cache', '--results-dir', results, ...extra], { encoding: 'utf8', env: { ...process.env, REPROBE_HOME: dir } });
    assert.equal(r.status, 2, `${cmd}: ${r.stderr}`);
    assert.match(r.stderr.trim().split('\n').at(-1)!, /^reprobe: The .*log\.onnx features hold a non-finite value \(NaN\) at image dark\/\d\.png/, cmd);
    assert.equal(existsSync(join(results, 'records')) && spawnSync('ls', [join(results, 'records')], { encoding: 'utf8' }).stdout.trim() !== '', false, `${cmd}: no record`);
  }
});
