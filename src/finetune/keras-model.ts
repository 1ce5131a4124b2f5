import * as tf from '@tensorflow/tfjs';
import { loadKerasLayers } from '../runtime/tfjs.ts';
import { inboundNames, type KerasModelFiles } from '../runtime/keras/topology.ts';
import { loadNsfwjsModel } from '../backbones/keras/nsfwjs-files.ts';
import { linearHead, type TrainModel } from '../train/head.ts';
import type { ModelRecipe } from '../train/parallel.ts';

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

/** A Keras backbone from `from` to its tap, global-average-pooled, under a new linear head. */
export async function kerasTrainModel(files: KerasModelFiles, spec: KerasTrainSpec): Promise<TrainModel> {
  // Imported here: its classes extend tfjs' Layer when defined, which would load tfjs at every CLI start.
  const { RunningStatsNorm, trainingLayer } = await import('./training-layers.ts');
  const full = await loadKerasLayers(files);
  const tapOut = full.getLayer(spec.tap).output as tf.SymbolicTensor;
  const channels = tapOut.shape[tapOut.shape.length - 1] as number;
  const head = linearHead(channels, spec.numClasses, spec.seed);
  const names = files.layers.map((l) => l.name);
  const [from, after, tap] = [spec.from, spec.trainAfter, spec.tap].map((n) => names.indexOf(n));
  const input = tf.input({ shape: (full.getLayer(spec.from).output as tf.SymbolicTensor).shape.slice(1) as number[] });
  const sym = new Map<string, tf.SymbolicTensor>([[spec.from, input]]);
  const trained: tf.LayerVariable[] = [];
  for (let i = from + 1; i <= tap; i++) {
    const l = files.layers[i];
    const ins = inboundNames(l).map((n) => sym.get(n));
    if (ins.some((t) => t === undefined)) continue; // not on the path from `from` to the tap
    const original = full.getLayer(l.name);
    const layer = trainingLayer(l.class_name, original);
    sym.set(l.name, layer.apply(ins.length === 1 ? ins[0]! : (ins as tf.SymbolicTensor[])) as tf.SymbolicTensor);
    if (i > after) {
      // nsfwjs ships its early layers with trainable: false; what --train names trains here.
      original.trainable = true;
      trained.push(...(layer instanceof RunningStatsNorm ? layer.affine() : original.trainableWeights));
    }
  }
  const out = sym.get(spec.tap)!;
  // Every layer output is kept for the backward pass (some twice: an op's input and its gradient's saved tensor).
  const activationBytes = 4 * [...sym.values()].reduce((a, t) => a + t.shape.slice(1).reduce((p: number, d) => p * (d ?? 1), 1), 0);
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
