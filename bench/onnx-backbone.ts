// ONNX backbones (issue 4): images/s of reprobe's ONNX adapter vs a bare InferenceSession.run loop on the same
// model, batch and threads (target >= 0.9x), of the end-to-end path (decode + resize + inference) for reference,
// and of onnxruntime vs PyTorch CPU on the same architecture (target >= 2.4x on ViT-B/32).
// Models: torchvision's vit_b_32, convnext_tiny and efficientnet_b2 (study architectures) exported to ONNX by
// tools/torch_bench.py (random weights: speed does not depend on them; needs Debian python3-torch, cached in
// $REPROBE_HOME/bench) and the shared ImageNet MobileNetV2 (int8).
//   npm run bench:onnx [-- --threads 2 --batch 16 --arch vit_b_32,convnext_tiny,efficientnet_b2]
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

/** Best of `rounds`: the machine's noise only ever slows a run down. */
async function best(rounds: number, f: () => Promise<number>): Promise<number> {
  let b = 0;
  for (let r = 0; r < rounds; r++) b = Math.max(b, await f());
  return b;
}

console.log(`threads ${THREADS}, batch ${BATCH}, images from ${shared ? 'UC Merced (../shared)' : 'MNIST'}`);
console.log('model                          bare ORT  reprobe adapter  ratio  reprobe e2e  e2e/bare  PyTorch  ORT/PyTorch');
for (const m of models) {
  const per = 3 * 224 * 224;
  const rng = seeded(1);
  const batch = Float32Array.from({ length: BATCH * per }, () => rng() * 4 - 2);
  const n = Math.ceil(m.images / BATCH) * BATCH;
  const session = await ort.InferenceSession.create(m.path, { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: THREADS, interOpNumThreads: 1 });
  const inputName = m.card.input.name ?? session.inputNames[0];
  const feed = { [inputName]: new ort.Tensor('float32', batch, [BATCH, 3, 224, 224]) };
  await session.run(feed);
  const bb = await openOnnxBackbone(m.card, m.path, { threads: THREADS });
  await bb.embed(batch, BATCH);
  let bare = 0;
  let adapter = 0;
  for (let r = 0; r < 2; r++) {
    // Interleaved rounds, so drift on the machine hits both sides alike.
    bare = Math.max(bare, await best(1, async () => {
      const t0 = performance.now();
      for (let i = 0; i < n; i += BATCH) await session.run(feed);
      return n / ((performance.now() - t0) / 1000);
    }));
    adapter = Math.max(adapter, await best(1, async () => {
      const t0 = performance.now();
      for (let i = 0; i < n; i += BATCH) await bb.embed(batch, BATCH);
      return n / ((performance.now() - t0) / 1000);
    }));
  }
  const e2e = (await extractFeatures(bb, spread(images, n), { batchSize: BATCH })).imagesPerSecond;
  await bb.dispose();
  await session.release();
  let torch = NaN;
  let torchE2e = NaN;
  if (m.torchArch) {
    const last = (out: string) => JSON.parse(out.trim().split('\n').at(-1)!).images_per_s as number;
    torch = last(execFileSync(python, [tool, 'time', m.torchArch, String(BATCH), String(THREADS), String(n)], { encoding: 'utf8' }));
    const files = spread(images, n).flatMap((s) => (s.source.kind === 'file' ? [s.source.path] : []));
    if (files.length === n) {
      const listing = join(reprobeHome(), 'bench', 'images.txt');
      writeFileSync(listing, files.join('\n'));
      torchE2e = last(execFileSync(python, [tool, 'e2e', m.torchArch, String(BATCH), String(THREADS), listing], { encoding: 'utf8' }));
    }
  }
  const f = (x: number, w: number) => (Number.isFinite(x) ? x.toFixed(1) : '-').padStart(w);
  const r = (x: number, w: number) => (Number.isFinite(x) ? x.toFixed(2) : '-').padStart(w);
  console.log(`${m.name.padEnd(29)}  ${f(bare, 8)}  ${f(adapter, 15)}  ${r(adapter / bare, 5)}  ${f(e2e, 11)}  ${r(e2e / bare, 8)}  ${f(torch, 7)}  ${r(adapter / torch, 11)}`);
  console.log(`  adapter/bare ${adapter / bare >= 0.9 ? 'met' : 'MISSED'} (>= 0.9)${Number.isFinite(torch) ? `; ORT/PyTorch ${adapter / torch >= 2.4 ? 'met' : 'MISSED'} (>= 2.4)` : ''}`);
  if (Number.isFinite(torchE2e)) console.log(`  end to end with torchvision preprocessing: PyTorch ${torchE2e.toFixed(1)} images/s, reprobe ${e2e.toFixed(1)} (${(e2e / torchE2e).toFixed(2)}x; target >= 2.4)`);
}
