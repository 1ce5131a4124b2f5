// Extraction throughput of the embedded backbones: reprobe's path (decode + resize + inference, pipelined) vs a bare
// inference loop over pre-made tensors of the same model and batch, and vs the tfjs backend tfjs would use.
// Targets (issue 3): mobilenet-v2 >= 100 images/s, inception-v3 >= 10 on a 2-core machine.
import { join } from 'node:path';
import { EMBEDDED_CARDS as CARDS } from '../src/backbones/cards/embedded.ts';
import { loadNsfwjsModel } from '../src/backbones/keras/nsfwjs-files.ts';
import { decodeForCard, packBatch } from '../src/features/preprocess.ts';
import { openBackbone } from '../src/backbones/registry.ts';
import { loadTfjsModel, tfjsBackend } from '../src/runtime/tfjs.ts';
import { loadFolder } from '../src/data/folder.ts';
import { loadMnist } from '../src/data/mnist.ts';
import type { Sample } from '../src/data/types.ts';
import { extractFeatures } from '../src/features/extract.ts';
import { sharedDir, spread } from './common.ts';

const BATCH = 16;
const shared = sharedDir();
const sets: [string, Sample[]][] = [['mnist', (await loadMnist()).samples]];
if (shared) sets.push(['ucmerced', (await loadFolder(join(shared, 'data', 'ucmerced', 'Images'))).samples]);
else console.log('(../shared missing: UC Merced rows skipped)');

const targets: Record<string, number> = { 'mobilenet-v2': 100, 'inception-v3': 10 };
console.log(`tfjs backend available: ${await tfjsBackend()}`);
console.log('backbone      data      images  reprobe img/s  bare-ORT img/s  ratio  tfjs img/s  ORT/tfjs  target');
for (const card of CARDS) {
  const n = card.id === 'inception-v3' ? 96 : 480;
  const bb = await openBackbone(card.id, { runtime: 'onnx' });
  for (const [name, all] of sets) {
    const samples = spread(all, n);
    await extractFeatures(bb, samples.slice(0, BATCH), { batchSize: BATCH }); // warm-up
    const e2e = await extractFeatures(bb, samples, { batchSize: BATCH });
    const batches: Float32Array[] = [];
    for (let i = 0; i < samples.length; i += BATCH) batches.push(packBatch(await Promise.all(samples.slice(i, i + BATCH).map((s) => decodeForCard(s.source, card))), card));
    const t0 = performance.now();
    for (const b of batches) await bb.embed(b, b.length / (card.input.height * card.input.width * 3));
    const bare = samples.length / ((performance.now() - t0) / 1000);
    let tfjs = NaN;
    if (name === 'mnist') {
      const model = await loadTfjsModel(loadNsfwjsModel(card.source.model), [card.tap]);
      const dims = [4, card.input.height, card.input.width, 3];
      await model.run(batches[0].subarray(0, 4 * dims[1] * dims[2] * 3), dims);
      const t1 = performance.now();
      await model.run(batches[0].subarray(0, 4 * dims[1] * dims[2] * 3), dims);
      tfjs = 4 / ((performance.now() - t1) / 1000);
      model.dispose();
    }
    const row = [card.id.padEnd(12), name.padEnd(8), String(samples.length).padStart(6), e2e.imagesPerSecond.toFixed(1).padStart(13), bare.toFixed(1).padStart(14), (e2e.imagesPerSecond / bare).toFixed(2).padStart(5), tfjs.toFixed(1).padStart(10), (e2e.imagesPerSecond / tfjs).toFixed(1).padStart(8), `${e2e.imagesPerSecond >= targets[card.id] ? 'met' : 'MISSED'} (>= ${targets[card.id]})`];
    console.log(row.join('  '));
  }
  await bb.dispose();
}
