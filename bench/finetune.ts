// Fine-tuning speed (issues 14, 30): reprobe's loop (frozen prefix once on onnxruntime, cached; the trained suffix in
// tfjs) against the seed study's PyTorch CPU loop (tools/torch_finetune_bench.py: the same cut, batch 16, Adam, the
// frozen prefix recomputed every epoch), on 147 train + 42 val images: MobileNetV2 head, last:2 and all, and
// InceptionV3 last:1 (INCEPTION=0 skips it). Each case runs in its own process on both sides, so that its peak memory
// (RSS) is its own; ONLY=<model id or 'id mode'> picks cases. Prints seconds per epoch, wall time to EPOCHS epochs (reprobe's includes computing the prefix
// once), the ratios and the peaks. Goals (issue 30): all >= 1x PyTorch per epoch, last:2 >= 4x, head >= 10x, on AVX-512
// and on AVX2-only CPUs (an AVX-512 host times the latter as tools/avx2-native.sh npm run bench:finetune).
// Needs Debian python3-torch and python3-torchvision (installed here with apt-get when missing and run as root).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kerasBlocks } from '../src/backbones/keras/blocks.ts';
import { loadNsfwjsModel } from '../src/backbones/keras/nsfwjs-files.ts';
import { openBackbone, resolveCard } from '../src/backbones/registry.ts';
import { tfjsBackend } from '../src/runtime/tfjs.ts';
import type { KerasCard } from '../src/backbones/types.ts';
import { loadMnist } from '../src/data/mnist.ts';
import { extractFeatures } from '../src/features/extract.ts';
import { cpuidMasked, hardwareSummary } from '../src/results/hardware.ts';
import { headModel } from '../src/train/head.ts';
import { kerasTrainModel, nsfwjsTrainRecipe } from '../src/finetune/keras-model.ts';
import { trainModel } from '../src/train/loop.ts';
import { gemmThreadsPer, trainThreads } from '../src/train/parallel.ts';
import { microBatchFor } from '../src/train/micro-batch.ts';
import { registerWasmTraining, trainingGemm } from '../src/runtime/training-kernels.ts';
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
  peak_mib: number;
}
const torchRun = (model: string, mode: string, epochs: number): TorchRun => JSON.parse(execFileSync(python, [tool, 'run', mode, String(epochs), String(THREADS), model], { encoding: 'utf8' })) as TorchRun;

interface OursRun {
  prefix_s: number;
  epoch_s: number;
  epochs: number;
  micro_batch: number;
  threads: number;
  matmul: string;
  peak_mib: number;
}

/** One case in this process (the child's side): prints one JSON line. */
async function runOurs(id: string, mode: string): Promise<void> {
  const backend = await tfjsBackend();
  const card = resolveCard(id) as KerasCard;
  const files = loadNsfwjsModel(card.source.model);
  const blocks = kerasBlocks(files, card.blocks, card.tap);
  const samples = spread((await loadMnist()).samples, 189);
  const labels = Int32Array.from(samples, (s) => s.label);
  const n = mode === 'head' ? 0 : mode === 'all' ? blocks.length : Number(mode.slice(5));
  const cut = n === 0 ? null : n === blocks.length ? files.layers[0].name : blocks[blocks.length - n - 1].end;
  const t0 = performance.now();
  const bb = await openBackbone(id, { runtime: 'onnx', threads: THREADS, ...(cut ? { layer: cut, unpooled: true } : {}) });
  const acts = await extractFeatures(bb, samples, { batchSize: 16 });
  await bb.dispose();
  const prefix = (performance.now() - t0) / 1000;
  const spec = cut ? { from: cut, trainAfter: cut, tap: card.tap, numClasses: 10, seed: 0 } : undefined;
  const model = spec ? await kerasTrainModel(files, spec) : headModel(acts.features.cols, 10, 0);
  // As `reprobe finetune`: REPROBE_TRAIN_THREADS=2 computes half of each batch in a second thread (not for a head alone).
  const threads = spec && backend === 'wasm' ? trainThreads() : 1;
  if (backend === 'wasm') registerWasmTraining({ gemmThreads: gemmThreadsPer(threads) });
  const d = acts.features.cols;
  const x = acts.features.data as Float32Array;
  const train = { x: x.subarray(0, 147 * d), y: labels.subarray(0, 147) };
  const val = { x: x.subarray(147 * d), y: labels.subarray(147) };
  const epochs = mode === 'all' || id !== 'mobilenet-v2' ? Math.min(EPOCHS, 2) : EPOCHS;
  // As `reprobe finetune` chooses: micro-batches from the model's activation size (their gradients summed).
  const microBatch = microBatchFor(model.activationBytes, 16);
  const out = await trainModel(model, train, val, { optimizer: { name: 'adam', lr: 1e-5, weightDecay: 0 }, batchSize: 16, patience: 1e9, maxEpochs: epochs, numClasses: 10, seed: 0, microBatch, ...(spec && threads === 2 ? { secondThread: { recipe: nsfwjsTrainRecipe(card.source.model, spec), backend: 'wasm' as const } } : {}) });
  model.dispose();
  const result: OursRun = { prefix_s: prefix, epoch_s: out.curve.reduce((a, l) => a + l.seconds, 0) / out.curve.length, epochs, micro_batch: microBatch, threads, matmul: trainingGemm(), peak_mib: process.resourceUsage().maxRSS / 1024 };
  console.log(JSON.stringify(result));
}

