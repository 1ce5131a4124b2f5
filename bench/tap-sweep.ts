// Which layer of each embedded backbone gives the best frozen features? Extracts every swept tap in one pass (a
// multi-output converted graph) on real UC Merced images (10 train + 3 val per class, the rest test, seed 0) and
// scores the kNN and LR probes per tap. Keeps each card's `tap` justified. Falls back to MNIST without ../shared.
import { join } from 'node:path';
import { EMBEDDED_CARDS as CARDS } from '../src/backbones/cards/embedded.ts';
import { convertedOnnx } from '../src/backbones/keras-backbone.ts';
import { loadNsfwjsModel } from '../src/backbones/keras/nsfwjs-files.ts';
import { openOnnx } from '../src/runtime/ort.ts';
import { decodeForCard, packBatch } from '../src/features/preprocess.ts';
import { loadDataset } from '../src/data/registry.ts';
import { drawSplit, splitSource } from '../src/data/split.ts';
import { runKnnProbe } from '../src/probes/knn-probe.ts';
import { runLogRegProbe } from '../src/probes/logreg-probe.ts';
import { accuracy } from '../src/metrics/classification.ts';
import { takeRows, vstack, type Matrix } from '../src/util/matrix.ts';
import { sharedDir } from './common.ts';

const shared = sharedDir();
const spec = process.argv[2] || (shared ? `folder:${join(shared, 'data', 'ucmerced', 'Images')}` : 'mnist');
const only = process.argv[3];
const ds = await loadDataset(spec);
const split = drawSplit(splitSource(ds), { protocol: 'shots', shots: 10, valPerClass: 3, seed: 0, testPerClass: spec === 'mnist' ? 50 : undefined });
const order = [...split.train, ...split.val, ...split.tests.test];
const labels = Int32Array.from(order, (i) => ds.samples[i].label);
const nTr = split.train.length;
const nVa = split.val.length;
console.log(`${ds.name}: train/val/test ${nTr}/${nVa}/${split.tests.test.length}`);
for (const card of CARDS.filter((c) => !only || c.id === only)) {
  const files = loadNsfwjsModel(card.source.model);
  const session = await openOnnx(await convertedOnnx(card, files, card.altTaps));
  const perTap: Matrix[][] = card.altTaps.map(() => []);
  for (let i = 0; i < order.length; i += 16) {
    const imgs = await Promise.all(order.slice(i, i + 16).map((k) => decodeForCard(ds.samples[k].source, card)));
    const outs = await session.run(packBatch(imgs, card), [imgs.length, card.input.height, card.input.width, 3]);
    outs.forEach((m, t) => perTap[t].push(m));
  }
  await session.dispose();
  console.log(`\n${card.id} (card tap: ${card.tap})\nlayer                  dim   knn     lr`);
  for (const [t, tap] of card.altTaps.entries()) {
    const x = vstack(perTap[t]);
    const rows = (a: number, b: number) => takeRows(x, Array.from({ length: b - a }, (_, j) => a + j));
    const input = { train: rows(0, nTr), trainLabels: labels.slice(0, nTr), val: rows(nTr, nTr + nVa), valLabels: labels.slice(nTr, nTr + nVa), test: rows(nTr + nVa, order.length), testLabels: labels.slice(nTr + nVa), numClasses: ds.classes.length };
    const knn = accuracy(input.testLabels, (await runKnnProbe(input)).testPred);
    const lr = accuracy(input.testLabels, (await runLogRegProbe(input)).testPred);
    console.log(`${tap.padEnd(22)} ${String(x.cols).padStart(4)}  ${knn.toFixed(3)}  ${lr.toFixed(3)}${tap === card.tap ? '  <- card' : ''}`);
  }
}
