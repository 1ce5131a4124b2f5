// ONNX backbones (issues 4 and 6), images/s on the same model, batch and threads:
// - reprobe's ONNX adapter vs a bare InferenceSession.run loop over a pre-made tensor (target >= 0.9x);
// - reprobe end to end (decode + resize + pack + inference, pipelined) vs that bare loop (target >= 0.9x);
// - onnxruntime vs PyTorch CPU, model alone and end to end with PIL + torchvision transforms (target >= 2.4x);
// - the FLOP ceiling: the best float32 matrix-product rate measured on this machine (onnxruntime's MLAS and
//   torch's BLAS) divided by the model's FLOPs. A target above ceiling / PyTorch cannot be met without changing the
//   model's arithmetic;
// - the preparation bound: with every core busy, end to end is at most 1 / (1 + bare * prep CPU per image / threads)
//   of bare.
// Models: torchvision's vit_b_32, convnext_tiny and efficientnet_b2 (study architectures) exported to ONNX by
// tools/torch_bench.py (random weights: speed does not depend on them; needs Debian python3-torch, cached in
// $REPROBE_HOME/bench) and the shared ImageNet MobileNetV2 (int8). Rounds of bare, adapter and end-to-end runs are
// interleaved and each side keeps its best round: this VM's noise only ever slows a run down.
//   npm run bench:onnx [-- --threads 2 --batch 16 --rounds 5 --arch vit_b_32,convnext_tiny,efficientnet_b2]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { parseCardFile } from '../src/backbones/card-file.ts';
import { openOnnxBackbone } from '../src/backbones/onnx-backbone.ts';
import type { OnnxCard } from '../src/backbones/types.ts';
import { loadFolder } from '../src/data/folder.ts';
import { loadMnist } from '../src/data/mnist.ts';
import type { Sample } from '../src/data/types.ts';
import { extractFeatures } from '../src/features/extract.ts';
import { prepareBatch } from '../src/features/prepare-batch.ts';
import { gemm } from '../src/runtime/gemm.ts';
import { seeded } from '../src/util/rng.ts';
import { reprobeHome } from '../src/util/paths.ts';
import { sharedDir, spread } from './common.ts';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const THREADS = arg('threads', availableParallelism());
const BATCH = arg('batch', 16);
const python = process.env.REPROBE_PYTHON ?? '/usr/bin/python3';
const tool = join(import.meta.dirname, '..', 'tools', 'torch_bench.py');
const shared = sharedDir();
const images: Sample[] = shared ? (await loadFolder(join(shared, 'data', 'ucmerced', 'Images'))).samples : (await loadMnist()).samples;
const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

interface Model {
  name: string;
  path: string;
  card: OnnxCard;
  images: number;
  torchArch?: string;
}
const models: Model[] = [];
const ARCHS = (process.argv.includes('--arch') ? process.argv[process.argv.indexOf('--arch') + 1] : 'vit_b_32,convnext_tiny,efficientnet_b2').split(',');
for (const arch of ARCHS) {
  try {
    const dir = join(reprobeHome(), 'bench');
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `${arch}.onnx`);
    if (!existsSync(path)) execFileSync(python, [tool, 'export', arch, path], { stdio: ['ignore', 'ignore', 'inherit'] });
    // torchvision's eval transform at 224: Resize(256, bilinear), CenterCrop(224), ImageNet mean/std.
    const card = parseCardFile({ id: arch, input: { height: 224, width: 224 }, preprocess: { resizeTo: 256, interpolation: 'bilinear', ...IMAGENET }, output: { name: 'pooler_output' } }, path);
    models.push({ name: `${arch} (torchvision)`, path, card, images: arch.startsWith('vit') ? 96 : 160, torchArch: arch });
  } catch (err) {
    console.log(`(no PyTorch export of ${arch}: row skipped: ${String((err as Error).message).split('\n')[0]})`);
  }
}
if (shared) {
  const path = join(shared, 'models', 'mobilenetv2-12-int8', 'mobilenetv2-12-int8.onnx');
  const card = parseCardFile({ input: { name: 'input', height: 224, width: 224 }, preprocess: { resizeTo: 256, ...IMAGENET }, output: { name: 'output' } }, path);
  models.push({ name: 'mobilenetv2-12-int8', path, card, images: 480 });
}

const ROUNDS = arg('rounds', 5);
const last = (out: string) => JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, number>;
const torchOk = models.some((m) => m.torchArch);

/** Best float32 matrix-product rate here: MLAS (through util/gemm, all cores) and torch's BLAS. */
async function gemmPeak(): Promise<{ mlas: number; torch: number }> {
  const n = 2048;
  const rng = seeded(2);
  const a = Float32Array.from({ length: n * n }, () => rng());
  let mlas = 0;
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    await gemm(a, [n, n], a, [n, n]);
    mlas = Math.max(mlas, (2 * n ** 3) / ((performance.now() - t0) / 1000) / 1e9);
  }
  const torch = torchOk ? last(execFileSync(python, [tool, 'peak', String(THREADS)], { encoding: 'utf8' })).gflops : NaN;
  return { mlas, torch };
}

async function imagesPerSecond(n: number, f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  return n / ((performance.now() - t0) / 1000);
}

