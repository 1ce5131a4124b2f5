import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadNsfwjsModel } from '../backbones/keras/nsfwjs-files.ts';
import { inboundNames, type KerasModelFiles } from '../runtime/keras/topology.ts';
import type { ResolvedBackbone } from '../backbones/registry.ts';
import { loadKerasLayers, tfjsBackend } from '../runtime/tfjs.ts';
import { isKerasCard } from '../backbones/types.ts';
import { ConfigError } from '../errors.ts';
import { CheckpointFile } from '../train/checkpoint.ts';
import { registerWasmTraining } from '../runtime/training-kernels.ts';
import { gradCam, type ConvNetSplit } from './gradcam.ts';
import type { ExplainInput, ExplainMap } from './types.ts';

/** What a fine-tuned run trained on a Keras backbone: the layers after `trainAfter` up to `tap`, and a linear head on the tap's global average. */
export interface TrainedHead {
  trainAfter: string;
  tap: string;
  /** The trained variables in training's order (each trained layer's trainable weights, then the head's kernel [C, K] and bias [K]). */
  weights: Float32Array[];
}

export interface KerasGradcam extends ConvNetSplit {
  /** The explained layer. */
  layer: string;
  dispose(): void;
}

/** [gh, gw, C] activations of a layer, for Grad-CAM: rank-4 outputs only. */
const isMap = (l: tf.layers.Layer) => (l.output as tf.SymbolicTensor).shape.length === 4;

/**
 * The explained layer: `want` when given (it must be a 4-D activation at or before `end`), else `end` when it is one,
 * else the last 4-D layer before it (the last convolutional block before the tap).
 */
function gradcamLayer(files: KerasModelFiles, full: tf.LayersModel, end: string, want?: string): string {
  const names = files.layers.map((l) => l.name);
  const last = names.indexOf(end);
  if (want !== undefined) {
    const i = names.indexOf(want);
    if (i < 0) throw new ConfigError(`--layer ${want} is not a layer of the model; \`reprobe models layers\` lists them.`);
    if (i > last) throw new ConfigError(`--layer ${want} comes after ${end}, where the explained model ends; pick a layer before it.`);
    if (!isMap(full.getLayer(want))) throw new ConfigError(`--layer ${want} has no spatial activation map (rank ${(full.getLayer(want).output as tf.SymbolicTensor).shape.length}); Grad-CAM needs a convolutional layer.`);
    return want;
  }
  for (let i = last; i > 0; i--) if (isMap(full.getLayer(names[i]))) return names[i];
  throw new ConfigError(`No convolutional layer before ${end}; pass --layer.`);
}

/** A Keras BatchNormalization on its running statistics, x·a + b from plain ops (tfjs's fused kernel has no gradient without γ). */
function batchNorm(bn: tf.layers.Layer, x: tf.Tensor): tf.Tensor {
  const w = (s: string) => bn.weights.find((v) => v.originalName.endsWith(`/${s}`) || v.name.endsWith(`/${s}`))?.read();
  const eps = (bn.getConfig().epsilon as number | undefined) ?? 1e-3;
  const [gamma, beta, mean, variance] = ['gamma', 'beta', 'moving_mean', 'moving_variance'].map(w);
  const inv = tf.rsqrt(tf.add(variance!, eps));
  const a = gamma ? tf.mul(gamma, inv) : inv;
  return tf.add(tf.mul(x, a), beta ? tf.sub(beta, tf.mul(mean!, a)) : tf.neg(tf.mul(mean!, a)));
}

/** The weights training changed, in training's order (src/finetune/keras-model.ts): γ and β of a batch norm, every layer's trainable weights. */
function trainedVariables(files: KerasModelFiles, full: tf.LayersModel, trainAfter: string, tap: string): tf.LayerVariable[] {
  const names = files.layers.map((l) => l.name);
  const out: tf.LayerVariable[] = [];
  for (let i = names.indexOf(trainAfter) + 1; i <= names.indexOf(tap); i++) {
    const layer = full.getLayer(names[i]);
    layer.trainable = true;
    if (files.layers[i].class_name !== 'BatchNormalization') out.push(...layer.trainableWeights);
    else out.push(...['gamma', 'beta'].flatMap((s) => layer.weights.filter((v) => v.originalName.endsWith(`/${s}`) || v.name.endsWith(`/${s}`))));
  }
  return out;
}

/**
 * A Keras model for Grad-CAM: the fine-tuned run's model (trained layers restored, its linear head on the tap's global
 * average) or, without one, the model's own classifier (its last Dense, before the softmax).
 */
