// One thread against two (REPROBE_TRAIN_THREADS, issue 30): MobileNetV2 `all` from the pixels (micro-batches as
// `reprobe finetune` picks them), one epoch of N random images (default 32: two batches of 16) per run, ORDER's runs
// (0 = one thread, 1 = two; default 0110) alternating in one process on the same model, so that the machine's load
// weighs on both alike. Prints seconds per batch, the process's CPU seconds per batch (all threads) and its busiest
// thread's (the time a batch would take on idle cores), the second thread's start and the peak RSS.
import { readdirSync, readFileSync } from 'node:fs';
import { resolveCard } from '../src/backbones/registry.ts';
import type { KerasCard } from '../src/backbones/types.ts';
import { loadNsfwjsModel } from '../src/backbones/keras/nsfwjs-files.ts';
import { nsfwjsTrainModel, nsfwjsTrainRecipe } from '../src/finetune/keras-model.ts';
import { tfjsBackend } from '../src/runtime/tfjs.ts';
import { registerWasmTraining } from '../src/runtime/training-kernels.ts';
import { trainModel } from '../src/train/loop.ts';
import { microBatchFor } from '../src/train/micro-batch.ts';
import { seeded } from '../src/util/rng.ts';

await tfjsBackend('wasm');
registerWasmTraining();
const card = resolveCard('mobilenet-v2') as KerasCard;
const input = loadNsfwjsModel(card.source.model).layers[0].name;
const spec = { from: input, trainAfter: input, tap: card.tap, numClasses: 10, seed: 0 };
const model = await nsfwjsTrainModel(card.source.model, spec);
const d = model.inputShape.reduce((a, b) => a * b, 1);
const rng = seeded(1);
const n = Number(process.env.N ?? 32);
const train = { x: Float32Array.from({ length: n * d }, () => rng() * 2 - 1), y: Int32Array.from({ length: n }, (_, i) => i % 10) };
const val = { x: train.x.slice(0, 2 * d), y: train.y.slice(0, 2) };
/** CPU seconds of each thread of this process (Linux /proc; clock ticks of 10 ms), by thread id. */
function threadCpu(): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    const f = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
    out.set(tid, (Number(f[11]) + Number(f[12])) / 100);
  }
  return out;
}
const microBatch = microBatchFor(model.activationBytes, 16);
const recipe = nsfwjsTrainRecipe(card.source.model, spec);
console.log('threads  s/batch  cpu_s/batch  busiest_thread_cpu_s/batch  start_s  peak_MiB');
for (const two of (process.env.ORDER ?? '0110').split('').map((c) => c === '1')) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const before = threadCpu();
  const out = await trainModel(model, train, val, { optimizer: { name: 'adam', lr: 1e-5, weightDecay: 0 }, batchSize: 16, patience: 1e9, maxEpochs: 1, numClasses: 10, seed: 0, microBatch, ...(two ? { secondThread: { recipe, backend: 'wasm' as const } } : {}) });
  const cpu = process.cpuUsage(c0);
  // On idle cores a batch takes about as long as its busiest thread's share of the work: the bound two threads can reach.
  const busiest = Math.max(...[...threadCpu()].map(([tid, s]) => s - (before.get(tid) ?? 0)));
  const batches = n / 16;
  const start = (performance.now() - t0) / 1000 - out.curve[0].seconds;
  console.log(`${two ? 2 : 1}`.padStart(7), (out.curve[0].seconds / batches).toFixed(2).padStart(8), ((cpu.user + cpu.system) / 1e6 / batches).toFixed(2).padStart(12), (busiest / batches).toFixed(2).padStart(27), start.toFixed(2).padStart(8), String(Math.round(process.resourceUsage().maxRSS / 1024)).padStart(9));
}
model.dispose();
