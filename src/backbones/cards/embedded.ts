import type { KerasCard } from '../types.ts';

/** nsfwjs's Keras models: 0..1 RGB, bilinear stretch to the input size, NHWC. */
const NSFWJS_FAMILY = {
  weights: 'ImageNet, then tuned for 5 NSFW classes by nsfwjs (uint8-quantized)',
  preprocess: { resize: 'stretch', interpolation: 'bilinear', scale: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1] },
  pooling: 'gap',
} as const satisfies Partial<KerasCard>;

function card(c: Omit<KerasCard, keyof typeof NSFWJS_FAMILY>): KerasCard {
  return structuredClone({ ...NSFWJS_FAMILY, ...c } as KerasCard);
}

/** Embedded backbones, shipped inside npm packages: they run offline on a fresh machine. */
export const EMBEDDED_CARDS: readonly KerasCard[] = [
  card({
    id: 'mobilenet-v2',
    summary: 'MobileNetV2 1.0 @224 (Keras), bundled in the nsfwjs package',
    source: { kind: 'nsfwjs', model: 'mobilenet_v2' },
    params: '3.5M',
    input: { height: 224, width: 224, channels: 3, layout: 'NHWC' },
    // bench/tap-sweep.ts, UC Merced 10+3 shots, test kNN/LR: out_relu 0.50/0.58, block_16_project_BN 0.55/0.65,
    // block_15_add 0.60/0.70, block_13_expand_relu 0.65/0.75 (the best of 9 taps).
    tap: 'block_13_expand_relu',
    featureDim: 576,
    // The stem, then each inverted-residual block (its add, or its projection where it has no shortcut).
    blocks: '^(Conv1_relu|expanded_conv_project_BN|block_\\d+_(add|project_BN)|out_relu)$',
    altTaps: ['block_9_add', 'block_11_add', 'block_12_add', 'block_13_expand_relu', 'block_14_add', 'block_15_add', 'block_16_expand_relu', 'block_16_project_BN', 'out_relu'],
  }),
  card({
    id: 'inception-v3',
    summary: 'InceptionV3 @299 (Keras), bundled in the nsfwjs package',
    source: { kind: 'nsfwjs', model: 'inception_v3' },
    params: '23.9M',
    input: { height: 299, width: 299, channels: 3, layout: 'NHWC' },
    // bench/tap-sweep.ts, UC Merced 10+3 shots, test kNN/LR: mixed10 0.45/0.50, mixed8 0.70/0.79, mixed7 0.67/0.77,
    // mixed6 0.70/0.81 (the best of 7 taps).
    tap: 'mixed6',
    featureDim: 768,
    // The stem (to its second max-pool), then each mixed block.
    blocks: '^(max_pooling2d_2|mixed\\d+)$',
    altTaps: ['mixed4', 'mixed5', 'mixed6', 'mixed7', 'mixed8', 'mixed9', 'mixed10'],
  }),
];