const peak = await gemmPeak();
const best = Math.max(peak.mlas, Number.isFinite(peak.torch) ? peak.torch : 0);
console.log(`threads ${THREADS}, batch ${BATCH}, best of ${ROUNDS} interleaved rounds, images from ${shared ? 'UC Merced (../shared)' : 'MNIST'}`);
console.log(`best 2048x2048 float32 matrix product: onnxruntime MLAS ${peak.mlas.toFixed(0)} GFLOP/s${Number.isFinite(peak.torch) ? `, torch BLAS ${peak.torch.toFixed(0)} GFLOP/s` : ''}${THREADS !== availableParallelism() ? ' (MLAS on all cores)' : ''}`);
console.log('model                          bare ORT  adapter  ratio  reprobe e2e  e2e/bare  PyTorch  ORT/PyTorch  GFLOP  ceiling  ceiling/PyTorch');
const f = (x: number, w: number) => (Number.isFinite(x) ? x.toFixed(1) : '-').padStart(w);
const r = (x: number, w: number) => (Number.isFinite(x) ? x.toFixed(2) : '-').padStart(w);
const verdict = (x: number, target: number) => `${x >= target ? 'met' : 'MISSED'} (${x.toFixed(2)}, target >= ${target})`;
for (const m of models) {
  const per = 3 * 224 * 224;
  const rng = seeded(1);
  const batch = Float32Array.from({ length: BATCH * per }, () => rng() * 4 - 2);
  const n = Math.ceil(m.images / BATCH) * BATCH;
  const samples = spread(images, n);
  const session = await ort.InferenceSession.create(m.path, { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: THREADS, interOpNumThreads: 1 });
  const inputName = m.card.input.name ?? session.inputNames[0];
  const feed = { [inputName]: new ort.Tensor('float32', batch, [BATCH, 3, 224, 224]) };
  await session.run(feed);
  const bb = await openOnnxBackbone(m.card, m.path, { threads: THREADS });
  await extractFeatures(bb, samples.slice(0, BATCH), { batchSize: BATCH }); // warm-up, starts the preparation thread
  let bare = 0;
  let adapter = 0;
  let e2e = 0;
  for (let round = 0; round < ROUNDS; round++) {
    bare = Math.max(bare, await imagesPerSecond(n, async () => { for (let i = 0; i < n; i += BATCH) await session.run(feed); }));
    adapter = Math.max(adapter, await imagesPerSecond(n, async () => { for (let i = 0; i < n; i += BATCH) await bb.embed(batch, BATCH); }));
    e2e = Math.max(e2e, (await extractFeatures(bb, samples, { batchSize: BATCH })).imagesPerSecond);
  }
  await bb.dispose();
  await session.release();
  // CPU time of preparing an image (decode + resize + pack): with every core busy, end to end can be at most
  // 1 / (1 + bare * prep / threads) of bare.
  let prepCpu = Infinity;
  for (let round = 0; round < 2; round++) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < n; i += BATCH) await prepareBatch(samples.slice(i, i + BATCH), m.card);
    const c = process.cpuUsage(c0);
    prepCpu = Math.min(prepCpu, (c.user + c.system) / 1e6 / n);
  }
  const bound = 1 / (1 + (bare * prepCpu) / THREADS);
  let torch = NaN;
  let torchE2e = NaN;
  let gflop = NaN;
  if (m.torchArch) {
    torch = last(execFileSync(python, [tool, 'time', m.torchArch, String(BATCH), String(THREADS), String(n)], { encoding: 'utf8' })).images_per_s;
    gflop = last(execFileSync(python, [tool, 'flops', m.torchArch], { encoding: 'utf8' })).gflop;
    const files = samples.flatMap((s) => (s.source.kind === 'file' ? [s.source.path] : []));
    if (files.length === n) {
      const listing = join(reprobeHome(), 'bench', 'images.txt');
      writeFileSync(listing, files.join('\n'));
      torchE2e = last(execFileSync(python, [tool, 'e2e', m.torchArch, String(BATCH), String(THREADS), listing], { encoding: 'utf8' })).images_per_s;
    }
  }
  const ceiling = best / gflop;
  console.log(
    `${m.name.padEnd(29)}  ${f(bare, 8)}  ${f(adapter, 7)}  ${r(adapter / bare, 5)}  ${f(e2e, 11)}  ${r(e2e / bare, 8)}  ${f(torch, 7)}  ${r(adapter / torch, 11)}  ${r(gflop, 5)}  ${f(ceiling, 7)}  ${r(ceiling / torch, 15)}`,
  );
  console.log(`  adapter/bare ${verdict(adapter / bare, 0.9)}; end to end/bare ${verdict(e2e / bare, 0.9)}; preparing an image takes ${(prepCpu * 1000).toFixed(1)} ms of CPU, so end to end/bare <= ${bound.toFixed(2)} here`);
  if (Number.isFinite(torch)) {
    console.log(`  ORT/PyTorch ${verdict(adapter / torch, 2.4)}; onnxruntime runs at ${(adapter * gflop).toFixed(0)} GFLOP/s; even at the best matrix-product rate for every FLOP it would be ${(ceiling / torch).toFixed(2)}x PyTorch`);
  }
  if (Number.isFinite(torchE2e)) console.log(`  end to end with torchvision preprocessing: PyTorch ${torchE2e.toFixed(1)} images/s, reprobe ${e2e.toFixed(1)}: ${verdict(e2e / torchE2e, 2.4)}`);
}
