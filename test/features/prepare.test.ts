import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { EMBEDDED_CARDS } from '../../src/backbones/cards/embedded.ts';
import { decodeForCard, packBatch } from '../../src/backbones/preprocess.ts';
import { prepareBatch, type BatchItem } from '../../src/features/prepare-batch.ts';
import { prepareOffThread } from '../../src/features/preparer.ts';
import { tempDir } from '../helpers.ts';

test('the preparation thread gives what preparing on the main thread gives: files, raw pixels, a corrupt file', async () => {
  const dir = tempDir();
  const items: BatchItem[] = [];
  for (let i = 0; i < 5; i++) {
    const px = Buffer.alloc(30 * 20 * 3);
    for (let p = 0; p < px.length; p++) px[p] = (p * 7 + i * 31) % 256;
    const path = join(dir, `${i}.jpg`);
    await sharp(px, { raw: { width: 30, height: 20, channels: 3 } }).jpeg().toFile(path);
    items.push({ id: `${i}.jpg`, source: { kind: 'file', path } });
  }
  writeFileSync(join(dir, 'broken.jpg'), 'not a jpeg');
  items.splice(2, 0, { id: 'broken.jpg', source: { kind: 'file', path: join(dir, 'broken.jpg') } });
  // A raw image that is a view into a bigger buffer, as MNIST's are.
  const whole = new Uint8Array(28 * 28 * 3).map((_, k) => k % 251);
  items.push({ id: 'raw', source: { kind: 'raw', data: whole.subarray(28 * 28, 2 * 28 * 28), width: 28, height: 28, channels: 1 } });
  const card = EMBEDDED_CARDS[0];
  const [off, here] = await Promise.all([prepareOffThread(items, card), prepareBatch(items, card)]);
  assert.deepEqual(off.kept, [0, 1, 3, 4, 5, 6]);
  assert.equal(off.skipped.length, 1);
  assert.equal(off.skipped[0].id, 'broken.jpg');
  assert.deepEqual(off, here);
  // Packed as they decode, then closed up over the corrupt one: the same as packing the decoded images in order.
  const decoded = await Promise.all(off.kept.map((k) => decodeForCard(items[k].source, card)));
  assert.deepEqual(off.input, packBatch(decoded, card));
});
