import { z } from 'zod';
import { tfjsBackend } from '../runtime/tfjs.ts';
import { ProbeError } from '../errors.ts';
import { cosineHeadModel } from '../train/head.ts';
import { predictLogits, trainModel } from '../train/loop.ts';
import { perClassRecall, topKAccuracy } from '../metrics/classification.ts';
import { classificationScores } from '../metrics/scores.ts';
import { topOf } from '../method/predictions.ts';
import { classWeights, zeroShotLogits } from './classifier.ts';
import { classNames, loadPrompts } from './prompts.ts';
import { argmaxRows, type Matrix } from '../util/matrix.ts';
import type { Flags } from '../util/options.ts';
import { round3 } from '../util/round.ts';
import type { FeatureCell, FeaturesMethod, MethodResult } from '../method/contract.ts';
import { bootstrapField, confusedPairsField, OUTPUT_FIELDS, OUTPUT_FLAGS, OUTPUT_OPTIONS } from '../method/output-options.ts';
import { CLASSIFICATION_FIELDS, measured, TRAINING_FIELDS } from '../method/record-fields.ts';

/** What a zero-shot record holds beside the shared fields: scoresOf()'s scores and textClassifier()'s provenance. */
const ZEROSHOT_FIELDS = {
  ...CLASSIFICATION_FIELDS,
  top1: measured('top-1 accuracy (CLIP_benchmark’s acc1; the same as `accuracy`)'),
  top5: measured('top-5 accuracy (top-K with fewer than 5 classes)'),
  acc1_adjusted: measured('top-1 less chance (1 / classes)'),
  mean_per_class_recall: measured('recall averaged over the classes (CLIP_benchmark’s name for `balanced_accuracy`)'),
  per_class: z
    .array(z.object({ class: z.string().describe('the class'), recall: measured('its recall'), n: z.number().int().nonnegative().describe('its images in the set') }).strict())
    .describe('recall of each class'),
  ...OUTPUT_FIELDS,
  templates: z.string().describe('the prompt set used (a named set, or the file given)'),
  prompts_hash: z.string().describe('hash of every class’s prompts: two records with one hash used the same text'),
  n_prompts: z.number().int().nonnegative().describe('prompts embedded, over all classes'),
  logit_scale: z.number().describe("the text tower's logit scale (CLIP's learned temperature)"),
  tokenizer: z.string().describe('the tokenizer that encoded the prompts'),
};
const PRO_FIELDS = {
  ...ZEROSHOT_FIELDS,
  step0_accuracy: measured("the untrained head's (zero-shot) score in the record's metric, to compare with `value`"),
  ...TRAINING_FIELDS,
};

/** What builds the text classifier: shared by zero-shot and PRO (one schema and flag object each). */
const PROMPT_OPTIONS = {
  ...OUTPUT_OPTIONS,
  templates: z.string().min(1).default('auto'),
  classnames: z.string().min(1).optional(),
  tokenizer: z.string().min(1).optional(),
};
const PROMPT_FLAGS: Flags<typeof PROMPT_OPTIONS> = {
  ...OUTPUT_FLAGS,
  templates: {
    flag: 'templates',
    cli: 'text',
    describe: "prompt set: auto (the dataset's: satellite, texture, flowers, aircraft, digits, else default), default, imagenet (CLIP's 80), a .txt of templates with {c}, or a CuPL-style .json of per-class prompts",
  },
  classnames: { flag: 'classnames', cli: 'text', describe: 'file of `<class> = <words>` lines [default: configs/classnames/<dataset>.txt, else the class names]' },
  tokenizer: { flag: 'tokenizer', cli: 'text', describe: "folder with the tokenizer's vocab.json and merges.txt [default: the card's, from the hub cache]" },
};

