import type { ResolvedBackbone } from '../backbones/registry.ts';
import { isKerasCard, type Card } from '../backbones/types.ts';
import { ConfigError, unknownName } from '../errors.ts';
import { openGradcam, type TrainedRun } from './keras-gradcam.ts';
import { openOnnxGradcam } from './onnx-gradcam.ts';
import { RELEVANCE_DEFAULTS, relevanceMap, type RelevanceOptions } from './relevance.ts';
import { ROLLOUT_DEFAULTS, rolloutMap, type RolloutOptions } from './rollout.ts';
import type { ExplainInput, ExplainMap } from './types.ts';

export const EXPLAINER_NAMES = ['rollout', 'relevance', 'gradcam'] as const;
export type ExplainerName = (typeof EXPLAINER_NAMES)[number];

/** One explained image: the map, and for class scores the class explained and the image's scores. */
interface Explanation {
  map: ExplainMap;
  classIndex?: number;
  scores?: Float32Array;
}

/** A method opened on one backbone (models loaded once), explaining one preprocessed image at a time. */
interface OpenedExplainer {
  explain(input: ExplainInput): Promise<Explanation>;
  dispose(): void;
}

interface ExplainOpenOptions {
  /** A fine-tuned run whose classes are explained (gradcam). */
  run?: TrainedRun;
  /** The layer explained (gradcam); default the last convolutional block before the tap. */
  layer?: string;
  /** relevance: the first attention block that adds to the map (RELEVANCE_DEFAULTS). */
  relevance?: { [K in keyof RelevanceOptions]?: RelevanceOptions[K] | undefined };
  /** rollout: head fusion and discard ratio (ROLLOUT_DEFAULTS). */
  rollout?: { [K in keyof RolloutOptions]?: RolloutOptions[K] | undefined };
}

/** An explanation method: what it computes, which backbones it serves, and what a column of the grid is for it. */
export interface Explainer {
  summary: string;
  /** The backbones it serves, in words (for the one-line refusal). */
  serves: string;
  supports(card: Card): boolean;
  /** A column of the grid: nothing (one map per image), a text prompt or class, or a class. */
  targets: 'none' | 'text-or-class' | 'class';
  open(backbone: ResolvedBackbone, opt: ExplainOpenOptions): Promise<OpenedExplainer>;
}

/** Transformers: ONNX cards with a patch size. */
const isVit = (c: Card) => !isKerasCard(c) && c.patch !== undefined;
/** Stateless map functions (the ONNX session is the map function's own business). */
const stateless = (f: (input: ExplainInput) => Promise<ExplainMap>): OpenedExplainer => ({ explain: async (input) => ({ map: await f(input) }), dispose: () => undefined });

/** The registry (CLIP_benchmark's dict of loaders): adding a method touches its own file and this table. */
export const EXPLAINERS: Readonly<Record<ExplainerName, Explainer>> = {
  rollout: {
    summary: 'attention rollout (Abnar & Zuidema 2020): every block\'s attention (heads fused by mean, max or min) with the residual identity, multiplied through the layers',
    serves: 'ViT-family ONNX cards (ViT, DINO, BEiT, MAE, data2vec, CLIP\'s image tower)',
    supports: isVit,
    targets: 'none',
    open: async (_, opt) => stateless((input) => rolloutMap(input, { headFusion: opt.rollout?.headFusion ?? ROLLOUT_DEFAULTS.headFusion, discardRatio: opt.rollout?.discardRatio ?? ROLLOUT_DEFAULTS.discardRatio })),
  },
  relevance: {
    summary: 'gradient-weighted attention relevance (Chefer et al. 2021) of the image-text similarity (CLIP, --text) or of a class score, from the last block by default as their CLIP code',
    serves: 'ViT-family ONNX cards (CLIP with a text tower for --text)',
    supports: isVit,
    targets: 'text-or-class',
    open: async (_, opt) => stateless((input) => relevanceMap(input, { startLayer: opt.relevance?.startLayer ?? RELEVANCE_DEFAULTS.startLayer })),
  },
  gradcam: {
    summary: 'Grad-CAM (Selvaraju et al. 2017): the chosen layer\'s activations weighted by the pooled gradients of a class score',
    serves: 'ConvNets: the Keras ones (mobilenet-v2, inception-v3), for the classes of a fine-tuned run (--run) or of their own classifier (--class); ONNX ones without a patch size (ConvNeXt, EfficientNet), for a feature of their output (--class)',
    supports: (c) => !isVit(c),
    targets: 'class',
    open: async (backbone, opt) => {
      const g = isKerasCard(backbone.card) ? await openGradcam(backbone, opt) : await openOnnxGradcam(backbone, opt);
      return { explain: async (input) => g.explain(input), dispose: g.dispose };
    },
  },
};

/** The methods that serve a card, in registry order. */
export function explainersFor(card: Card): ExplainerName[] {
  return EXPLAINER_NAMES.filter((m) => EXPLAINERS[m].supports(card));
}

/**
 * The method for a backbone: the one asked for, which must serve it (else one line naming the ones that do); by
 * default Grad-CAM for ConvNets, relevance for transformers given a prompt, rollout otherwise.
 */
export function pickExplainer(name: string | undefined, backbone: ResolvedBackbone, hasText: boolean): ExplainerName {
  const card = backbone.card;
  const served = explainersFor(card);
  if (name !== undefined && !(EXPLAINER_NAMES as readonly string[]).includes(name)) throw new ConfigError(unknownName('explain method', name, EXPLAINER_NAMES, 'Pick one with --method.'));
  if (name !== undefined && !served.includes(name as ExplainerName)) {
    throw new ConfigError(`${name} cannot explain ${backbone.name}: it serves ${EXPLAINERS[name as ExplainerName].serves}. ${backbone.name} supports ${served.length ? served.join(', ') : 'no explanation method yet'}.`);
  }
  if (name !== undefined) return name as ExplainerName;
  if (!served.length) throw new ConfigError(`No explanation method serves ${backbone.name} yet: rollout and relevance explain ViT-family ONNX cards, gradcam the ConvNets.`);
  if (served.includes('gradcam')) return 'gradcam';
  return hasText && served.includes('relevance') ? 'relevance' : served[0];
}
