import * as tf from '@tensorflow/tfjs';
import { loadKerasLayers } from '../runtime/tfjs.ts';
import { inboundNames, type KerasModelFiles } from '../runtime/keras/topology.ts';
import { loadNsfwjsModel } from '../backbones/keras/nsfwjs-files.ts';
import { linearHead, type TrainModel } from '../train/head.ts';
import type { ModelRecipe } from '../train/parallel.ts';
import type { ZeroPadding } from './training-layers.ts';

export interface KerasTrainSpec {
  /** The layer whose output the model reads: a cut point, or the model's input layer to start from the pixels. */
  from: string;
  /** Layers after this one are trained (with the head); the ones up to it stay frozen. */
  trainAfter: string;
  tap: string;
  numClasses: number;
  /** Seeds the head's initial weights. */
  seed: number;
}

/** Keras ZeroPadding2D's `padding` (n, (h, w) or ((top, bottom), (left, right))) as ((top, bottom), (left, right)). */
function zeroPadding(p: unknown): ZeroPadding | undefined {
  const pair = (v: unknown): [number, number] | undefined => (typeof v === 'number' ? [v, v] : Array.isArray(v) && v.length === 2 && v.every((n) => Number.isInteger(n)) ? [v[0], v[1]] : undefined);
  if (typeof p === 'number') return [[p, p], [p, p]];
  if (!Array.isArray(p) || p.length !== 2) return undefined;
  const [h, w] = [pair(p[0]), pair(p[1])];
  return h && w ? [h, w] : undefined;
}

/** Keras's ReLU(max_value=6) with no negative slope or threshold (what relu6(x·a + b) computes). */
const isRelu6 = (l: KerasModelFiles['layers'][number]): boolean => {
  const c = l.config as { max_value?: number; negative_slope?: number; threshold?: number };
  return l.class_name === 'ReLU' && c.max_value === 6 && !c.negative_slope && !c.threshold;
};

/** A Keras backbone from `from` to its tap, global-average-pooled, under a new linear head. */
export async function kerasTrainModel(files: KerasModelFiles, spec: KerasTrainSpec): Promise<TrainModel> {
  // Imported here: its classes extend tfjs' Layer when defined, which would load tfjs at every CLI start.
  const { foldsPadding, PlainConv, RunningStatsNorm, RunningStatsNormRelu6, trainingLayer } = await import('./training-layers.ts');
  const full = await loadKerasLayers(files);
  const tapOut = full.getLayer(spec.tap).output as tf.SymbolicTensor;
  const channels = tapOut.shape[tapOut.shape.length - 1] as number;
  const head = linearHead(channels, spec.numClasses, spec.seed);
  const names = files.layers.map((l) => l.name);
  const [from, after, tap] = [spec.from, spec.trainAfter, spec.tap].map((n) => names.indexOf(n));
  const input = tf.input({ shape: (full.getLayer(spec.from).output as tf.SymbolicTensor).shape.slice(1) as number[] });
  const sym = new Map<string, tf.SymbolicTensor>([[spec.from, input]]);
  const trained: tf.LayerVariable[] = [];
  const consumers = new Map<string, KerasModelFiles['layers']>();
  for (const l of files.layers) for (const n of inboundNames(l)) consumers.set(n, [...(consumers.get(n) ?? []), l]);
  // relu6 layers applied inside the batch norm before them (RunningStatsNormRelu6): the batch norm's name for each.
  const fusedInto = new Map<string, string>();
  // Convolutions that take the ZeroPadding2D before them as explicit padding: the padding for each.
  const paddedBy = new Map<string, ZeroPadding>();
  for (let i = from + 1; i <= tap; i++) {
    const l = files.layers[i];
    const ins = inboundNames(l).map((n) => sym.get(n));
    if (ins.some((t) => t === undefined)) continue; // not on the path from `from` to the tap
    if (fusedInto.has(l.name)) {
      sym.set(l.name, sym.get(fusedInto.get(l.name)!)!);
      continue;
    }
    const original = full.getLayer(l.name);
    // A layer folds into the one after it only when that is its only consumer, on the path, and the layer is not the tap.
    const next = consumers.get(l.name) ?? [];
    const sole = l.name !== spec.tap && next.length === 1 && names.indexOf(next[0].name) <= tap ? next[0] : undefined;
    const pad = l.class_name === 'ZeroPadding2D' ? zeroPadding(l.config.padding) : undefined;
    if (pad && sole && (l.config.data_format ?? 'channels_last') === 'channels_last' && foldsPadding(sole.class_name, full.getLayer(sole.name))) {
      paddedBy.set(sole.name, pad);
      sym.set(l.name, ins[0]!);
      continue;
    }
    const fuse = l.class_name === 'BatchNormalization' && sole !== undefined && isRelu6(sole);
    if (fuse) fusedInto.set(sole.name, l.name);
    const layer = fuse ? new RunningStatsNormRelu6(original) : paddedBy.has(l.name) ? new PlainConv(original, paddedBy.get(l.name)) : trainingLayer(l.class_name, original);
    sym.set(l.name, layer.apply(ins.length === 1 ? ins[0]! : (ins as tf.SymbolicTensor[])) as tf.SymbolicTensor);
    if (i > after) {
      // nsfwjs ships its early layers with trainable: false; what --train names trains here.
      original.trainable = true;
      trained.push(...(layer instanceof RunningStatsNorm ? layer.affine() : original.trainableWeights));
    }
  }
  const out = sym.get(spec.tap)!;
  // Every layer output is kept for the backward pass (some twice: an op's input and its gradient's saved tensor).
  const activationBytes = 4 * [...new Set(sym.values())].reduce((a, t) => a + t.shape.slice(1).reduce((p: number, d) => p * (d ?? 1), 1), 0);
  const body = tf.model({ inputs: input, outputs: out.shape.length === 4 ? (tf.layers.globalAveragePooling2d({}).apply(out) as tf.SymbolicTensor) : out });
  return {
    inputShape: body.inputs[0].shape.slice(1) as number[],
    activationBytes,
    variables: [...trained.map((w) => w.read() as tf.Variable), ...head.variables],
    logits: (x) => head.apply(body.apply(x, { training: false }) as tf.Tensor),
    dispose: () => {
      full.dispose();
      head.dispose();
    },
  };
}

/** kerasTrainModel of an nsfwjs model by name: what a second training thread builds (train/parallel.ts's recipe). */
export function nsfwjsTrainModel(model: string, spec: KerasTrainSpec): Promise<TrainModel> {
  return kerasTrainModel(loadNsfwjsModel(model), spec);
}

/** The recipe for nsfwjsTrainModel(model, spec) in another thread. */
export function nsfwjsTrainRecipe(model: string, spec: KerasTrainSpec): ModelRecipe {
  return { module: import.meta.url, export: 'nsfwjsTrainModel', args: [model, spec] };
}
