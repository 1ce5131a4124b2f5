import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { kerasBlocks } from '../backbones/keras/blocks.ts';
import { loadNsfwjsModel } from '../backbones/keras/nsfwjs-files.ts';
import { onnxBlocks } from '../runtime/onnx-blocks.ts';
import { openOnnxCut, type OnnxOpenOptions } from '../backbones/onnx-backbone.ts';
import { pixelsBackbone } from '../backbones/pixels.ts';
import { pool } from '../backbones/pooling.ts';
import { openResolved, type ResolvedBackbone } from '../backbones/registry.ts';
import { TF_BACKENDS, tfjsBackend, tfjsVersion } from '../runtime/tfjs.ts';
import { featureName, isKerasCard, type Backbone, type KerasCard, type OnnxCard } from '../backbones/types.ts';
import { ConfigError, fsError, ProbeError } from '../errors.ts';
import { CheckpointFile, type EpochLog } from '../train/checkpoint.ts';
import { augmenter } from './augment.ts';
import { headModel, type TrainModel } from '../train/head.ts';
import { kerasTrainModel, nsfwjsTrainRecipe } from './keras-model.ts';
import { predict, predictLogits, trainModel, type Examples } from '../train/loop.ts';
import { onnxTrainModel } from './onnx-model.ts';
import { OPTIMIZERS } from '../train/optimizer.ts';
import { registerWasmTraining, trainingGemm } from '../runtime/training-kernels.ts';
import { classificationScores } from '../metrics/scores.ts';
import { topOf } from '../method/predictions.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { openOnnx } from '../runtime/ort.ts';
import { withOldNames, type Flags } from '../util/options.ts';
import { round3 } from '../util/round.ts';
import { microBatchFor } from '../train/micro-batch.ts';
import { gemmThreadsPer, trainThreads, type ModelRecipe } from '../train/parallel.ts';
import { extractRows } from '../features/cell-features.ts';
import type { ImagesMethod, MethodResult } from '../method/contract.ts';
import { bootstrapField, confusedPairsField, OUTPUT_FIELDS, OUTPUT_FLAGS, OUTPUT_OPTIONS } from '../method/output-options.ts';
import { CLASSIFICATION_FIELDS, measured, TRAINING_FIELDS, VAL_ACCURACY_FIELD } from '../method/record-fields.ts';

/** Images per forward/backward pass from the pixels for a model that does not report its activation size (ONNX). */
const PIXEL_MICRO_BATCH = 4;

/** `head`, `last:N` or `all`. */
const TRAIN_MODE = /^(head|all|last:[1-9]\d*)$/;

/** The study's protocol (Adam, lr 1e-5, batch 16 as the job's batch size, patience 30) is the default. */
const FINETUNE_OPTIONS = {
  train: z.string().regex(TRAIN_MODE, 'expected head, last:N (N ≥ 1) or all').default('all'),
  // Below 1e-10 float32 weights do not move: a run that cannot train.
  learningRate: z.number().min(1e-10, 'expected at least 1e-10').max(10).default(1e-5),
  patience: z.number().int().min(1).default(30),
  maxEpochs: z.number().int().min(1).default(2000),
  optimizer: z.enum(OPTIMIZERS).default('adam'),
  weightDecay: z.number().min(0).default(0),
  tfBackend: z.enum(TF_BACKENDS).default('auto'),
  augment: z.boolean().default(false),
  ...OUTPUT_OPTIONS,
};
type FinetuneOptions = z.infer<z.ZodObject<typeof FINETUNE_OPTIONS>>;

