import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tinyConvNet, tinyVit } from '../fixtures/onnx-fixtures.ts';
import { tempDir } from '../helpers.ts';
import { trainThreads } from '../../src/train/parallel.ts';

const home = tempDir();
const bin = join(import.meta.dirname, '..', '..', 'bin', 'reprobe.mjs');
const env = { ...process.env, REPROBE_HOME: home };

function reprobe(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const readJsonl = (path: string) => readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
/** A small MNIST cell: 3 training, 1 validation, 2 test digits per class. */
const SMALL = ['--backbone', 'mobilenet-v2', '--dataset', 'mnist', '--shots', '3', '--val-per-class', '1', '--test-per-class', '2'];
/** The least a run needs: one training, one validation, one test digit per class (for checks of sameness, not of learning). */
const TINY = ['--backbone', 'mobilenet-v2', '--dataset', 'mnist', '--shots', '1', '--val-per-class', '1', '--test-per-class', '1'];

test('finetune end to end: the last block and a head train on real digits, validation loss falls, records and curves land beside the probes', () => {
  const results = tempDir();
  assert.equal(reprobe('probe', ...SMALL, '--results-dir', results).code, 0);
  const r = reprobe('finetune', ...SMALL, '--train', 'last:1', '--max-epochs', '4', '--results-dir', results);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /model\s+ft_3\s+knn_3\s+lr_3/, 'the study table holds the probes of the same split');
  const [rec] = readJsonl(join(results, 'finetune.jsonl'));
  assert.equal(rec.method, 'finetune');
  assert.equal(rec.task, 'finetune');
  assert.equal(rec.train, 'last:1');
  assert.equal(rec.cut, 'block_12_add');
  assert.equal(rec.epochs_run, 4);
  assert.equal(rec.lr, 1e-5, "the study's learning rate by default");
  assert.match(String(rec.runtime), /onnxruntime.*→ tfjs .* \((wasm|cpu|tensorflow)\)/);
  // On wasm the matrix products ran on onnxruntime (the CLI's bundle loads its binding too), on the training threads the environment asks for.
  if (rec.tf_backend === 'wasm') assert.match(String(rec.matmul), /^onnxruntime \(\d+ threads?\)$/);
  if (rec.tf_backend === 'wasm') assert.equal(rec.train_threads, trainThreads());
  const curve = readJsonl(String(rec.curve));
  assert.deepEqual(curve.map((l) => l.epoch), [1, 2, 3, 4]);
  assert.ok((curve[3].val_loss as number) < (curve[0].val_loss as number), `validation loss ${curve.map((l) => l.val_loss).join(' → ')}`);
  assert.equal(rec.best_val_loss, Math.min(...curve.map((l) => l.val_loss as number)));
  // Its test predictions, kept beside the record, give back its accuracy; each image's top class is its prediction.
  const p = JSON.parse(readFileSync(String(rec.predictions), 'utf8')) as { ids: string[]; truth: number[]; pred: number[]; k: number; top_classes: number[] };
  assert.equal(p.ids.length, rec.n_test);
  assert.equal(p.truth.filter((t, i) => t === p.pred[i]).length / p.ids.length, rec.value);
  assert.ok(p.pred.every((c, i) => c === p.top_classes[i * p.k]));
});

