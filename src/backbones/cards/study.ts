import type { OnnxCard, Preprocess } from '../types.ts';

/*
 * The study's backbones as ONNX models on the Hugging Face hub. Preprocessing is the repo's own image processor
 * (preprocessor_config.json, as transformers applies it: test/backbones/hf-architectures.test.ts checks every card
 * against it on real photos), except DINO and MAE, which keep their authors' evaluation transform for frozen
 * features (docs/study-backbones.md says why). Where no public ONNX export exists, `exportHint` says how to make one
 * (`reprobe models export`, or optimum-cli) and `models pull` prints it.
 */
const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } as const;
const HALF = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] } as const;
const CLIP = { mean: [0.48145466, 0.4578275, 0.40821073], std: [0.26862954, 0.26130258, 0.27577711] } as const;

const norm = (n: { mean: readonly number[]; std: readonly number[] }) => ({ scale: 1 / 255, mean: [...n.mean] as Preprocess['mean'], std: [...n.std] as Preprocess['std'] });
/** Shorter side → centre crop; `floor` offsets as transformers' processors crop, `round` as torchvision's CenterCrop. */
function pre(resizeTo: number, interpolation: Preprocess['interpolation'], n: typeof IMAGENET | typeof HALF | typeof CLIP, cropOffset: 'round' | 'floor'): Preprocess {
  return { resize: 'shorter', resizeTo, interpolation, cropOffset, ...norm(n) };
}
/** Resize to exactly the input size (transformers' processors with size {height, width} and no crop). */
const stretch = (interpolation: Preprocess['interpolation'], n: typeof IMAGENET | typeof HALF): Preprocess => ({ resize: 'stretch', interpolation, ...norm(n) });
const nchw = (size: number) => ({ name: 'pixel_values', height: size, width: size, channels: 3, layout: 'NCHW' }) as const;
const exportHint = (id: string, repo: string) =>
  `reprobe models export ${id} (Python with torch, transformers and onnx; --from FOLDER for a local checkpoint), or optimum-cli export onnx --model ${repo} --task feature-extraction <dir> and copy <dir>/model.onnx to the path above`;
const CLS = { name: 'last_hidden_state', pooling: 'cls' } as const;
const MEAN = { name: 'last_hidden_state', pooling: 'mean', prefixTokens: 1 } as const;
const POOLED = { name: 'pooler_output', pooling: 'none' } as const;

/*
 * Fine-tuning blocks (`--train last:N`): the tensor each repeated unit ends at, in the module paths of both the
 * transformers 5 exports (`/model/layers.3/Add_1_output_0`, `/model/encoder/layer.3/...`) and the transformers 4 ones
 * the hub's files hold (`/encoder/layer.3/output/Add_output_0`, `/vit/encoder/...`, CLIP's
 * `/vision_model/encoder/layers.3/Add_1_output_0`); the final norm, pooler or projection trains with the last unit.
 */
/** A transformer layer's second residual sum: ViT's output module adds it, BEiT, data2vec and CLIP layers add it themselves. */
const TRANSFORMER_BLOCKS = '/layers?\\.\\d+/(output/Add|Add_1)_output_0$';
/** The same where no final norm follows the last layer, whose sum the export names `last_hidden_state` (CLIP's image tower, BEiT's mean pooling). */
const UNNORMED_TRANSFORMER_BLOCKS = `${TRANSFORMER_BLOCKS}|^last_hidden_state$`;
/** A ConvNeXt layer's residual sum, the last one named `last_hidden_state` (the downsampling into a stage trains with the layer before it). */
const CONVNEXT_BLOCKS = '/stages\\.\\d+/layers\\.\\d+/Add_output_0$|^last_hidden_state$';
/** An EfficientNet block's end: its residual sum, else its projection (the batch norm, or the convolution it was folded into). */
const EFFICIENTNET_BLOCKS = '/blocks\\.\\d+/projection/(Add|project_bn/BatchNormalization|project_conv/Conv)_output_0$';

