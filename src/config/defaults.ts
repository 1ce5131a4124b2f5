import { z } from 'zod';

/** Probe hyper-parameters: the one home of their defaults. */
export const PROBE_DEFAULTS = {
  /** DINO's k-NN evaluation: k = 20, exp(sim / 0.07) weighted vote. */
  knn: { k: [20] as readonly number[], vote: 'weighted' as const, temperature: 0.07 },
  /** C log grid swept on val, as CLIP-style linear probes do; C = 1 (scikit-learn's default) when val is empty. */
  lr: { cGrid: [1e-3, 1e-2, 1e-1, 1, 10, 100] as readonly number[], defaultC: 1, maxIter: 500, tol: 1e-4, refit: 'train' as const },
};

export const PROBE_NAMES = ['knn', 'lr', 'lr-ml'] as const;
export const RUNTIMES = ['auto', 'onnx', 'tfjs'] as const;

/** A probe job as the CLI and YAML configs give it; `parse({})` yields every default. */
export const ProbeJobSchema = z.object({
  backbones: z.array(z.string().min(1)).min(1).default(['mobilenet-v2']),
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
  seed: z.number().int().default(0),
  probes: z.array(z.enum(PROBE_NAMES)).min(1).default(['knn', 'lr']),
  /** kNN neighbours: one value, or a grid chosen on val. */
  knnK: z.array(z.number().int().min(1)).min(1).default([...PROBE_DEFAULTS.knn.k]),
  knnVote: z.enum(['weighted', 'majority']).default(PROBE_DEFAULTS.knn.vote),
  /** Logistic-regression C grid swept on val. */
  lrC: z.array(z.number().positive().finite()).min(1).default([...PROBE_DEFAULTS.lr.cGrid]),
  /** Final LR model fit on train (the sweep's model) or refit on train + val at the chosen C. */
  lrRefit: z.enum(['train', 'train+val']).default(PROBE_DEFAULTS.lr.refit),
  /** Feature layer overriding the card's tap (single-backbone runs). */
  layer: z.string().optional(),
  runtime: z.enum(RUNTIMES).default('auto'),
  batchSize: z.number().int().min(1).max(1024).default(16),
  threads: z.number().int().min(1).optional(),
  /** onnxruntime execution provider; cuda falls back to cpu, with a message, when the CUDA provider is not installed. */
  device: z.enum(['cpu', 'cuda']).default('cpu'),
  /** Card file for a backbone given as a path to an .onnx file. */
  card: z.string().optional(),
  resultsDir: z.string().default('results'),
  /** Read and write features in $REPROBE_HOME/features (a finished extraction is reused, a killed one resumes). */
  cache: z.boolean().default(true),
});

export type ProbeJob = z.infer<typeof ProbeJobSchema>;
export const PROBE_JOB_DEFAULTS: ProbeJob = ProbeJobSchema.parse({});
