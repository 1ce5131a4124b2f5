import { z } from 'zod';

/**
 * One schema for every card: the built-in ones (checked when the registry loads) and the JSON cards users write for
 * their own ONNX files (`--card`), where defaults fill what they leave out. A backbone is data (timm's pretrained
 * cfgs): code branches on these fields, never on model names.
 */
const rgb = z.tuple([z.number(), z.number(), z.number()]);
const IMAGENET = { mean: [0.485, 0.456, 0.406] as [number, number, number], std: [0.229, 0.224, 0.225] as [number, number, number] };

/** How an image becomes the model's input tensor (transformers.js order: RGB → resize → crop → rescale → normalize → layout). */
export const PreprocessSchema = z
  .object({
    /**
     * `stretch`: resize to exactly the input size, ignoring aspect ratio (what nsfwjs does). `shorter`: resize the
     * shorter side to `resizeTo` keeping aspect ratio, then center-crop to the input size (torchvision's Resize(int) + CenterCrop).
     */
    resize: z.enum(['stretch', 'shorter']).default('shorter'),
    /** Shorter side before the crop; only for `shorter` (default: the crop size). */
    resizeTo: z.number().int().min(1).optional(),
    interpolation: z.enum(['bilinear', 'bicubic', 'nearest']).default('bilinear'),
    /**
     * How an odd centre-crop margin splits (`shorter` only): `round` as torchvision's CenterCrop (half to even),
     * `floor` as transformers' image processors (one pixel less above and left). Default `round`.
     */
    cropOffset: z.enum(['round', 'floor']).optional(),
    /** Multiplies 0..255 pixels, e.g. 1/255. */
    scale: z.number().positive().default(1 / 255),
    mean: rgb.default(IMAGENET.mean),
    std: rgb.refine((s) => s.every((v) => v > 0), 'std must be > 0').default(IMAGENET.std),
  })
  .superRefine((p, ctx) => {
    // (255 * scale - mean) / std must be finite, and mean/std on the 0-255 scale with pixels scaled to 0..1 is a unit slip.
    for (const v of [0, 255])
      for (let c = 0; c < 3; c++)
        if (!Number.isFinite((v * p.scale - p.mean[c]) / p.std[c])) ctx.addIssue({ code: 'custom', path: ['std'], message: `normalising gives ${(v * p.scale - p.mean[c]) / p.std[c]} for pixel value ${v}; mean/std must keep inputs finite` });
    const top = 255 * p.scale;
    if (p.mean.some((m) => m > 2 * top) || p.std.some((s) => s > 2 * top)) {
      ctx.addIssue({ code: 'custom', path: ['mean'], message: `mean [${p.mean}] / std [${p.std}] are on a larger scale than the pixels (0..${+top.toFixed(4)} after scale ${+p.scale.toPrecision(4)}): divide them by 255, or set scale: 1` });
    }
  });

const InputSchema = z.object({
  /** Input tensor name; default the model's first input. */
  name: z.string().min(1).optional(),
  height: z.number().int().min(1),
  width: z.number().int().min(1),
  channels: z.literal(3).default(3),
  layout: z.enum(['NCHW', 'NHWC']).default('NCHW'),
});

/**
 * How the feature vector comes out of `name`: `cls` = token 0 of a [n, tokens, d] output; `mean` = mean of the tokens
 * after the first `prefixTokens` (patch tokens); `gap` = mean over space of [n, c, h, w]; `none` = [n, d] as is.
 */
const OutputSchema = z.object({
  name: z.string().min(1),
  pooling: z.enum(['cls', 'mean', 'gap', 'none']).default('none'),
  /** Tokens before the patch tokens (CLS, distillation, registers); `mean` skips them. Default 1. */
  prefixTokens: z.number().int().min(0).optional(),
});

const common = {
  id: z.string().min(1),
  summary: z.string().default('custom ONNX model'),
  /** Other names users may type (`dino` → `dino-vits16`). */
  aliases: z.array(z.string().min(1)).optional(),
  weights: z.string().default('unknown'),
  params: z.string().default('?'),
  input: InputSchema,
  preprocess: PreprocessSchema.default({ resize: 'shorter', interpolation: 'bilinear', scale: 1 / 255, ...IMAGENET }),
  /** Feature dimension; checked against the model's output when given. */
  featureDim: z.number().int().min(1).optional(),
};