test('a finetune run killed mid-training and resumed gives the record of an uninterrupted run', async () => {
  // 6 epochs: killed after 2 are on disk, the resumed run still trains the rest (with 12 this was the suite's slowest test).
  const args = [...SMALL, '--train', 'last:2', '--learning-rate', '1e-3', '--max-epochs', '6', '--patience', '6'];
  const whole = tempDir();
  assert.equal(reprobe('finetune', ...args, '--results-dir', whole).code, 0);
  const killed = tempDir();
  const child = spawn(process.execPath, [bin, 'finetune', ...args, '--results-dir', killed], { env, stdio: 'ignore' });
  const exited = new Promise((done) => child.on('exit', done));
  // Kill it once two epochs are on disk.
  for (;;) {
    await new Promise((r) => setTimeout(r, 20));
    const runs = existsSync(join(killed, 'runs')) ? readdirSync(join(killed, 'runs')) : [];
    const curve = runs.length ? join(killed, 'runs', runs[0], 'epochs.jsonl') : '';
    if (curve && existsSync(curve) && readFileSync(curve, 'utf8').trim().split('\n').length >= 2) break;
  }
  child.kill('SIGKILL');
  await exited;
  assert.ok(!existsSync(join(killed, 'finetune.jsonl')), 'killed before it finished');
  const r = reprobe('finetune', ...args, '--results-dir', killed, '--resume');
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /resuming .* after epoch \d+/);
  const [a] = readJsonl(join(whole, 'finetune.jsonl'));
  const [b] = readJsonl(join(killed, 'finetune.jsonl'));
  assert.ok((b.resumed_at_epoch as number) >= 2);
  const same = ['value', 'accuracy', 'epochs_run', 'best_epoch', 'best_val_loss', 'val_accuracy', 'split_hash', 'cell_id'];
  assert.deepEqual(Object.fromEntries(same.map((k) => [k, b[k]])), Object.fromEntries(same.map((k) => [k, a[k]])));
  const strip = (path: string) => readJsonl(path).map(({ seconds: _s, ...l }) => l);
  assert.deepEqual(strip(String(b.curve)), strip(String(a.curve)));
  // Resuming a finished run re-scores it and appends nothing: the record is there once.
  assert.equal(reprobe('finetune', ...args, '--results-dir', killed, '--resume').code, 0);
  assert.equal(readJsonl(join(killed, 'finetune.jsonl')).length, 1);
});

test('--augment trains from the cached preprocessed images through the frozen part, seeded: two runs give one record', () => {
  const runs = [tempDir(), tempDir()].map((results) => {
    // Every augmented epoch runs the training images through the frozen part again: one per class is enough here.
    const r = reprobe('finetune', ...TINY, '--train', 'last:1', '--augment', '--learning-rate', '1e-3', '--max-epochs', '2', '--results-dir', results);
    assert.equal(r.code, 0, r.err);
    return readJsonl(join(results, 'finetune.jsonl'))[0];
  });
  assert.equal(runs[0].augment, true);
  assert.equal(runs[0].cut, 'block_12_add');
  for (const k of ['value', 'best_val_loss', 'epochs_run']) assert.equal(runs[1][k], runs[0][k], k);
});

test('finetune refuses a bad train mode, and N above the block count, with one line', () => {
  const bad = reprobe('finetune', ...TINY, '--train', 'some');
  assert.equal(bad.code, 2);
  assert.equal(bad.err.trim().split('\n').length, 1, bad.err);
  assert.match(bad.err, /Invalid --train: expected head, last:N/);
  const big = reprobe('finetune', ...TINY, '--train', 'last:99', '--results-dir', tempDir());
  assert.equal(big.code, 2, big.err);
  assert.match(big.err.trim().split('\n').at(-1)!, /^reprobe: --train last:99: the backbone has 15 blocks up to its tap .*; N is at most 15\.$/);
  const twice = reprobe('finetune', ...TINY, '--seed', '5', '--seed', '1');
  assert.equal(twice.code, 2);
  assert.equal(twice.err.trim(), 'reprobe: --seed is given more than once; give it once.', 'not silently 6');
  const two = reprobe('finetune', ...TINY, '--train', 'head,all');
  assert.equal(two.code, 2);
  assert.match(two.err, /^reprobe: Invalid --train: .*array/);
  const noVal = reprobe('finetune', ...TINY.map((a, i) => (TINY[i - 1] === '--val-per-class' ? '0' : a)), '--train', 'head', '--results-dir', tempDir());
  assert.equal(noVal.code, 2, noVal.err);
  assert.match(noVal.err.trim().split('\n').at(-1)!, /^reprobe: Early stopping needs validation images; the split has none/);
});

