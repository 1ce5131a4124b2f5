import * as tf from '@tensorflow/tfjs';
import type { OnnxCard } from '../backbones/types.ts';
import { linearHead } from './head.ts';
import type { TrainModel } from './head.ts';
import { onnxToTfjs } from './onnx-tfjs.ts';

/** The card's pooling of its output, on tfjs tensors (src/backbones/pooling.ts does the same on onnxruntime's). */
function pooled(t: tf.Tensor, out: OnnxCard['output']): tf.Tensor {
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
 * An ONNX backbone translated to tfjs, pooled as its card says, under a new linear head: the whole graph from the
 * preprocessed images (every weight trains, or none with a head alone), or the part after a cut tensor, fed with the
 * cut's activations.
 */
export function onnxTrainModel(
  bytes: Uint8Array,
  card: OnnxCard,
  o: { featureDim: number; numClasses: number; seed: number; trainBackbone: boolean; from?: { tensor: string; shape: number[] } },
): TrainModel {
  const graph = onnxToTfjs(bytes, { outputs: [card.output.name], ...(o.from ? { inputs: [o.from.tensor] } : {}) });
  const head = linearHead(o.featureDim, o.numClasses, o.seed);
  const { height: h, width: w, layout } = card.input;
  return {
    inputShape: o.from?.shape ?? (layout === 'NCHW' ? [3, h, w] : [h, w, 3]),
    variables: [...(o.trainBackbone ? graph.variables.values() : []), ...head.variables],
    logits: (x) => head.apply(pooled(graph.run({ [graph.inputs[0]]: x })[0], card.output)),
    dispose: () => {
      graph.dispose();
      head.dispose();
    },
  };
}
