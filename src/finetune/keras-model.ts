import * as tf from '@tensorflow/tfjs';
import { loadKerasLayers } from '../backbones/tfjs.ts';
import { inboundNames, type KerasModelFiles } from '../backbones/keras/topology.ts';
import { linearHead } from './head.ts';

/** A classifier being trained: logits for a batch, and the variables training changes. */
export interface TrainModel {
  /** Shape of one example (no batch dimension). */
  inputShape: number[];
  variables: tf.Variable[];
  /** Batch → [n, classes] logits; batch norm on its running statistics, dropout off (what frozen features assume). */
  logits(x: tf.Tensor): tf.Tensor2D;
  dispose(): void;
}

export interface KerasTrainSpec {
  /**
   * What the model reads: `features` = the tap's pooled features (a head alone), or a layer name whose output it
   * starts from (a cut point; the model's input layer to start from pixels).
   */
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
  const full = await loadKerasLayers(files);
  const tapOut = full.getLayer(spec.tap).output as tf.SymbolicTensor;
  const channels = tapOut.shape[tapOut.shape.length - 1] as number;
  const head = linearHead(channels, spec.numClasses, spec.seed);
  if (spec.from === 'features') {
    full.dispose();
    return { inputShape: [channels], variables: head.variables, logits: (x) => head.apply(x), dispose: () => head.dispose() };
  }
  const names = files.layers.map((l) => l.name);
  const [from, after, tap] = [spec.from, spec.trainAfter, spec.tap].map((n) => names.indexOf(n));
  const input = tf.input({ shape: (full.getLayer(spec.from).output as tf.SymbolicTensor).shape.slice(1) as number[] });
  const sym = new Map<string, tf.SymbolicTensor>([[spec.from, input]]);
  const trained: tf.LayerVariable[] = [];
  for (let i = from + 1; i <= tap; i++) {
    const l = files.layers[i];
    const ins = inboundNames(l).map((n) => sym.get(n));
    if (ins.some((t) => t === undefined)) continue; // not on the path from `from` to the tap
    const layer = full.getLayer(l.name);
    sym.set(l.name, layer.apply(ins.length === 1 ? ins[0]! : (ins as tf.SymbolicTensor[])) as tf.SymbolicTensor);
    if (i > after) trained.push(...layer.trainableWeights);
  }
  const out = sym.get(spec.tap)!;
  const body = tf.model({ inputs: input, outputs: out.shape.length === 4 ? (tf.layers.globalAveragePooling2d({}).apply(out) as tf.SymbolicTensor) : out });
  return {
    inputShape: body.inputs[0].shape.slice(1) as number[],
    variables: [...trained.map((w) => w.read() as tf.Variable), ...head.variables],
    logits: (x) => head.apply(body.apply(x, { training: false }) as tf.Tensor),
    dispose: () => {
      full.dispose();
      head.dispose();
    },
  };
}