/** The class weights of the cell's dataset from its prompts, and what made them (for the record). */
async function textClassifier(cell: FeatureCell, o: z.infer<z.ZodObject<typeof PROMPT_OPTIONS>>) {
  if (!cell.text) throw new ProbeError(`${cell.backbone} has no text tower; zero-shot and PRO need one (clip-vit-b32).`);
  const enc = await cell.text({ tokenizer: o.tokenizer });
  const ds = cell.dataset;
  const names = await classNames(ds.name, ds.classes, o.classnames);
  const prompts = await loadPrompts(o.templates, ds.name, ds.classes, names);
  const weights = classWeights(await enc.embed(prompts.perClass.flat()), prompts.perClass.map((p) => p.length));
  if (weights.cols !== cell.train.x.cols && weights.cols !== (cell.tests[0]?.part.x.cols ?? weights.cols)) {
    throw new ProbeError(`${cell.backbone}: text embeddings have ${weights.cols} values, image features ${cell.tests[0].part.x.cols}; zero-shot needs the projected image embedding (the card's image_embeds).`);
  }
  return {
    weights,
    scale: enc.logitScale,
    fields: { templates: prompts.source, prompts_hash: prompts.hash, n_prompts: prompts.perClass.reduce((a, p) => a + p.length, 0), logit_scale: enc.logitScale, tokenizer: enc.tokenizer },
  };
}

/** Top-1 (the headline), top-5, accuracy above chance, mean per-class recall and per-class recall of a score matrix. */
function scoresOf(cell: FeatureCell, y: Int32Array, logits: Float32Array, idx: readonly number[], out: { topPairs?: number; bootstrap?: number }) {
  const ds = cell.dataset;
  const K = ds.classes.length;
  const pred = argmaxRows(logits, K);
  const groups = ds.groups && { ...ds.groups, of: Int32Array.from(idx, (i) => ds.groups!.of[i]) };
  const { metric, value, ...scores } = classificationScores(y, pred, K, ds.metric, groups);
  const top1 = scores.accuracy;
  const recall = perClassRecall(y, pred, K);
  return {
    metric,
    value,
    predictions: { ids: idx.map((i) => ds.samples[i].id), truth: y, pred, ...topOf(logits, K) },
    fields: {
      ...scores,
      top1,
      top5: topKAccuracy(y, logits, K, Math.min(5, K)),
      acc1_adjusted: top1 - 1 / K,
      // Mean per-class recall is balanced accuracy, already among the scores.
      mean_per_class_recall: scores.balanced_accuracy,
      per_class: ds.classes.map((c, i) => ({ class: c, recall: recall[i], n: y.filter((t) => t === i).length })),
      ...confusedPairsField(y, pred, ds.classes, out.topPairs),
      ...bootstrapField(y, pred, K, metric, out.bootstrap, cell.seed),
    },
  };
}

/** CLIP zero-shot: image embeddings against the class weights built from prompts (CLIP_benchmark's protocol). */
export const zeroshotMethod: FeaturesMethod = {
  name: 'zeroshot',
  task: 'zeroshot',
  command: 'zeroshot',
  needs: 'features',
  summary: "CLIP zero-shot: image embeddings against prompt ensembles of the class names (needs a text tower)",
  // Trains on nothing: one `zs` column whatever split it was scored on; the k-shot curve's first row.
  presentation: { column: 'zs', order: 40, family: 'classification', shots: false, kshot: { label: 'zero-shot', order: 0 } },
  recordFields: ZEROSHOT_FIELDS,
  options: PROMPT_OPTIONS,
  flags: PROMPT_FLAGS,
  async run(cell, options) {
    const o = options as z.infer<z.ZodObject<typeof PROMPT_OPTIONS>>;
    const t0 = performance.now();
    const clf = await textClassifier(cell, o);
    return Promise.all(
      cell.tests.map(async ({ name, part }): Promise<MethodResult> => {
        const s = scoresOf(cell, part.y, await zeroShotLogits(part.x, clf.weights, clf.scale), part.idx, o);
        return { eval_split: name, metric: s.metric, value: s.value, fit_seconds: round3((performance.now() - t0) / 1000), fields: { ...s.fields, ...clf.fields }, predictions: s.predictions };
      }),
    );
  },
};