function vit(id: string, repo: string, params: string, dim: number, onHub: boolean): OnnxCard {
  const [, size, patch] = /-(base|large)-patch(\d+)/.exec(repo) ?? [];
  return {
    id,
    summary: `ViT-${size === 'large' ? 'L' : 'B'}/${patch} @224, ImageNet-21k (${repo})`,
    weights: 'ImageNet-21k, supervised',
    params,
    source: onHub ? { kind: 'hub', repo: `Xenova/${repo.split('/')[1]}`, file: 'onnx/model.onnx', checkpoint: repo } : { kind: 'hub', repo, file: 'onnx/model.onnx', exportHint: exportHint(id, repo) },
    input: nchw(224),
    patch: Number(patch),
    // The repo's ViTImageProcessor: 224 x 224 bilinear, no crop, mean/std 0.5 (was timm's bicubic 248 → crop 224).
    preprocess: stretch('bilinear', HALF),
    output: CLS,
    featureDim: dim,
    blocks: TRANSFORMER_BLOCKS,
  };
}

export const STUDY_CARDS: readonly OnnxCard[] = [
  {
    id: 'clip-vit-b32',
    aliases: ['clip'],
    summary: 'CLIP ViT-B/32 image tower, projected embedding (openai/clip-vit-base-patch32)',
    weights: 'OpenAI CLIP, 400M image-text pairs',
    params: '88M',
    source: { kind: 'hub', repo: 'Xenova/clip-vit-base-patch32', file: 'onnx/vision_model.onnx', checkpoint: 'openai/clip-vit-base-patch32' },
    input: nchw(224),
    // CLIPImageProcessor: shorter side 224 bicubic, centre crop 224 (floored offset), CLIP's mean/std.
    preprocess: pre(224, 'bicubic', CLIP, 'floor'),
    output: { name: 'image_embeds', pooling: 'none' },
    featureDim: 512,
    patch: 32,
    blocks: UNNORMED_TRANSFORMER_BLOCKS,
    text: { file: 'onnx/text_model.onnx', output: 'text_embeds', contextLength: 77, tokenizer: { vocab: 'vocab.json', merges: 'merges.txt' } },
  },
  vit('vit-b16', 'google/vit-base-patch16-224-in21k', '86M', 768, true),
  vit('vit-b32', 'google/vit-base-patch32-224-in21k', '88M', 768, false),
  vit('vit-l16', 'google/vit-large-patch16-224-in21k', '304M', 1024, false),
  vit('vit-l32', 'google/vit-large-patch32-224-in21k', '306M', 1024, false),
  ...(
    [
      ['convnext-tiny', 'facebook/convnext-tiny-224', 'ConvNeXt-T @224, ImageNet-1k', '28M', 768],
      ['convnext-base', 'facebook/convnext-base-224', 'ConvNeXt-B @224, ImageNet-1k', '89M', 1024],
    ] as const
  ).map(([id, repo, summary, params, dim]): OnnxCard => ({
    id,
    summary: `${summary} (${repo})`,
    weights: 'ImageNet-1k, supervised',
    params,
    source: { kind: 'hub', repo, file: 'onnx/model.onnx', exportHint: exportHint(id, repo) },
    input: nchw(224),
    // HF ConvNextImageProcessor: crop_pct 0.875 (→ 256), bicubic, ImageNet mean/std; pooled = LayerNorm(GAP).
    preprocess: pre(256, 'bicubic', IMAGENET, 'floor'),
    output: POOLED,
    featureDim: dim,
    blocks: CONVNEXT_BLOCKS,
  })),
  ...(
    [
      ['efficientnet-b2', 'google/efficientnet-b2', 260, '9.1M', 1408],
      ['efficientnet-b6', 'google/efficientnet-b6', 528, '43M', 2304],
    ] as const
  ).map(([id, repo, size, params, dim]): OnnxCard => ({
    id,
    summary: `EfficientNet-${id.slice(-2).toUpperCase()} @${size}, ImageNet-1k (${repo})`,
    weights: 'ImageNet-1k, supervised',
    params,
    source: { kind: 'hub', repo, file: 'onnx/model.onnx', exportHint: exportHint(id, repo) },
    input: nchw(size),
    // The repo's EfficientNetImageProcessor: size x size NEAREST, no crop, ImageNet mean; its std
    // [0.4785, 0.4733, 0.4743] applied twice (include_top) is ImageNet's std to 1e-8 (was timm's bicubic resize and crop).
    preprocess: stretch('nearest', IMAGENET),
    output: POOLED,
    featureDim: dim,
    blocks: EFFICIENTNET_BLOCKS,
  })),
  {
    id: 'beit-base',
    summary: 'BEiT-B/16 @224, self-supervised on ImageNet-22k (microsoft/beit-base-patch16-224-pt22k)',
    weights: 'ImageNet-22k, masked image modelling (no labels)',
    params: '86M',
    source: { kind: 'hub', repo: 'Xenova/beit-base-patch16-224-pt22k', file: 'onnx/model.onnx', checkpoint: 'microsoft/beit-base-patch16-224-pt22k' },
    input: nchw(224),
    patch: 16,
    // The repo's BeitImageProcessor: 224 x 224 bilinear, no crop, mean/std 0.5.
    preprocess: stretch('bilinear', HALF),
    output: MEAN,
    featureDim: 768,
    blocks: UNNORMED_TRANSFORMER_BLOCKS,
  },
  {
    id: 'mae-base',
    aliases: ['mae'],
    summary: 'MAE ViT-B/16 @224, self-supervised on ImageNet-1k (facebook/vit-mae-base)',
    weights: 'ImageNet-1k, masked autoencoder (no labels)',
    params: '86M',
    source: {
      kind: 'hub',
      repo: 'facebook/vit-mae-base',
      file: 'onnx/model.onnx',
      // HF's ViTMAEModel masks 75 % of patches at random unless mask_ratio is 0.
      exportHint: 'reprobe models export mae-base (mask_ratio 0, every patch kept in order), or export facebook/vit-mae-base with config.mask_ratio = 0 (optimum-cli export onnx --task feature-extraction after setting it in config.json) and copy model.onnx to the path above',
    },
    input: nchw(224),
    patch: 16,
    // MAE's linear-probe transform: Resize(256, bicubic), CenterCrop(224), ImageNet mean/std (the repo's processor
    // stretches to 224 bicubic; the authors' frozen-feature protocol crops).
    preprocess: pre(256, 'bicubic', IMAGENET, 'round'),
    output: MEAN,
    featureDim: 768,
    blocks: TRANSFORMER_BLOCKS,
  },
  ...(
    [
      ['dino-vits16', ['dino'], 'ViT-S/16', '22M', 384],
      ['dino-vitb16', [], 'ViT-B/16', '86M', 768],
    ] as const
  ).map(([id, aliases, arch, params, dim]): OnnxCard => ({
    id,
    ...(aliases.length ? { aliases: [...aliases] } : {}),
    summary: `DINO ${arch} @224, self-supervised on ImageNet-1k (facebook/${id})`,
    weights: 'ImageNet-1k, self-distillation (no labels)',
    params,
    source: { kind: 'hub', repo: `Xenova/${id}`, file: 'onnx/model.onnx', checkpoint: `facebook/${id}` },
    input: nchw(224),
    patch: 16,
    // DINO's eval_knn / eval_linear transform: Resize(256, bicubic), CenterCrop(224), ImageNet mean/std (the repo's
    // processor stretches to 224 bilinear; the study's kNN protocol is DINO's).
    preprocess: pre(256, 'bicubic', IMAGENET, 'round'),
    output: CLS,
    featureDim: dim,
    blocks: TRANSFORMER_BLOCKS,
  })),
  {
    id: 'data2vec-base',
    summary: 'data2vec-vision ViT-B/16 @224, self-supervised on ImageNet-1k (facebook/data2vec-vision-base)',
    weights: 'ImageNet-1k, data2vec (no labels)',
    params: '86M',
    source: { kind: 'hub', repo: 'facebook/data2vec-vision-base', file: 'onnx/model.onnx', exportHint: exportHint('data2vec-base', 'facebook/data2vec-vision-base') },
    input: nchw(224),
    patch: 16,
    // The repo's BeitImageProcessor: 224 x 224 bilinear, no crop, mean/std 0.5.
    preprocess: stretch('bilinear', HALF),
    output: MEAN,
    featureDim: 768,
    blocks: UNNORMED_TRANSFORMER_BLOCKS,
  },
];
