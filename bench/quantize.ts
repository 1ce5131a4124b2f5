// int8 dynamic quantization (issue 18, "a fast path that proves itself"): speed-up and fidelity side by side, one run.
// For each model, the float32 graph and its `reprobe models quantize` copies, on the same threads and images:
// - bare: images/s of InferenceSession.run on one fixed batch of preprocessed real images (rounds interleaved, each
//   model keeps its best round: this VM's noise only ever slows a run down);
// - end to end: images/s of reprobe's extraction (decode + resize + pack on the worker thread, then the model) over the
//   probe split's images;
// - fidelity: cosine between the float and int8 features of each of those images (mean, worst), and the kNN / LR
//   probe test accuracy from float vs int8 features on the same split (UC Merced 10 shots + 3 val + --test per class;
//   MNIST digits without ../shared).
// Models: the embedded MobileNetV2 and InceptionV3 (real weights; their graphs are all Conv: nothing to quantize but
// with `--conv`), every cached hub model, and the torchvision ViT-B/32 export of `npm run bench:onnx` when it is in
// $REPROBE_HOME/bench (random weights: its speed is a real ViT-B/32's, its fidelity is not a trained model's).
//   npm run bench:quantize [-- --threads 2 --batch 16 --rounds 3 --test 20 --only mobilenet-v2,vit_b_32]
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCardFile } from '../src/backbones/card-file.ts';
import { EMBEDDED_CARDS } from '../src/backbones/cards/embedded.ts';
import { STUDY_CARDS } from '../src/backbones/cards/study.ts';
import { findCached } from '../src/backbones/hub.ts';
import { convertedOnnx, openKerasBackbone } from '../src/backbones/keras-backbone.ts';
import { loadNsfwjsModel } from '../src/backbones/keras/nsfwjs-files.ts';
import { openOnnxBackbone } from '../src/backbones/onnx-backbone.ts';
import { quantizeDynamic, type QuantizeOptions } from '../src/runtime/quantize.ts';
import { quantizedCard } from '../src/backbones/quantized-card.ts';
import { cardHubFiles } from '../src/backbones/registry.ts';
import { isKerasCard, type Backbone, type Card } from '../src/backbones/types.ts';
import { loadFolder } from '../src/data/folder.ts';
import { loadMnist } from '../src/data/mnist.ts';
import { drawSplit, splitSource } from '../src/data/split.ts';
import { extractFeatures } from '../src/features/extract.ts';
import { decodeForCard, packBatch } from '../src/features/preprocess.ts';
import { getProbe } from '../src/probes/registry.ts';
import { formatTable } from '../src/report/table.ts';
import { takeRows, type Matrix } from '../src/util/matrix.ts';
import { openOnnx } from '../src/runtime/ort.ts';
import { reprobeHome } from '../src/util/paths.ts';
import { sharedDir } from './common.ts';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const THREADS = arg('threads', availableParallelism());
const BATCH = arg('batch', 16);
const ROUNDS = arg('rounds', 3);
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1].split(',') : undefined;
const wanted = (name: string) => !only || only.some((o) => name.startsWith(o));
const shared = sharedDir();
const ds = shared ? await loadFolder(join(shared, 'data', 'ucmerced', 'Images')) : await loadMnist();
const split = drawSplit(splitSource(ds), { protocol: 'shots', shots: 10, valPerClass: 3, testPerClass: arg('test', 20), seed: 0 });
const order = [...split.train, ...split.val, ...split.tests.test];
const samples = order.map((i) => ds.samples[i]);
const rowsOf = (ids: number[]) => ids.map((i) => order.indexOf(i));
const labelsOf = (ids: number[]) => Int32Array.from(ids, (i) => ds.samples[i].label);
const dir = mkdtempSync(join(tmpdir(), 'reprobe-bench-quantize-'));

interface Model {
  name: string;
  card: Card;
  float: Uint8Array;
  /** Opens the float model as reprobe runs it. */
  open(): Promise<Backbone>;
  variants: [string, QuantizeOptions][];
  realWeights: boolean;
}

const models: Model[] = [];
for (const card of EMBEDDED_CARDS.filter((c) => wanted(c.id))) {
  const float = await convertedOnnx(card, loadNsfwjsModel(card.source.model), [card.tap]);
  const variants: Model['variants'] = [['int8', {}], ['int8 --conv', { conv: true }]];
  models.push({ name: card.id, card, float, open: () => openKerasBackbone(card, { runtime: 'onnx', threads: THREADS }), variants, realWeights: true });
}
for (const card of STUDY_CARDS.filter((c) => wanted(c.id))) {
  const path = cardHubFiles(card).map(findCached)[0];
  if (path) models.push({ name: card.id, card, float: new Uint8Array(readFileSync(path)), open: () => openOnnxBackbone(card, path, { threads: THREADS }), variants: [['int8', {}]], realWeights: true });
}
const vitPath = join(reprobeHome(), 'bench', 'vit_b_32.onnx');
if (existsSync(vitPath) && wanted('vit_b_32')) {
  const card = parseCardFile({ id: 'vit_b_32', input: { height: 224, width: 224 }, preprocess: { resizeTo: 256 }, output: { name: 'pooler_output' } }, vitPath);
  models.push({ name: 'vit_b_32 (random weights)', card, float: new Uint8Array(readFileSync(vitPath)), open: () => openOnnxBackbone(card, vitPath, { threads: THREADS }), variants: [['int8', {}]], realWeights: false });
}

