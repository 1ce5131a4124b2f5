import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { EMBEDDED_CARDS } from '../../src/backbones/cards/embedded.ts';
import { decodeForCard, packBatch } from '../../src/features/preprocess.ts';
import { prepareBatch, type BatchItem } from '../../src/features/prepare-batch.ts';
import { Preparer, prepareOffThread } from '../../src/features/preparer.ts';
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

test('when the preparation thread dies, its pending batches and later ones are prepared on the main thread', async () => {
  const card = EMBEDDED_CARDS[0];
  const items: BatchItem[] = Array.from({ length: 3 }, (_, i) => ({ id: `r${i}`, source: { kind: 'raw', data: new Uint8Array(28 * 28).fill(40 * i), width: 28, height: 28, channels: 1 } }));
  const preparer = new Preparer();
  await preparer.prepare(items, card); // the thread is up
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  const pending = preparer.prepare(items, card);
  await preparer.kill();
  const after = await pending;
  const later = await preparer.prepare(items.slice(1), card);
  process.off('warning', onWarning);
  assert.match(warnings.join('\n'), /preparation thread exited.*main thread/);
  const want = await prepareBatch(items, card);
  assert.deepEqual(after, want);
  assert.deepEqual(later.input, want.input.subarray(want.input.length / 3));
});