/** What a fine-tuning record holds beside the shared fields: the scores, what trained and how, and where its curve is. */
const FINETUNE_FIELDS = {
  ...CLASSIFICATION_FIELDS,
  train: z.string().describe('`--train`: head, last:N or all'),
  trained_blocks: z.number().int().nonnegative().describe('blocks trained besides the head (all: the whole network counts as 1 on ONNX backbones)'),
  cut: z.string().describe('where the frozen prefix ends: a layer, `pixels` (everything trains), or the tap and "(pooled features)" for a head'),
  trained_params: z.number().int().nonnegative().describe('trained parameters'),
  ...VAL_ACCURACY_FIELD,
  ...TRAINING_FIELDS,
  best_val_loss: measured('the lowest validation loss (null: none was finite)'),
  stopped_early: z.boolean().describe('training stopped by patience, not by `--max-epochs`'),
  resumed_at_epoch: z.number().int().nonnegative().describe('the epoch a resumed run continued after (0: not resumed)'),
  lr: z.number().describe('the learning rate (`learningRate`, `--learning-rate`; the field keeps its old name)'),
  batch_size: z.number().int().min(1).describe('images per optimizer step'),
  patience: z.number().int().min(1).describe('epochs without a lower validation loss before stopping'),
  max_epochs: z.number().int().min(1).describe('the cap on epochs'),
  optimizer: z.enum(OPTIMIZERS).describe('the optimizer'),
  weight_decay: z.number().nonnegative().describe('L2 on the gradient (adam, sgd) or decoupled decay (adamw)'),
  augment: z.boolean().describe('random resized crops and flips of the training images'),
  micro_batch: z.number().int().min(1).describe('images per forward/backward pass (smaller than the batch when training from the pixels)'),
  train_threads: z.number().int().min(1).optional().describe('training threads that trained every batch, each with half of it (`REPROBE_TRAIN_THREADS`; 2 by default on two cores or more; 1 when the second failed, with a warning)'),
  matmul: z.string().optional().describe('what ran the matrix products of training: `onnxruntime (N threads)` under the wasm backend (`REPROBE_TRAIN_GEMM=wasm`: `wasm`), else the backend itself'),
  activations_key: z.string().nullable().describe("key of the frozen prefix's cached activations; null with `--no-cache`"),
  activations_from_cache: z.boolean().describe('those activations were read from the cache'),
  curve: z.string().describe('`<run folder>/epochs.jsonl`: the loss and accuracy of every epoch'),
  ...OUTPUT_FIELDS,
};

const FINETUNE_FLAGS: Flags<typeof FINETUNE_OPTIONS> = {
  train: { flag: 'train', cli: 'text', describe: 'what trains: head (a linear head on frozen features), last:N (the last N blocks of `reprobe models layers NAME` and the head), all' },
  learningRate: { flag: 'learning-rate', cli: 'number', describe: 'learning rate (--lr before: read with a warning until the next release)', was: { key: 'lr', flag: 'lr' } },
  patience: { flag: 'patience', cli: 'number', describe: 'stop after this many epochs without a lower validation loss' },
  maxEpochs: { flag: 'max-epochs', cli: 'number', describe: 'a cap: stop here even without early stopping (the study stops by patience only; at a learning rate of 1e-5 that can take hundreds of epochs)' },
  optimizer: { flag: 'optimizer', cli: { choices: OPTIMIZERS }, describe: 'adam and adamw as PyTorch (eps 1e-8), sgd with momentum 0.9' },
  weightDecay: { flag: 'weight-decay', cli: 'number', describe: 'L2 on the gradient (adam, sgd) or decoupled decay (adamw)' },
  tfBackend: { flag: 'tf-backend', cli: { choices: TF_BACKENDS }, describe: 'tfjs backend that trains: auto = tfjs-node-gpu, tfjs-node, wasm, cpu, the first that starts' },
  augment: {
    flag: 'augment',
    cli: 'boolean',
    describe: 'random resized crops and horizontal flips of the training images, seeded (not in the study); the frozen part then runs every epoch instead of once',
  },
  ...OUTPUT_FLAGS,
};

/** The blocks a train mode trains, and where the frozen prefix ends (`null`: the head alone, on the tap's pooled features). */
function trainedBlocks(mode: string, blocks: readonly { end: string }[], input: string): { cut: string | null; count: number } {
  if (mode === 'head') return { cut: null, count: 0 };
  const n = mode === 'all' ? blocks.length : Number(mode.slice('last:'.length));
  if (n > blocks.length) throw new ConfigError(`--train ${mode}: the backbone has ${blocks.length} block${blocks.length === 1 ? '' : 's'} up to its tap (see \`reprobe models layers\`); N is at most ${blocks.length}.`);
  return { cut: n === blocks.length ? input : blocks[blocks.length - n - 1].end, count: n };
}

/**
 * Fine-tuning as a method: the frozen prefix runs once on onnxruntime (its activations cached like features, keyed by
 * the cut), then only the trained suffix and a new linear head run in tfjs, every epoch, with early stopping.
 */
