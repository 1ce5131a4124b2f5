import { z } from 'zod';
import { PROBES } from '../probes/registry.ts';
import { MAX_SEED } from '../util/rng.ts';
import { METHODS } from './methods.ts';

export const RUNTIMES = ['auto', 'onnx', 'tfjs'] as const;
export const DEVICES = ['cpu', 'cuda'] as const;

const SEED_RANGE = `expected a whole number from 0 to ${MAX_SEED}`;

/** Names listed twice run once (a repeated backbone or probe would append the same records twice). */
const unique = <T>(list: T[]) => [...new Set(list)];

/** What every job shares: data, split, backbones and how they run. */
export const JOB_SHAPE = {
  backbones: z.array(z.string().min(1)).min(1).transform(unique).default(['mobilenet-v2']),
  dataset: z.string().min(1).default('mnist'),
  /** Folder holding the study datasets; default $REPROBE_DATA, else $REPROBE_HOME/data. */
  dataRoot: z.string().optional(),
  /** `shots`: k images per class (any dataset); `study`: the study's split table (configs/splits/study.yaml). */
  protocol: z.enum(['shots', 'study']).default('shots'),
  shots: z.number().int().min(1).default(10),
  /** Validation images per class; default about 0.3 x shots (see defaultValPerClass). */
  valPerClass: z.number().int().min(0).optional(),
  /** Test images per class; default every image not in train or val. */
  testPerClass: z.number().int().min(1).optional(),
  seed: z.number().int(SEED_RANGE).min(0, SEED_RANGE).max(MAX_SEED, SEED_RANGE).default(0),
  /** Repeat the split draw and the fit for each seed (mean ± std over them); replaces `seed`. */
  seeds: z.array(z.number().int(SEED_RANGE).min(0, SEED_RANGE).max(MAX_SEED, SEED_RANGE)).min(1).transform(unique).optional(),
  /** Feature layer overriding the card's tap (Keras backbones). */
  layer: z.string().optional(),
  runtime: z.enum(RUNTIMES).default('auto'),
  batchSize: z.number().int().min(1).max(1024).default(16),
  /** onnxruntime intra-op threads; past a machine's cores more only cost memory (each thread has its own stack). */
  threads: z.number().int().min(1).max(1024).optional(),
  /** onnxruntime execution provider; cuda falls back to cpu, with a message, when the CUDA provider is not installed. */
  device: z.enum(DEVICES).default('cpu'),
  /** Fail instead of falling back to the CPU when `device` cannot be used (`--strict`, `--require-device`). */
  strictDevice: z.boolean().default(false),
  /** Card file for a backbone given as a path to an .onnx file. */
  card: z.string().optional(),
  resultsDir: z.string().min(1, 'name a folder').default('results'),
  /** Read and write features in $REPROBE_HOME/features (a finished extraction is reused, a killed one resumes). */
  cache: z.boolean().default(true),
};

const probeNames = [...PROBES.keys()] as [string, ...string[]];

/** The probes' own options, merged (method option keys are distinct: the contract test checks it). */
const probeOptions = Object.assign({}, ...probeNames.map((n) => METHODS.get(n)!.options)) as z.ZodRawShape;

/** A probe job as the CLI and YAML configs give it; `parse({})` yields every default. */
export const ProbeJobSchema = z.object({
  ...JOB_SHAPE,
  probes: z.array(z.enum(probeNames)).min(1).transform(unique).default(['knn', 'lr']),
  ...probeOptions,
});

export type ProbeJob = z.infer<typeof ProbeJobSchema>;
/** The keys every job shares (data, split, backbones, how they run, where results go). */
export type SharedJob = z.infer<z.ZodObject<typeof JOB_SHAPE>>;

/** A clustering job: the shared keys and the options of UMAP + k-means (which include the k-means baseline's). */
export const ClusterJobSchema = z.object({
  ...JOB_SHAPE,
  // Clustering scores the whole dataset and trains nothing: no split unless asked (0 shots, as a sweep's cluster jobs).
  shots: z.number().int().min(0).default(0),
  ...METHODS.get('cluster')!.options,
});

/** A fine-tuning job: the shared keys, the finetune method's options, and whether to continue a killed run. */
export const FinetuneJobSchema = z.object({
  ...JOB_SHAPE,
  ...METHODS.get('finetune')!.options,
  resume: z.boolean().default(false),
});

/**
 * A zero-shot job: the shared keys, the prompt options, PRO's, the LR probe's (LITE), and the shot levels of the k-shot
 * curve (0 = zero-shot alone: no training images, every image tested).
 */
export const ZeroshotJobSchema = z.object({
  ...JOB_SHAPE,
  ...METHODS.get('pro')!.options,
  ...METHODS.get('lr')!.options,
  shotLevels: z.array(z.number().int().min(0)).min(1).transform(unique).default([0]),
  heads: z.array(z.enum(['lite', 'pro'])).min(1).transform(unique).default(['lite', 'pro']),
});

/** What `extract` takes of a job: how the backbone runs. */
export const ExtractRunSchema = z.object({ batchSize: JOB_SHAPE.batchSize, threads: JOB_SHAPE.threads, runtime: JOB_SHAPE.runtime, device: JOB_SHAPE.device, strictDevice: JOB_SHAPE.strictDevice }).strict();
export const JOB_DEFAULTS: ProbeJob = ProbeJobSchema.parse({});