test('an ONNX backbone fine-tunes through the tfjs translation: all of it from the pixels, or a head on its features', () => {
  const dir = tempDir();
  const model = join(dir, 'convnet.onnx');
  writeFileSync(model, tinyConvNet({ size: 32, stride: 4, dim: 12, channels: 6 }));
  const card = join(dir, 'convnet.json');
  writeFileSync(
    card,
    JSON.stringify({
      id: 'tiny-convnet',
      summary: 'generated',
      weights: 'random',
      input: { name: 'pixel_values', height: 32, width: 32, layout: 'NCHW' },
      preprocess: { resize: 'stretch', interpolation: 'bilinear', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
      output: { name: 'pooler_output', pooling: 'none' },
    }),
  );
  const args = ['--backbone', model, '--card', card, '--dataset', 'mnist', '--shots', '3', '--val-per-class', '1', '--test-per-class', '2', '--learning-rate', '1e-2', '--max-epochs', '3'];
  const results = tempDir();
  for (const mode of ['all', 'head']) {
    const r = reprobe('finetune', ...args, '--train', mode, '--results-dir', results);
    assert.equal(r.code, 0, r.err);
  }
  const [all, head] = readJsonl(join(results, 'finetune.jsonl'));
  assert.equal(all.cut, 'pixels');
  assert.equal(all.trained_params, 6 * 3 * 4 * 4 + 6 + 6 * 6 * 9 + 6 + 6 * 12 + 12 * 10 + 10, 'every weight of the model, and the head');
  assert.equal(head.trained_params, 12 * 10 + 10);
  const curve = readJsonl(String(all.curve));
  assert.ok((curve[2].val_loss as number) < (curve[0].val_loss as number), `validation loss ${curve.map((l) => l.val_loss).join(' → ')}`);
  const last = reprobe('finetune', ...args, '--train', 'last:1', '--results-dir', results);
  assert.equal(last.code, 2);
  assert.match(last.err.trim().split('\n').at(-1)!, /^reprobe: --train last:1: the card of .* lists no blocks .*--train head.*--train all/);
});

test('an ONNX backbone whose card lists blocks trains its last N: the prefix cut at a block end on onnxruntime, the rest translated', () => {
  const dir = tempDir();
  const model = join(dir, 'vit.onnx');
  writeFileSync(model, tinyVit({ size: 32, patch: 8, dim: 12, layers: 3, fixedSpatial: true }));
  const card = join(dir, 'vit.json');
  writeFileSync(
    card,
    JSON.stringify({
      id: 'tiny-vit',
      input: { name: 'pixel_values', height: 32, width: 32, layout: 'NCHW' },
      preprocess: { resize: 'stretch', interpolation: 'bilinear', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
      output: { name: 'last_hidden_state', pooling: 'cls' },
      blocks: '^/encoder/layer\\.\\d+/output/Add_output_0$',
    }),
  );
  const results = tempDir();
  const r = reprobe('finetune', '--backbone', model, '--card', card, '--dataset', 'mnist', '--shots', '3', '--val-per-class', '1', '--test-per-class', '2', '--learning-rate', '1e-2', '--max-epochs', '3', '--train', 'last:2', '--results-dir', results);
  assert.equal(r.code, 0, r.err);
  const [rec] = readJsonl(join(results, 'finetune.jsonl'));
  // Three layers, three blocks: the projection after the last layer trains with it.
  assert.equal(rec.cut, '/encoder/layer.0/output/Add_output_0');
  // The second and third layers (LayerNorm 2 x 8, two 8 x 8 matrices each), the projection to 12 (8 x 12 + 12) and the head (12 x 10 + 10).
  assert.equal(rec.trained_params, 2 * (16 + 128) + 108 + 130);
  const curve = readJsonl(String(rec.curve));
  assert.ok((curve[2].val_loss as number) < (curve[0].val_loss as number), `validation loss ${curve.map((l) => l.val_loss).join(' → ')}`);
  const big = reprobe('finetune', '--backbone', model, '--card', card, '--dataset', 'mnist', '--shots', '3', '--test-per-class', '2', '--train', 'last:4', '--results-dir', results);
  assert.equal(big.code, 2);
  assert.match(big.err.trim().split('\n').at(-1)!, /the backbone has 3 blocks up to its tap/);
});