export const finetuneMethod: ImagesMethod = {
  name: 'finetune',
  task: 'finetune',
  command: 'finetune',
  needs: 'images',
  summary: 'fine-tune a backbone (head, last N blocks or all) with early stopping on validation loss',
  // `ft_10`, first in the study's tables, which order their rows by best performance when it is there; `ft[head]_10` when several train modes are shown; the paper prints its columns as bare shots.
  presentation: { column: 'ft', order: 10, family: 'classification', shots: true, variant: 'train', ranks: 'best', curves: true, printed: '' },
  recordFields: FINETUNE_FIELDS,
  options: FINETUNE_OPTIONS,
  flags: FINETUNE_FLAGS,
  async run(cell, options) {
    const o = options as FinetuneOptions;
    const ds = cell.dataset;
    const card = cell.backbone.card;
    const K = ds.classes.length;
    checkClasses(ds.classes, [...cell.train].map((i) => ds.samples[i].label), [...cell.val, ...cell.tests.flatMap((t) => t.idx)].map((i) => ds.samples[i].label));
    const plan = isKerasCard(card) ? kerasPlan(card, cell.open.layer ?? card.tap, o.train, cell.seed, K, o.augment) : await onnxPlan(cell.backbone, o.train, cell.seed, K, o.augment, { threads: cell.open.threads, device: cell.open.device, strict: cell.open.strict });
    const { cut, count, tap } = plan;

    // The frozen prefix, once: the features for a head, the cut's activation map, or the preprocessed images.
    const bb = plan.prefix ?? (await openResolved(cell.backbone, { ...cell.open, ...(cut ? { layer: cut, unpooled: true } : {}) }));
    const all = [...new Set([...cell.train, ...cell.val, ...cell.tests.flatMap((t) => t.idx)])].sort((a, b) => a - b);
    let acts;
    try {
      acts = await extractRows(bb, cell.backbone.name, ds, all, {
        cache: cell.cache,
        batchSize: cell.batchSize,
        onProgress: (d, t) => cell.onProgress?.('activations', d, t),
        onCacheInvalid: (why) => cell.onNote?.(`cache entry not used, computing the activations again: ${why}`),
      });
    } finally {
      await bb.dispose();
    }
    const examples = (idx: readonly number[]): Examples => {
      const kept = idx.filter((i) => acts.rowOf.has(i));
      const d = acts.features.cols;
      const x = new Float32Array(kept.length * d);
      kept.forEach((i, r) => x.set(acts.features.data.subarray(acts.rowOf.get(i)! * d, (acts.rowOf.get(i)! + 1) * d), r * d));
      return { x, y: Int32Array.from(kept, (i) => ds.samples[i].label) };
    };

    const backend = await tfjsBackend(o.tfBackend);
    // Half of each batch's gradients in a second thread on wasm (tfjs-node's kernels use every core already).
    const threads = plan.recipe && backend === 'wasm' ? trainThreads() : 1;
    if (backend === 'wasm') registerWasmTraining({ gemmThreads: gemmThreadsPer(threads) });
    const model = await plan.build(acts.features.cols);
    const ckpt = new CheckpointFile(cell.runDir);
    // The run folder: a fresh one unless resuming; a failure to write it is one line, before training starts.
    const inRunDir = async <T>(f: () => Promise<T>): Promise<T> => {
      try {
        return await f();
      } catch (err) {
        throw fsError(err, `Cannot write the run folder ${cell.runDir}`, 'Pass --results-dir with a writable folder.');
      }
    };
    await inRunDir(async () => {
      if (!cell.resume) await rm(cell.runDir, { recursive: true, force: true });
      await mkdir(cell.runDir, { recursive: true });
    });
    // What the training depends on (the confused pairs listed afterwards do not): a checkpoint of the same training resumes.
    const { topPairs, bootstrap, ...training } = o;
    // Under the options' old names (learningRate as lr): a checkpoint written before the rename still resumes.
    const config = JSON.stringify({ options: withOldNames(training, FINETUNE_FLAGS), batchSize: cell.batchSize, seed: cell.seed, cut, tap, activations: acts.key });
    const curvePath = join(cell.runDir, 'epochs.jsonl');
    // The backward pass keeps every activation: a network trained from the pixels fits wasm's 4 GB in micro-batches,
    // sized from the model's activations where it reports them (Keras models), else of PIXEL_MICRO_BATCH images.
    const microBatch = model.activationBytes !== undefined ? microBatchFor(model.activationBytes, cell.batchSize) : plan.fromPixels ? Math.min(PIXEL_MICRO_BATCH, cell.batchSize) : cell.batchSize;
    const saved = cell.resume ? await ckpt.load(config) : undefined;
    if (cell.resume) cell.onNote?.(saved ? `resuming ${cell.runDir} after epoch ${saved.epoch}${saved.done ? ' (training had finished)' : ''}` : `nothing to resume in ${cell.runDir} for these settings and images; training from epoch 1`);
    const writeCurve = (curve: readonly EpochLog[]) => inRunDir(() => writeFileAtomic(curvePath, curve.map((l) => JSON.stringify(l)).join('\n') + '\n'));
    try {
      const train = examples(cell.train);
      const out = await trainModel(
        model,
        train,
        examples(cell.val),
        {
          optimizer: { name: o.optimizer, lr: o.learningRate, weightDecay: o.weightDecay },
          batchSize: cell.batchSize,
          patience: o.patience,
          maxEpochs: o.maxEpochs,
          numClasses: K,
          seed: cell.seed,
          microBatch,
          ...(plan.recipe && threads >= 2 ? { secondThread: { recipe: plan.recipe, backend: 'wasm' as const } } : {}),
          ...(o.augment ? { augment: augmenter(card.input.layout) } : {}),
        },
        {
          checkpoint: { config, load: async () => saved, save: (c) => inRunDir(() => ckpt.save(c)) },
          onEpoch: async (log, curve) => {
            await writeCurve(curve);
            // The bar ends where training would stop if the loss does not fall again.
            const end = Math.min(o.maxEpochs, log.best_epoch + o.patience);
            cell.onProgress?.('train', log.epoch, end, `epoch ${log.epoch} loss ${log.train_loss.toFixed(4)} val_loss ${log.val_loss.toFixed(4)} val_acc ${log.val_accuracy.toFixed(3)} best ${log.best_epoch}`);
          },
        },
      );
      await writeCurve(out.curve); // a run resumed after its last epoch still has its whole curve
      const fitSeconds = round3(out.curve.reduce((a, l) => a + l.seconds, 0));
      const bestLog = out.curve.find((l) => l.epoch === out.bestEpoch);
      const trainedParams = model.variables.reduce((a, v) => a + v.size, 0);
      return await Promise.all(
        cell.tests.map(async ({ name, idx }): Promise<MethodResult> => {
          const kept = idx.filter((i) => acts.rowOf.has(i));
          const set = examples(kept);
          const pred = await predict(model, set.x, cell.batchSize * 4);
          // The top-5 kept beside the record need the scores; the prediction stays predict()'s.
          const predictions = { ids: kept.map((i) => ds.samples[i].id), truth: set.y, pred, ...topOf(await predictLogits(model, set.x, cell.batchSize * 4), K) };
          const groups = ds.groups && { ...ds.groups, of: Int32Array.from(kept, (i) => ds.groups!.of[i]) };
          const { metric, value, ...scores } = classificationScores(set.y, pred, K, ds.metric, groups);
          const pairs = { ...confusedPairsField(set.y, pred, ds.classes, topPairs), ...bootstrapField(set.y, pred, K, metric, bootstrap, cell.seed) };
          return {
            eval_split: name,
            metric,
            value,
            fit_seconds: fitSeconds,
            runtime: `${bb.runtime} → tfjs ${tfjsVersion()} (${backend})`,
            layer: tap,
            predictions,
            fields: {
              ...scores,
              train: o.train,
              trained_blocks: count,
              cut: cut ?? `${tap} (pooled features)`,
              trained_params: trainedParams,
              val_accuracy: bestLog?.val_accuracy ?? NaN,
              epochs_run: out.epochs,
              best_epoch: out.bestEpoch,
              best_val_loss: out.bestValLoss,
              stopped_early: out.stoppedEarly,
              resumed_at_epoch: out.resumedAt,
              lr: o.learningRate,
              batch_size: cell.batchSize,
              patience: o.patience,
              max_epochs: o.maxEpochs,
              optimizer: o.optimizer,
              weight_decay: o.weightDecay,
              augment: o.augment,
              micro_batch: microBatch,
              tf_backend: backend,
              train_threads: out.threads,
              matmul: backend === 'wasm' ? trainingGemm() : backend,
              activations_key: acts.key,
              activations_from_cache: acts.fromCache,
              curve: curvePath,
              ...pairs,
            },
          };
        }),
      );
    } finally {
      model.dispose();
    }
  },
};

