import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import { lastUnitEnd } from '../runtime/onnx-blocks.ts';
import { fetchModel, type ResolvedBackbone } from '../backbones/registry.ts';
import { tfjsBackend } from '../runtime/tfjs.ts';
import { isKerasCard, type OnnxCard } from '../backbones/types.ts';
import { ConfigError } from '../errors.ts';
import { cutConstants, pooledFeatures } from '../finetune/onnx-model.ts';
import { onnxToTfjs, type TfjsGraph } from '../runtime/onnx-tfjs.ts';
import { registerWasmTraining } from '../runtime/training-kernels.ts';
import { gradCam, type ConvNetSplit } from './gradcam.ts';
import type { ClassMap, TrainedRun } from './keras-gradcam.ts';
import type { ExplainInput } from './types.ts';

/**
 * Grad-CAM for an ONNX ConvNet (ConvNeXt, EfficientNet) through the ONNX → tfjs translation: the graph up to the
 * explained layer, and from it to the card's pooled output. A feature-extraction model has no classes: the score
 * explained is one feature of that output (--class k; by default its largest), as relevance does for transformers.
 */

export interface OnnxGradcam extends ConvNetSplit {
  /** The explained tensor. */
  layer: string;
  dispose(): void;
}

/** The model split at `layer` (default: the last unit's end by the card's blocks pattern, ConvNeXt's last stage, EfficientNet's last block). */
export function onnxGradcam(bytes: Uint8Array, card: OnnxCard, want?: string): OnnxGradcam {
  const layer = want ?? (card.blocks ? lastUnitEnd(bytes, card.blocks, card.output.name) : undefined);
  if (!layer) throw new ConfigError(`${card.id} lists no blocks to take the last convolutional stage from; pass --layer with a tensor name of its ONNX graph.`);
  const { height: h, width: w, layout } = card.input;
  const image = layout === 'NCHW' ? [3, h, w] : [h, w, 3];
  const prefix = onnxToTfjs(bytes, { outputs: [layer], scope: 'gradcam-prefix' });
  const constants = cutConstants(bytes, layer, image);
  let graph: TfjsGraph;
  try {
    graph = onnxToTfjs(bytes, { outputs: [card.output.name], inputs: [layer], constants, scope: 'gradcam-suffix' });
  } catch (err) {
    prefix.dispose();
    tf.dispose(Object.values(constants));
    throw err;
  }
  // Grad-CAM's activations are NHWC ([1, gh, gw, C]); ONNX ConvNets compute NCHW.
  const nchw = layout === 'NCHW';
  return {
    layer,
    forward(x) {
      const a = prefix.run({ [prefix.inputs[0]]: x })[0];
      if (a.rank !== 4) throw new ConfigError(`--layer ${layer} has no spatial activation map (shape [${a.shape.join(', ')}]); Grad-CAM needs a convolutional layer's output.`);
      return {
        activation: (nchw ? a.transpose([0, 2, 3, 1]) : a) as tf.Tensor4D,
        scores: (act) => pooledFeatures(graph.run({ [layer]: nchw ? act.transpose([0, 3, 1, 2]) : act })[0], card.output).reshape([1, -1]) as tf.Tensor2D,
      };
    },
    dispose: () => {
      prefix.dispose();
      graph.dispose();
      tf.dispose(Object.values(constants));
    },
  };
}

/** Grad-CAM for an ONNX backbone without a patch size (a ConvNet): one preprocessed image and a feature index at a time. */
export async function openOnnxGradcam(backbone: ResolvedBackbone, opt: { run?: TrainedRun; layer?: string }): Promise<{ layer: string; explain(input: ExplainInput): ClassMap; dispose(): void }> {
  const card = backbone.card;
  if (isKerasCard(card)) throw new ConfigError(`${backbone.name} is a Keras model; its Grad-CAM is keras-gradcam.ts's.`);
  if (opt.run) throw new ConfigError(`--run explains fine-tuned runs of the Keras ConvNets so far; on ${backbone.name} gradcam explains a feature of its output (--class k).`);
  if ((await tfjsBackend()) === 'wasm') registerWasmTraining();
  const path = backbone.files?.image ?? (await fetchModel(card)).image;
  const net = onnxGradcam(new Uint8Array(await readFile(path)), card, opt.layer);
  const { height, width, layout } = card.input;
  return {
    layer: net.layer,
    explain(input) {
      const x = tf.tensor4d(input.pixels, layout === 'NCHW' ? [1, 3, height, width] : [1, height, width, 3]);
      try {
        return gradCam(net, x, input.classIndex);
      } finally {
        x.dispose();
      }
    },
    dispose: () => net.dispose(),
  };
}