export async function kerasGradcam(files: KerasModelFiles, opt: { layer?: string; head?: TrainedHead; what: string }): Promise<KerasGradcam> {
  const full = await loadKerasLayers(files);
  let head: [tf.Tensor2D, tf.Tensor1D] | undefined;
  try {
    const names = files.layers.map((l) => l.name);
    for (const n of opt.head ? [opt.head.tap, opt.head.trainAfter] : []) if (!names.includes(n)) throw new ConfigError(`${opt.what} names layer ${n}, which the model does not have.`);
    let end: string;
    if (opt.head) {
      end = opt.head.tap;
      const vars = trainedVariables(files, full, opt.head.trainAfter, end);
      const channels = (full.getLayer(end).output as tf.SymbolicTensor).shape.at(-1) as number;
      const w = opt.head.weights;
      const K = w.at(-1)?.length ?? 0;
      const sizes = [...vars.map((v) => v.shape.reduce<number>((a, b) => a * (b ?? 1), 1)), channels * K, K];
      if (w.length !== sizes.length || w.some((a, i) => a.length !== sizes[i])) throw new ConfigError(`The checkpoint of ${opt.what} does not fit the model (${w.length} trained tensors, expected ${sizes.length} for the layers after ${opt.head.trainAfter} and a head on ${end}).`);
      vars.forEach((v, i) => v.write(tf.tensor(w[i], v.shape as number[])));
      head = [tf.tensor2d(w.at(-2)!, [channels, K]), tf.tensor1d(w.at(-1)!)];
    } else {
      const lastLayer = files.layers.at(-1)!;
      if (lastLayer.class_name !== 'Dense') throw new ConfigError(`The model ends in ${lastLayer.class_name}, not a classifier; explain a fine-tuned run with --run.`);
      const [kernel, bias] = full.getLayer(lastLayer.name).getWeights();
      head = [kernel.clone() as tf.Tensor2D, bias.clone() as tf.Tensor1D];
      end = inboundNames(lastLayer)[0];
    }
    const layer = gradcamLayer(files, full, end, opt.layer);
    const [li, ei] = [names.indexOf(layer), names.indexOf(end)];
    const step = (vals: Map<string, tf.Tensor>, i: number) => {
      const l = files.layers[i];
      const ins = inboundNames(l).map((n) => vals.get(n));
      if (!ins.length || ins.some((t) => t === undefined)) return;
      const original = full.getLayer(l.name);
      const out = l.class_name === 'BatchNormalization' ? batchNorm(original, ins[0]!) : original.apply(ins.length === 1 ? ins[0]! : (ins as tf.Tensor[]), { training: false });
      vals.set(l.name, out as tf.Tensor);
    };
    const [kernel, bias] = head;
    const logits = (t: tf.Tensor) => tf.add(tf.matMul(t.rank === 4 && opt.head ? t.mean([1, 2]) : t.reshape([t.shape[0], -1]), kernel), bias) as tf.Tensor2D;
    return {
      layer,
      forward(x) {
        const vals = new Map<string, tf.Tensor>([[names[0], x]]);
        for (let i = 1; i <= li; i++) step(vals, i);
        return {
          activation: vals.get(layer) as tf.Tensor4D,
          scores: (a) => {
            const after = new Map(vals).set(layer, a);
            for (let i = li + 1; i <= ei; i++) step(after, i);
            return logits(after.get(end)!);
          },
        };
      },
      dispose: () => {
        full.dispose();
        tf.dispose([kernel, bias]);
      },
    };
  } catch (err) {
    full.dispose();
    if (head) tf.dispose(head);
    throw err;
  }
}

/** A run of `reprobe finetune` on a Keras backbone, as its record names it (the trained weights are read from its folder). */
export interface TrainedRun {
  /** The run folder (results/runs/<id>): checkpoint.bin holds the trained variables. */
  dir: string;
  backbone: string;
  tap: string;
  /** Layers after this one were trained (the tap itself: the head alone). */
  trainAfter: string;
  /** Class names, in the head's order. */
  classes: string[];
}

/** The best epoch's trained variables of a run folder, verified by checkpoint.ts (its header names the config it was saved under). */
async function readRunWeights(dir: string): Promise<Float32Array[]> {
  const file = join(dir, 'checkpoint.bin');
  const bytes = await readFile(file).catch(() => undefined);
  const missing = new ConfigError(`${dir} holds no readable checkpoint.bin; --run takes a run folder written by \`reprobe finetune\` (results/runs/<id>).`);
  if (!bytes || bytes.length < 4) throw missing;
  let config: unknown;
  try {
    config = (JSON.parse(bytes.subarray(4, 4 + bytes.readUInt32LE(0)).toString('utf8')) as { config?: unknown }).config;
  } catch {
    throw missing;
  }
  const saved = typeof config === 'string' ? await new CheckpointFile(dir).load(config) : undefined;
  if (!saved) throw new ConfigError(`${file} does not verify (a partial or altered file); fine-tune the run again.`);
  return saved.best;
}

/** One Grad-CAM result of the explainer: the map, the class explained and the image's class scores. */
export interface ClassMap {
  map: ExplainMap;
  classIndex: number;
  scores: Float32Array;
}

/**
 * Grad-CAM for a Keras backbone: the fine-tuned `run` (its classes) or the model's own classifier (classes by index);
 * `explain` takes one preprocessed image and the class (default: the top-scoring one).
 */
export async function openGradcam(backbone: ResolvedBackbone, opt: { run?: TrainedRun; layer?: string }): Promise<{ layer: string; explain(input: ExplainInput): ClassMap; dispose(): void }> {
  const card = backbone.card;
  if (!isKerasCard(card)) throw new ConfigError(`gradcam explains the Keras ConvNets (mobilenet-v2, inception-v3); ${backbone.name} is an ONNX model.`);
  if (opt.run && opt.run.backbone !== backbone.name && opt.run.backbone !== card.id) throw new ConfigError(`--run ${opt.run.dir} fine-tuned ${opt.run.backbone}, not ${backbone.name}; drop --backbone or name that one.`);
  if ((await tfjsBackend()) === 'wasm') registerWasmTraining();
  const files = loadNsfwjsModel(card.source.model);
  const head = opt.run && { trainAfter: opt.run.trainAfter, tap: opt.run.tap, weights: await readRunWeights(opt.run.dir) };
  const net = await kerasGradcam(files, { layer: opt.layer, head, what: opt.run ? `run ${opt.run.dir}` : backbone.name });
  const { height, width } = card.input;
  return {
    layer: net.layer,
    explain(input) {
      const x = tf.tensor4d(input.pixels, [1, height, width, 3]);
      try {
        return gradCam(net, x, input.classIndex);
      } finally {
        x.dispose();
      }
    },
    dispose: () => net.dispose(),
  };
}
