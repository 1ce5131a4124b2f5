import assert from 'node:assert/strict';
import test from 'node:test';
import { loadNsfwjsModel } from '../../src/backbones/keras/nsfwjs-files.ts';
import { resolveCard } from '../../src/backbones/registry.ts';
import type { KerasCard } from '../../src/backbones/types.ts';
import { kerasTrainModel } from '../../src/finetune/keras-model.ts';
import { tfjsBackend } from '../../src/runtime/tfjs.ts';
import { microBatchFor } from '../../src/train/micro-batch.ts';

const MiB = 2 ** 20;

test('micro-batches: as many examples as fit 1 GiB at 3 bytes of heap per activation byte, at least one, at most the batch', () => {
  // By hand: 1024 / (3 · 78.7) = 4.34; 1024 / (3 · 4.2) = 81; 1024 / (3 · 2048) < 1.
  assert.equal(microBatchFor(78.7 * MiB, 16), 4);
  assert.equal(microBatchFor(4.2 * MiB, 16), 16);
  assert.equal(microBatchFor(2048 * MiB, 16), 1);
  assert.equal(microBatchFor(undefined, 16), 16);
  assert.equal(microBatchFor(78.7 * MiB, 16, 4 * 2 ** 30), 16); // 4096 / 236.1 = 17.3, capped at the batch
});

test('MobileNetV2 reports its activations: from the pixels it trains in micro-batches of 6, its last two blocks in whole batches of 16', async () => {
  await tfjsBackend();
  const card = resolveCard('mobilenet-v2') as KerasCard;
  const files = loadNsfwjsModel(card.source.model);
  const all = await kerasTrainModel(files, { from: files.layers[0].name, trainAfter: files.layers[0].name, tap: card.tap, numClasses: 2, seed: 0 });
  const last2 = await kerasTrainModel(files, { from: 'block_11_add', trainAfter: 'block_11_add', tap: card.tap, numClasses: 2, seed: 0 });
  try {
    // The stem's first output alone is 112·112·32 floats = 1.53 MiB per image.
    assert.ok(all.activationBytes! > 112 * 112 * 32 * 4);
    // 56.8 MiB per image once batch norm and relu6 are one step (their batch-norm outputs are not kept): 1 GiB / (3 · 56.8 MiB).
    assert.equal(microBatchFor(all.activationBytes, 16), 6);
    assert.equal(microBatchFor(last2.activationBytes, 16), 16);
  } finally {
    all.dispose();
    last2.dispose();
  }
});