const child = process.env.BENCH_CASE;
if (child) {
  const [id, mode] = child.split(' ');
  await runOurs(id, mode);
} else {
  ensureTorch();
  const all: [string, string][] = [['mobilenet-v2', 'head'], ['mobilenet-v2', 'last:2'], ['mobilenet-v2', 'all'], ...(process.env.INCEPTION === '0' ? [] : [['inception-v3', 'last:1'] as [string, string]])];
  // ONLY="inception-v3 last:1" (or a model id) runs the matching cases alone.
  const cases = all.filter(([id, mode]) => !process.env.ONLY || `${id} ${mode}`.startsWith(process.env.ONLY));
  const hw = hardwareSummary();
  // Under tools/avx2-native.sh both sides (this process, its children, PyTorch) see a CPU without AVX-512 or VNNI.
  const masked = cpuidMasked(readFileSync('/proc/self/maps', 'utf8'));
  console.log(`CPU: ${hw.cpu}, ${hw.cores} cores; kernels may use: ${hw.features.join(' ')}${masked ? ' (CPUID masked by tools/avx2-native.sh, on both sides)' : ''}`);
  console.log(`tfjs backend: ${await tfjsBackend()}; ${EPOCHS} epochs of 147 train + 42 val images, batch 16, Adam lr 1e-5 (all and InceptionV3: 2 epochs each, projected)`);
  console.log('model        mode    reprobe prefix_s  epoch_s  wall_s micro thr matmul               peak_MiB | pytorch epoch_s  wall_s peak_MiB | wall ratio  epoch ratio');
  for (const [id, mode] of cases) {
    const line = execFileSync(process.execPath, [...process.execArgv, import.meta.filename], { encoding: 'utf8', env: { ...process.env, BENCH_CASE: `${id} ${mode}` } }).trim().split('\n').pop()!;
    const ours = JSON.parse(line) as OursRun;
    const torch = torchRun(id, mode, ours.epochs === EPOCHS ? Math.min(EPOCHS, 4) : ours.epochs);
    const oursWall = ours.prefix_s + ours.epoch_s * EPOCHS;
    const theirs = torch.first_epoch_s + torch.epoch_s * (EPOCHS - 1);
    console.log(
      `${id.padEnd(12)} ${mode.padEnd(7)} ${ours.prefix_s.toFixed(2).padStart(16)} ${ours.epoch_s.toFixed(3).padStart(8)} ${oursWall.toFixed(1).padStart(7)} ${String(ours.micro_batch).padStart(5)} ${String(ours.threads).padStart(3)} ${ours.matmul.padEnd(20)} ${ours.peak_mib.toFixed(0).padStart(9)} | ${torch.epoch_s.toFixed(3).padStart(15)} ${theirs.toFixed(1).padStart(7)} ${torch.peak_mib.toFixed(0).padStart(8)} | ${(theirs / oursWall).toFixed(2).padStart(9)}x ${(torch.epoch_s / ours.epoch_s).toFixed(2).padStart(10)}x`,
    );
  }
}
