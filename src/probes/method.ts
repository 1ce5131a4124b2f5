import { classificationScores } from '../metrics/scores.ts';
import { topOf } from '../method/predictions.ts';
import type { Probe } from './types.ts';
import { validateProbeInput } from './validate.ts';
import { vstack } from '../util/matrix.ts';
import { pickOptions } from '../util/options.ts';
import type { Method, MethodResult } from '../method/contract.ts';
import { z } from 'zod';
import { bootstrapField, confusedPairsField, OUTPUT_FIELDS, OUTPUT_FLAGS, OUTPUT_OPTIONS } from '../method/output-options.ts';
import { CLASSIFICATION_FIELDS, VAL_ACCURACY_FIELD } from '../method/record-fields.ts';

/** What a probe's records hold beside the shared fields: the scores, and what it chose on val (as the probe declares). */
const probeFields = (probe: Probe) => ({
  ...CLASSIFICATION_FIELDS,
  ...VAL_ACCURACY_FIELD,
  chosen: z.object(probe.chosen).strict().describe('what the probe chose on the validation split and how it fit'),
  ...OUTPUT_FIELDS,
});

/**
 * A probe as a method: fit on train (choosing on val), predict every evaluated set at once, score each with the
 * dataset's metric (and, with `topPairs`, list its most confused class pairs).
 */
export function probeMethod(probe: Probe): Method {
  return {
    name: probe.name,
    task: 'probe',
    command: 'probe',
    needs: 'features',
    summary: probe.summary,
    options: { ...probe.options, ...OUTPUT_OPTIONS },
    flags: { ...probe.flags, ...OUTPUT_FLAGS },
    presentation: probe.presentation,
    recordFields: probeFields(probe),
    async run(cell, options) {
      const { dataset: ds, train, val, tests } = cell;
      const K = ds.classes.length;
      const test = { x: vstack(tests.map((t) => t.part.x)), y: Int32Array.from(tests.flatMap((t) => [...t.part.y])) };
      const input = { train: train.x, trainLabels: train.y, val: val.x, valLabels: val.y, test: test.x, testLabels: test.y, numClasses: K };
      validateProbeInput(input, ds.classes);
      const { topPairs, bootstrap } = pickOptions(OUTPUT_OPTIONS, options);
      const t0 = performance.now();
      const out = await probe.run(input, options);
      const fitSeconds = Math.round(performance.now() - t0) / 1000;
      let off = 0;
      return tests.map(({ name, part }): MethodResult => {
        const truth = part.y;
        const pred = out.testPred.subarray(off, off + truth.length);
        const top = topOf(out.testScores.subarray(off * K, (off + truth.length) * K), K);
        off += truth.length;
        const predictions = { ids: part.idx.map((i) => ds.samples[i].id), truth, pred, ...top };
        const groups = ds.groups && { ...ds.groups, of: Int32Array.from(part.idx, (i) => ds.groups!.of[i]) };
        const { metric, value, ...scores } = classificationScores(truth, pred, K, ds.metric, groups);
        const pairs = confusedPairsField(truth, pred, ds.classes, topPairs);
        return { eval_split: name, metric, value, fit_seconds: fitSeconds, fields: { ...scores, val_accuracy: out.valAccuracy, chosen: out.chosen, ...pairs, ...bootstrapField(truth, pred, K, metric, bootstrap, cell.seed) }, predictions };
      });
    },
  };
}