/** How one backbone fine-tunes: the frozen prefix (a backbone giving its output; default the card's cut), then the trained model. */
interface Plan {
  /** Where the frozen prefix ends (a layer), or null: a head on the pooled features, or everything from the pixels. */
  cut: string | null;
  /** Blocks trained. */
  count: number;
  tap: string;
  prefix?: Backbone;
  /** The trained model reads the preprocessed images (everything trains, or --augment). */
  fromPixels: boolean;
  build(inputSize: number): Promise<TrainModel>;
  /** How a second training thread builds the same model (where one is worth its cost: not for a head alone). */
  recipe?: ModelRecipe;
}

/** With augmentation the frozen part cannot be cached: the model starts from the (cached) preprocessed images. */
function kerasPlan(card: KerasCard, tap: string, mode: string, seed: number, numClasses: number, augment: boolean): Plan {
  const files = loadNsfwjsModel(card.source.model);
  const blocks = kerasBlocks(files, card.blocks, tap);
  const input = files.layers[0].name;
  const { cut, count } = trainedBlocks(mode, blocks, input);
  if (augment) {
    const spec = { from: input, trainAfter: cut ?? tap, tap, numClasses, seed };
    return { cut, count, tap, prefix: pixelsBackbone(card), fromPixels: true, build: () => kerasTrainModel(files, spec), recipe: nsfwjsTrainRecipe(card.source.model, spec) };
  }
  if (!cut) return { cut, count, tap, fromPixels: false, build: async (d) => headModel(d, numClasses, seed) };
  const spec = { from: cut, trainAfter: cut, tap, numClasses, seed };
  return { cut, count, tap, fromPixels: cut === input, build: () => kerasTrainModel(files, spec), recipe: nsfwjsTrainRecipe(card.source.model, spec) };
}

