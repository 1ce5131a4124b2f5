import * as tf from '@tensorflow/tfjs';
import { cutBoundary } from '../runtime/onnx-blocks.ts';
import type { OnnxCard } from '../backbones/types.ts';
import { BackboneError } from '../errors.ts';
import { linearHead } from '../train/head.ts';
import type { TrainModel } from '../train/head.ts';
import { onnxToTfjs } from '../runtime/onnx-tfjs.ts';

/** The card's pooling of its output, on tfjs tensors (src/backbones/pooling.ts does the same on onnxruntime's). */
export function pooledFeatures(t: tf.Tensor, out: OnnxCard['output']): tf.Tensor {
  switch (out.pooling) {
    case 'cls':
      return t.slice([0, 0, 0], [-1, 1, -1]).reshape([t.shape[0], -1]);
    case 'mean': {
      const skip = out.prefixTokens ?? 1;
      return t.slice([0, skip, 0], [-1, -1, -1]).mean(1);
    }
    case 'gap':
      return t.mean([2, 3]);
    case 'none':
      return t.reshape([t.shape[0], -1]);
  }
}

/**
 * The shape arithmetic the part after a cut reads from before it (BEiT's patch grid, from which its position bias is
 * sized): computed once on blank images of the card's size. Values that change with the batch size would be wrong
 * as constants: a BackboneError then.
 */
export function cutConstants(bytes: Uint8Array, cut: string, image: number[]): Record<string, tf.Tensor> {
  const names = cutBoundary(bytes, cut);
  if (!names.length) return {};
  const prefix = onnxToTfjs(bytes, { outputs: names, scope: 'cut-constants' });
  try {
    const at = (n: number) => tf.tidy(() => prefix.run({ [prefix.inputs[0]]: tf.zeros([n, ...image]) }).map((t) => t.clone()));
    const [one, two] = [at(1), at(2)];
    const differs = names.find((_, i) => !tf.util.arraysEqual(one[i].dataSync(), two[i].dataSync()));
    tf.dispose(two);
    if (differs) {
      tf.dispose(one);
      throw new BackboneError(`The part after "${cut}" reads "${differs}" from before it, which is not shape arithmetic on the image size; cut elsewhere.`);
    }
    return Object.fromEntries(names.map((n, i) => [n, one[i]]));
  } finally {
    prefix.dispose();
  }
}

/**
 * An ONNX backbone translated to tfjs, pooled as its card says, under a new linear head: the whole graph from the
 * preprocessed images (every weight trains, or none with a head alone), or the part after a cut tensor, fed with the
 * cut's activations.
 */
export function onnxTrainModel(
  bytes: Uint8Array,
  card: OnnxCard,
  o: { featureDim: number; numClasses: number; seed: number; trainBackbone: boolean; from?: { tensor: string; shape: number[] } },
): TrainModel {
  const { height: h, width: w, layout } = card.input;
  const image = layout === 'NCHW' ? [3, h, w] : [h, w, 3];
  const constants = o.from ? cutConstants(bytes, o.from.tensor, image) : {};
  const graph = onnxToTfjs(bytes, { outputs: [card.output.name], ...(o.from ? { inputs: [o.from.tensor], constants } : {}) });
  const head = linearHead(o.featureDim, o.numClasses, o.seed);
  return {
    inputShape: o.from?.shape ?? image,
    variables: [...(o.trainBackbone ? graph.variables.values() : []), ...head.variables],
    logits: (x) => head.apply(pooledFeatures(graph.run({ [graph.inputs[0]]: x })[0], card.output)),
    dispose: () => {
      graph.dispose();
      tf.dispose(Object.values(constants));
      head.dispose();
    },
  };
}