const cosines = (a: Matrix, b: Matrix) =>
  Array.from({ length: a.rows }, (_, r) => {
    let [ab, aa, bb] = [0, 0, 0];
    for (let i = r * a.cols; i < (r + 1) * a.cols; i++) [ab, aa, bb] = [ab + a.data[i] * b.data[i], aa + a.data[i] ** 2, bb + b.data[i] ** 2];
    return ab / Math.sqrt(aa * bb);
  });

/** kNN and LR test accuracy on the split, from one model's features (rows in `order`). */
async function probes(x: Matrix): Promise<Record<string, number>> {
  const input = {
    train: takeRows(x, rowsOf(split.train)),
    trainLabels: labelsOf(split.train),
    val: takeRows(x, rowsOf(split.val)),
    valLabels: labelsOf(split.val),
    test: takeRows(x, rowsOf(split.tests.test)),
    testLabels: labelsOf(split.tests.test),
    numClasses: ds.classes.length,
  };
  const out: Record<string, number> = {};
  for (const p of ['knn', 'lr']) {
    const { testPred } = await getProbe(p).run(input, {});
    out[p] = testPred.filter((y, i) => y === input.testLabels[i]).length / testPred.length;
  }
  return out;
}

const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');
const flags = ['avx2', 'avx512f', 'avx512_vnni', 'avx_vnni'].filter((f) => new RegExp(`\\b${f}\\b`).test(existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : ''));
console.log(`${cpus()[0]?.model} (${flags.join(', ')}), ${THREADS} threads, batch ${BATCH}, ${ROUNDS} rounds; load average at start ${load()}`);
console.log(`images: ${shared ? 'UC Merced' : 'MNIST'}, ${split.train.length}/${split.val.length}/${split.tests.test.length} train/val/test (seed 0)\n`);

const rows: (string | number)[][] = [];
const fmt = (v: number, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : '-');
const pts = (v: number) => `${v >= 0 ? '+' : ''}${(100 * v).toFixed(1)}`;
for (const m of models) {
  const built = m.variants.map(([label, opt]) => ({ label, ...quantizeDynamic(m.float, opt) })).filter((v) => v.summary.quantized.length > 0);
  for (const [label] of m.variants) if (!built.some((b) => b.label === label)) console.log(`${m.name} ${label}: nothing to quantize`);
  if (!built.length) continue;
  // Bare throughput: every variant on the same batch, rounds interleaved.
  const imgs = await Promise.all(samples.slice(0, BATCH).map((s) => decodeForCard(s.source, m.card)));
  const { height: h, width: w, layout } = m.card.input;
  const dims = layout === 'NHWC' ? [BATCH, h, w, 3] : [BATCH, 3, h, w];
  const batch = packBatch(imgs, m.card);
  // A Keras conversion's one output is its pooled tap (the graph keeps its names).
  const outName = isKerasCard(m.card) ? built[0].summary.outputs[0] : m.card.output.name;
  const sessions = [await openOnnx(m.float, { threads: THREADS }), ...(await Promise.all(built.map((b) => openOnnx(b.bytes, { threads: THREADS }))))];
  const best = sessions.map(() => Infinity);
  for (let r = 0; r < ROUNDS; r++)
    for (const [i, s] of sessions.entries()) {
      const t0 = performance.now();
      await s.run(batch, dims, [outName]);
      best[i] = Math.min(best[i], (performance.now() - t0) / 1000);
    }
  for (const s of sessions) await s.dispose();
  // End to end through reprobe's extraction, then fidelity on the features.
  const extract = async (bb: Backbone) => {
    try {
      return await extractFeatures(bb, samples, { batchSize: BATCH });
    } finally {
      await bb.dispose();
    }
  };
  const ref = await extract(await m.open());
  const refProbes = m.realWeights ? await probes(ref.features) : undefined;
  rows.push([m.name, 'float32', '', fmt(m.float.length / 1e6), fmt(BATCH / best[0]), '1.00', fmt(ref.imagesPerSecond), '1.00', '', '', refProbes ? fmt(refProbes.knn, 3) : '-', refProbes ? fmt(refProbes.lr, 3) : '-']);
  for (const [i, v] of built.entries()) {
    const path = join(dir, `${m.card.id}-${i}.onnx`);
    await writeFile(path, v.bytes);
    const card = parseCardFile(quantizedCard(m.card, { input: v.summary.inputs[0], output: v.summary.outputs[0] }, v.label), path);
    const got = await extract(await openOnnxBackbone(card, path, { threads: THREADS }));
    const cos = cosines(ref.features, got.features);
    const p = refProbes && (await probes(got.features));
    const ops = [...new Set(v.summary.quantized.map((q) => q.op))].map((op) => `${v.summary.quantized.filter((q) => q.op === op).length} ${op}`).join(', ');
    rows.push([
      '',
      v.label,
      ops,
      fmt(v.bytes.length / 1e6),
      fmt(BATCH / best[i + 1]),
      (best[0] / best[i + 1]).toFixed(2),
      fmt(got.imagesPerSecond),
      (got.imagesPerSecond / ref.imagesPerSecond).toFixed(2),
      (cos.reduce((a, b) => a + b, 0) / cos.length).toFixed(4),
      Math.min(...cos).toFixed(4),
      p ? `${fmt(p.knn, 3)} (${pts(p.knn - refProbes!.knn)})` : '-',
      p ? `${fmt(p.lr, 3)} (${pts(p.lr - refProbes!.lr)})` : '-',
    ]);
  }
  console.log(`${m.name} done (load average ${load()})`);
}
console.log('\n' + formatTable(['model', 'graph', 'quantized', 'MB', 'bare img/s', 'x', 'e2e img/s', 'x', 'cos mean', 'cos worst', 'knn acc (pts)', 'lr acc (pts)'], rows));
console.log(`\nload average at end ${load()} (other jobs shared the machine when it is above ${THREADS})`);