/** ONNX backbones: a head on the card's features, or the whole graph translated to tfjs from the preprocessed images. */
async function onnxPlan(r: ResolvedBackbone, mode: string, seed: number, numClasses: number, augment: boolean, opt: OnnxOpenOptions): Promise<Plan> {
  const card = r.card as OnnxCard;
  const tap = featureName(card);
  if (mode === 'head' && !augment) return { cut: null, count: 0, tap, fromPixels: false, build: async (d) => headModel(d, numClasses, seed) };
  const bytes = new Uint8Array(await readFile(r.files!.image));
  const featureDim = async () => card.featureDim ?? (await featureSize(bytes, card));
  if (mode !== 'all' && mode !== 'head') {
    if (augment) throw new ConfigError(`--train ${mode} with --augment: ONNX backbones augment with --train all or head only, so far.`);
    if (!card.blocks) throw new ConfigError(`--train ${mode}: the card of ${r.name} lists no blocks (a "blocks" pattern over its tensor names); fine-tune its head (--train head) or all of it (--train all).`);
    const { cut, count } = trainedBlocks(mode, onnxBlocks(bytes, card.blocks, card.output.name), 'pixels');
    if (cut !== 'pixels') {
      const prefix = await openOnnxCut(card, r.files!.image, cut!, opt);
      const shape = await prefix.exampleShape();
      return { cut, count, tap, prefix, fromPixels: false, build: async () => onnxTrainModel(bytes, card, { featureDim: await featureDim(), numClasses, seed, trainBackbone: true, from: { tensor: cut!, shape } }) };
    }
  }
  return {
    cut: mode === 'head' ? null : 'pixels',
    count: mode === 'head' ? 0 : mode === 'all' ? 1 : Number(mode.slice('last:'.length)),
    tap,
    prefix: pixelsBackbone(card),
    fromPixels: true,
    build: async () => onnxTrainModel(bytes, card, { featureDim: await featureDim(), numClasses, seed, trainBackbone: mode !== 'head' }),
  };
}

/** Feature size of a card without featureDim: one zero image through the model. */
async function featureSize(bytes: Uint8Array, card: OnnxCard): Promise<number> {
  const { height: h, width: w, layout } = card.input;
  const session = await openOnnx(bytes, { threads: 1 });
  try {
    const [out] = await session.runRaw({ [card.input.name ?? session.inputName]: { type: 'float32', data: new Float32Array(3 * h * w), dims: layout === 'NCHW' ? [1, 3, h, w] : [1, h, w, 3] } }, [card.output.name]);
    return pool(out, card.output).cols;
  } finally {
    await session.dispose();
  }
}

/** At least two training classes, and every evaluated class trained: otherwise the numbers would mean nothing. */
function checkClasses(names: readonly string[], train: readonly number[], evaluated: readonly number[]): void {
  const trained = new Set(train);
  if (trained.size < 2) throw new ProbeError(`The training split holds ${trained.size} class; fine-tuning needs at least 2.`);
  const missing = [...new Set(evaluated)].filter((c) => !trained.has(c));
  if (missing.length) throw new ProbeError(`Class ${missing.map((c) => `"${names[c]}"`).join(', ')} appears in val/test but has no training images; every evaluated class needs training images.`);
}
