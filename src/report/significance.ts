import { HEADLINE_METRICS, type HeadlineMetric } from '../metrics/scores.ts';
import { resampleIndices } from '../metrics/paired.ts';
import type { PredictionsDoc } from '../results/predictions.ts';
import type { CellRecord } from '../results/record.ts';
import { seeded } from '../util/rng.ts';
import { columnOfRecord, orderedColumns, variantCounts } from './columns.ts';
import { rankSignificance } from './rank-significance.ts';
import { stem, type Cell, type ReportTable } from './report-table.ts';
import { perSeed } from './stats.ts';
import { groupBy } from './study.ts';

/** The bootstrap behind the rank intervals (fixed, so a report is the same each time) and the level of the adjacent tests. */
const SIGNIFICANCE = { resamples: 1000, seed: 0, alpha: 0.05 } as const;

/** One table's rankings with their tests, and what could not be tested (one line per table column). */
interface Significance {
  tables: ReportTable[];
  notes: string[];
}

/** A backbone's predictions on the column's images, in `ids` order; why not, when they are not those images. */
function aligned(doc: PredictionsDoc & { kind: 'predictions' }, ids: readonly string[], truth: Int32Array, classes: readonly string[]): { pred: Int32Array } | { why: string } {
  if (doc.ids.length !== ids.length) return { why: `${doc.ids.length} test images, not ${ids.length}` };
  const at = new Map(doc.ids.map((id, i) => [id, i]));
  const cls = new Map(classes.map((c, i) => [c, i]));
  const pred = new Int32Array(ids.length);
  for (let j = 0; j < ids.length; j++) {
    const i = at.get(ids[j]);
    if (i === undefined) return { why: `not the same test images (no "${ids[j]}")` };
    if (cls.get(doc.classes[doc.truth[i]]) !== truth[j]) return { why: `another true label for "${ids[j]}"` };
    const p = cls.get(doc.classes[doc.pred[i]]);
    if (p === undefined) return { why: `a class the others do not have ("${doc.classes[doc.pred[i]]}")` };
    pred[j] = p;
  }
  return { pred };
}

/**
 * Per column of one dataset's study table (a method, shots and set): the backbones ranked on the same test images from
 * their stored predictions, with McNemar's exact test between adjacent ranks (Holm over the column's adjacent pairs) and
 * each row's 95 % rank interval from a paired bootstrap. Over seeds, the lowest seed every backbone of the column ran;
 * a backbone without predictions, or on other images, is left out and named in a note, never guessed.
 */
export function significanceTables(dataset: string, protocol: string, records: readonly CellRecord[], predictions: ReadonlyMap<string, { value: PredictionsDoc } | { error: string }>): Significance {
  const variants = variantCounts(records);
  const order = orderedColumns(records, variants);
  const tables: ReportTable[] = [];
  const notes: string[] = [];
  const columns = groupBy(records, (r) => columnOfRecord(r, variants)).sort((a, b) => order.indexOf(a[0]) - order.indexOf(b[0]));
  for (const [column, rs] of columns) {
    const byBackbone = groupBy(rs, (r) => r.backbone).map(([, cell]) => perSeed(cell));
    if (byBackbone.length < 2) continue;
    const what = `${dataset} ${column}`;
    const seeds = byBackbone.map((cell) => new Set(cell.map((r) => r.seed)));
    const common = [...seeds[0]].filter((s) => seeds.every((x) => x.has(s))).sort((a, b) => a - b);
    if (!common.length) {
      notes.push(`${what}: no significance, the backbones ran no seed in common.`);
      continue;
    }
    const seed = common[0];
    const missing: string[] = [];
    const docs: { r: CellRecord; doc: PredictionsDoc & { kind: 'predictions' } }[] = [];
    for (const r of byBackbone.map((cell) => cell.find((x) => x.seed === seed)!)) {
      const loaded = typeof r.predictions === 'string' ? predictions.get(r.predictions) : undefined;
      if (!loaded) missing.push(`${r.backbone} (its record keeps no predictions)`);
      else if ('error' in loaded) missing.push(`${r.backbone} (${loaded.error})`);
      else if (loaded.value.kind !== 'predictions') missing.push(`${r.backbone} (its file holds cluster assignments)`);
      else docs.push({ r, doc: loaded.value as PredictionsDoc & { kind: 'predictions' } });
    }
    const models: { name: string; pred: Int32Array }[] = [];
    let truth = new Int32Array(0);
    let classes: string[] = [];
    let ids: string[] = [];
    if (docs.length) {
      const first = docs[0].doc;
      ({ ids, classes } = first);
      truth = Int32Array.from(first.truth);
      for (const { r, doc } of docs) {
        const a = aligned(doc, ids, truth, classes);
        if ('why' in a) missing.push(`${r.backbone} (${a.why} than ${docs[0].r.backbone})`);
        else models.push({ name: r.backbone, pred: a.pred });
      }
    }
    if (missing.length) notes.push(`${what} (seed ${seed}): ${models.length >= 2 ? 'ranked without' : 'no significance ranking; no predictions to compare for'} ${missing.join(', ')}.`);
    if (models.length < 2) continue;
    const metric = rs[0].metric as HeadlineMetric;
    const score = HEADLINE_METRICS[metric] ?? HEADLINE_METRICS.accuracy;
    const indices = resampleIndices(ids.length, SIGNIFICANCE.resamples, seeded(SIGNIFICANCE.seed));
    const rows = rankSignificance(truth, models, indices, (t, p) => score(t, p, classes.length), SIGNIFICANCE.alpha);
    tables.push({
      name: stem('significance', dataset, protocol, column),
      title: `${what}: ranks on the same ${ids.length} test images (seed ${seed}), 95% rank interval, McNemar vs the next rank (Holm over ${rows.length - 1} pairs)`,
      columns: [{ name: 'rank' }, { name: 'model' }, { name: metric, best: 'max' }, { name: 'rank 95%' }, { name: 'p vs next (Holm)' }, { name: 'vs next' }],
      rows: rows.map((x): Cell[] => [
        x.rank,
        x.name,
        { mean: x.score, std: null, n: 1 },
        x.rankLow === x.rankHigh ? String(x.rankLow) : `${x.rankLow}–${x.rankHigh}`,
        x.pNext === null ? null : Number(x.pNext.toPrecision(4)),
        x.pNext === null ? '' : x.significantNext ? '> (significant)' : '≈ (not significant)',
      ]),
    });
  }
  return { tables, notes };
}
