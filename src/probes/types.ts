import { z } from 'zod';
import type { Presentation } from '../method/presentation.ts';
import type { Matrix } from '../util/matrix.ts';
import { pickOptions, type FlagSpec, type Flags } from '../util/options.ts';

/** Features and labels of the three split parts; labels are class ids < numClasses. */
export interface ProbeInput {
  train: Matrix;
  trainLabels: Int32Array;
  val: Matrix;
  valLabels: Int32Array;
  test: Matrix;
  testLabels: Int32Array;
  numClasses: number;
}

export interface ProbeOutput {
  /** Predicted class per test row. */
  testPred: Int32Array;
  /** [test rows, numClasses] class scores (probabilities for lr, vote shares for knn). */
  testScores: Float32Array | Float64Array;
  /** Accuracy on the validation split at the chosen hyper-parameters (NaN when val is empty). */
  valAccuracy: number;
  /** Hyper-parameters chosen on val, e.g. { k: 10 } or { C: 0.1 }. */
  chosen: Record<string, number | string>;
}

/**
 * A registered probe: a function of features (async: its matrix products run on onnxruntime). It owns its options:
 * `options` (zod, with the defaults) and `flags` (their command-line form); the job schema and `reprobe probe`'s flags
 * are built from them, so a new probe touches its own file and the registry only.
 */
export interface Probe {
  name: string;
  summary: string;
  options: z.ZodRawShape;
  flags: Record<string, FlagSpec>;
  /** How the report shows its records (probes/method.ts passes it on). */
  presentation: Presentation;
  /** The fields of its records' `chosen` (ProbeOutput.chosen), each described: part of its method's recordFields. */
  chosen: z.ZodRawShape;
  /** `options`: the job's values (other keys are ignored); they are checked against the probe's own schema. */
  run(input: ProbeInput, options: Record<string, unknown>): Promise<ProbeOutput>;
}

/** A probe from its typed parts: `run` gets its own options, checked and with defaults. */
export function defineProbe<S extends z.ZodRawShape>(p: {
  name: string;
  summary: string;
  options: S;
  flags: Flags<S>;
  presentation: Presentation;
  chosen: z.ZodRawShape;
  run(input: ProbeInput, options: z.infer<z.ZodObject<S>>): Promise<ProbeOutput>;
}): Probe {
  return { ...p, run: (input, values) => p.run(input, pickOptions(p.options, values)) };
}

/** `chosen.from`, of a probe with a grid: what it took when there were no validation images to choose on. */
export const CHOSEN_FROM = { from: z.string().optional().describe('what was taken when there were no validation images to choose on') };