/** A model on the Hugging Face hub, in transformers.js layout (`<repo>/onnx/model.onnx`). */
const HubSourceSchema = z.object({
  kind: z.literal('hub'),
  repo: z.string().min(1),
  file: z.string().min(1),
  revision: z.string().min(1).optional(),
  /** How to make the ONNX file when the repo has none (shown when the hub answers 404). */
  exportHint: z.string().optional(),
  /** The transformers checkpoint (hub repo id) the ONNX file is exported from by `reprobe models export`; default `repo`. */
  checkpoint: z.string().min(1).optional(),
});

/** The text tower's tokenizer: Hugging Face vocab.json and merges.txt, paths in the same hub repo. */
const TokenizerFilesSchema = z.object({ vocab: z.string().min(1), merges: z.string().min(1) }).strict();

/** An ONNX model (from the hub or a local file) whose `output` holds the features. */
export const OnnxCardSchema = z
  .object({
    ...common,
    source: z.discriminatedUnion('kind', [HubSourceSchema, z.object({ kind: z.literal('file'), path: z.string().min(1) })]),
    output: OutputSchema,
    /** Fine-tuning blocks: a regex over tensor names; the matching tensors the whole graph passes through end a block. */
    blocks: z.string().min(1).optional(),
    /** CLIP-style text tower next to the image tower (same repo), used by zero-shot. */
    text: z.object({ file: z.string().min(1), output: z.string().min(1), contextLength: z.number().int().min(1), logitScale: z.number().positive().optional(), tokenizer: TokenizerFilesSchema.optional() }).optional(),
    /** A transformer's patch size: the input must split into whole patches (a 230-pixel input for /16 patches is refused at load). */
    patch: z.number().int().min(1).optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const problem = patchProblem(c);
    if (problem) ctx.addIssue({ code: 'custom', path: ['input'], message: problem });
  });

/** Why an input size does not fit the card's patch size, or undefined when it does (or the card has none). */
export function patchProblem(c: { input: { height: number; width: number }; patch?: number }): string | undefined {
  const { height, width } = c.input;
  if (!c.patch || (height % c.patch === 0 && width % c.patch === 0)) return undefined;
  return `input ${height}x${width} is not a whole number of ${c.patch}-pixel patches; use a multiple of ${c.patch} (e.g. ${Math.round(height / c.patch) * c.patch})`;
}

/** A Keras layers model bundled in the nsfwjs npm package, converted to ONNX at a tap. */
export const KerasCardSchema = z
  .object({
    ...common,
    source: z.object({ kind: z.literal('nsfwjs'), model: z.string().min(1) }),
    /** Feature layer ("tap"), chosen by measurement (bench/tap-sweep.ts); --layer picks another. */
    tap: z.string().min(1),
    pooling: z.literal('gap'),
    featureDim: z.number().int().min(1),
    /** Other taps worth sweeping, in network order. */
    altTaps: z.array(z.string().min(1)),
    /** Fine-tuning blocks: a regex over layer names; the matching layers where the graph narrows to one tensor end a block. */
    blocks: z.string().min(1),
  })
  .strict();

export const CardSchema = z.union([KerasCardSchema, OnnxCardSchema]);

/** Shorter-side cards resize to `resizeTo`, by default the crop size. */
export function withResizeDefault<C extends { input: { height: number; width: number }; preprocess: { resize: string; resizeTo?: number } }>(c: C): C {
  if (c.preprocess.resize !== 'shorter' || c.preprocess.resizeTo !== undefined) return c;
  return { ...c, preprocess: { ...c.preprocess, resizeTo: Math.min(c.input.height, c.input.width) } };
}

/** The first problem of a failed parse as `"key.path": message`. */
export function firstIssue(error: z.ZodError): { key: string; message: string } {
  const issue = error.issues[0];
  return { key: [...issue.path, ...((issue as { keys?: string[] }).keys ?? [])].map(String).join('.'), message: issue.message };
}
