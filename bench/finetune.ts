// Fine-tuning speed (issue 14): reprobe's loop (frozen prefix once on onnxruntime, cached; the trained suffix in
// tfjs) against the seed study's PyTorch CPU loop (tools/torch_finetune_bench.py: the same MobileNetV2 cut, batch 16,
// Adam, the frozen prefix recomputed every epoch), for head, last:2 and all, on 147 train + 42 val images.
// Prints seconds per epoch, wall time to the same epoch count (reprobe's includes computing the prefix once) and the
// ratios. Goals: head >= 10x PyTorch in wall time to the same epochs, last:N >= 1x, all measured.
// Needs Debian python3-torch and python3-torchvision (installed here with apt-get when missing and run as root).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { kerasBlocks } from '../src/backbones/keras/blocks.ts';
import { loadNsfwjsModel } from '../src/backbones/keras/nsfwjs-files.ts';
import { openBackbone, resolveCard } from '../src/backbones/registry.ts';
import { tfjsBackend } from '../src/runtime/tfjs.ts';
import type { KerasCard } from '../src/backbones/types.ts';
import { loadMnist } from '../src/data/mnist.ts';
import { extractFeatures } from '../src/features/extract.ts';
import { headModel } from '../src/train/head.ts';
import { kerasTrainModel } from '../src/finetune/keras-model.ts';
import { trainModel } from '../src/train/loop.ts';
import { registerWasmTraining } from '../src/runtime/training-kernels.ts';
import { spread } from './common.ts';

const EPOCHS = Number(process.env.EPOCHS ?? 10);
const THREADS = 2;
const python = process.env.REPROBE_PYTHON ?? '/usr/bin/python3';
const tool = join(import.meta.dirname, '..', 'tools', 'torch_finetune_bench.py');

function ensureTorch(): void {
  try {
    execFileSync(python, ['-c', 'import torch, torchvision'], { stdio: 'ignore' });
  } catch {
    console.log('installing Debian python3-torch and python3-torchvision (apt-get)…');
    execFileSync('apt-get', ['install', '-y', '-q', 'python3-torch', 'python3-torchvision'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }
}

interface TorchRun {
  first_epoch_s: number;
  epoch_s: number;
  torch: string;
}
const torchRun = (mode: string, epochs: number): TorchRun => JSON.parse(execFileSync(python, [tool, 'run', mode, String(epochs), String(THREADS)], { encoding: 'utf8' })) as TorchRun;

ensureTorch();
const backend = await tfjsBackend();
if (backend === 'wasm') registerWasmTraining();
const card = resolveCard('mobilenet-v2') as KerasCard;
const files = loadNsfwjsModel(card.source.model);
const blocks = kerasBlocks(files, card.blocks, card.tap);
const samples = spread((await loadMnist()).samples, 189);
const labels = Int32Array.from(samples, (s) => s.label);
const split = (x: Float32Array, d: number) => ({ train: { x: x.subarray(0, 147 * d), y: labels.subarray(0, 147) }, val: { x: x.subarray(147 * d), y: labels.subarray(147) } });

console.log(`tfjs backend: ${backend}; ${EPOCHS} epochs of 147 train + 42 val images, batch 16, Adam lr 1e-5`);
console.log('mode    reprobe prefix_s  epoch_s  wall_s | pytorch epoch_s  wall_s | wall ratio  epoch ratio');
for (const mode of ['head', 'last:2', 'all']) {
  const n = mode === 'head' ? 0 : mode === 'all' ? blocks.length : Number(mode.slice(5));
  const cut = n === 0 ? null : n === blocks.length ? files.layers[0].name : blocks[blocks.length - n - 1].end;
  const t0 = performance.now();
  const bb = await openBackbone('mobilenet-v2', { runtime: 'onnx', threads: THREADS, ...(cut ? { layer: cut, unpooled: true } : {}) });
  const acts = await extractFeatures(bb, samples, { batchSize: 16 });
  await bb.dispose();
  const prefix = (performance.now() - t0) / 1000;
  const model = cut ? await kerasTrainModel(files, { from: cut, trainAfter: cut, tap: card.tap, numClasses: 10, seed: 0 }) : headModel(acts.features.cols, 10, 0);
  const { train, val } = split(acts.features.data as Float32Array, acts.features.cols);
  const epochs = mode === 'all' ? Math.min(EPOCHS, 2) : EPOCHS;
  // As `reprobe finetune` does: from the pixels, micro-batches of 4 (their gradients summed to the batch's).
  const microBatch = mode === 'all' ? { microBatch: 4 } : {};
  const out = await trainModel(model, train, val, { optimizer: { name: 'adam', lr: 1e-5, weightDecay: 0 }, batchSize: 16, patience: 1e9, maxEpochs: epochs, numClasses: 10, seed: 0, ...microBatch });
  model.dispose();
  const epochS = out.curve.reduce((a, l) => a + l.seconds, 0) / out.curve.length;
  const ours = prefix + epochS * EPOCHS;
  const torch = torchRun(mode, mode === 'all' ? 2 : Math.min(EPOCHS, 4));
  const theirs = torch.first_epoch_s + torch.epoch_s * (EPOCHS - 1);
  console.log(
    `${mode.padEnd(7)} ${prefix.toFixed(2).padStart(16)} ${epochS.toFixed(3).padStart(8)} ${ours.toFixed(1).padStart(7)} | ${torch.epoch_s.toFixed(3).padStart(15)} ${theirs.toFixed(1).padStart(7)} | ${(theirs / ours).toFixed(2).padStart(9)}x ${(torch.epoch_s / epochS).toFixed(2).padStart(10)}x${mode === 'all' ? '  (2 epochs each, projected)' : ''}`,
  );
}