const PRO_OPTIONS = {
  ...PROMPT_OPTIONS,
  proLr: z.number().positive().max(10).default(1e-3),
  proEpochs: z.number().int().min(1).default(300),
  proPatience: z.number().int().min(1).default(30),
};
const PRO_FLAGS: Flags<typeof PRO_OPTIONS> = {
  ...PROMPT_FLAGS,
  proLr: { flag: 'pro-lr', cli: 'number', describe: "PRO head's Adam learning rate" },
  proEpochs: { flag: 'pro-epochs', cli: 'number', describe: "PRO head's most epochs (early stopping on val loss, best weights restored)" },
  proPatience: { flag: 'pro-patience', cli: 'number', describe: "PRO head's early-stopping patience, in epochs" },
};

const rowsOf = (m: Matrix) => m.data.subarray(0, m.rows * m.cols);

/**
 * PRO (shared/study/002): a cosine head on the frozen image embeddings, its class vectors started from the class text
 * embeddings and its temperature from CLIP's logit scale, so step 0 is zero-shot; then trained on the k shots with
 * early stopping on val. Each record keeps its step-0 (zero-shot) accuracy beside the trained one.
 */
export const proMethod: FeaturesMethod = {
  name: 'pro',
  task: 'zeroshot',
  command: 'zeroshot',
  needs: 'features',
  summary: 'PRO head: cosine classifier started from the class text embeddings (zero-shot at step 0), then trained on the shots',
  // Its 0 on the k-shot curve is its untrained start: zero-shot's records where they are, else its own step-0 score.
  presentation: { column: 'pro', order: 50, family: 'classification', shots: true, kshot: { label: 'PRO', order: 2, start: 'step0_accuracy' } },
  recordFields: PRO_FIELDS,
  options: PRO_OPTIONS,
  flags: PRO_FLAGS,
  async run(cell, options) {
    const o = options as z.infer<z.ZodObject<typeof PRO_OPTIONS>>;
    const clf = await textClassifier(cell, o);
    const K = cell.dataset.classes.length;
    const backend = await tfjsBackend('auto');
    const model = cosineHeadModel(clf.weights.data, K, clf.scale);
    const t0 = performance.now();
    try {
      const step0 = await Promise.all(cell.tests.map(async ({ part }) => argmaxRows(await zeroShotLogits(part.x, clf.weights, clf.scale), K)));
      const trained = cell.train.y.length > 0;
      const out = trained
        ? await trainModel(
            model,
            { x: rowsOf(cell.train.x), y: cell.train.y },
            { x: rowsOf(cell.val.x), y: cell.val.y },
            { optimizer: { name: 'adam', lr: o.proLr, weightDecay: 0 }, batchSize: 16, patience: o.proPatience, maxEpochs: o.proEpochs, numClasses: K, seed: cell.seed },
          )
        : undefined;
      return await Promise.all(
        cell.tests.map(async ({ name, part }, t): Promise<MethodResult> => {
          const logits = await predictLogits(model, rowsOf(part.x), 256);
          const s = scoresOf(cell, part.y, logits, part.idx, o);
          // Step 0 in the record's own metric (macro-F1 on iWildCam), so it compares with `value`.
          const zs = classificationScores(part.y, step0[t], K, cell.dataset.metric).value;
          return {
            eval_split: name,
            metric: s.metric,
            value: s.value,
            fit_seconds: round3((performance.now() - t0) / 1000),
            fields: { ...s.fields, ...clf.fields, step0_accuracy: zs, epochs_run: out?.epochs ?? 0, best_epoch: out?.bestEpoch ?? 0, tf_backend: backend },
            predictions: s.predictions,
          };
        }),
      );
    } finally {
      model.dispose();
    }
  },
};
