import type { TopLevelSpec } from 'vega-lite';
import type { PredictionsDoc } from '../results/predictions.ts';
import type { CellRecord } from '../results/record.ts';
import { curveSpec, idOodSpec, shotsSpec, type EpochPoint } from './charts.ts';
import { clusterRanking } from './cluster-ranking.ts';
import { confusedPairsTable } from './confused-pairs.ts';
import { columnBase, isClassification, isClustering, shownAs, variantCounts, variantOf, type Variants } from './columns.ts';
import { drifts, driftTables } from './drift.ts';
import { stem, type ReportTable } from './report-table.ts';
import { significanceTables } from './significance.ts';
import { seedStat } from './stats.ts';
import { groupBy, studyTables } from './study.ts';

/** A chart: a Vega-Lite spec still to render, or an SVG a run left (a UMAP scatter). */
interface Figure {
  title: string;
  spec?: TopLevelSpec;
  svg?: string;
  /** The clustering record it shows (its cell id): the report may replace it with a hover scatter. */
  cell?: string;
  /** Ready HTML shown instead of the chart (a hover scatter). */
  html?: string;
}

/** A part of the report: one dataset's tables and charts, the clustering, the fine-tuning curves. */
export interface Section {
  id: string;
  title: string;
  tables: ReportTable[];
  figures: Figure[];
  /** What could not be shown, and why (a missing file). */
  notes: string[];
  /** Pages beside the report (galleries), relative to it. */
  links?: { title: string; href: string }[];
}

export interface Report {
  title: string;
  summary: string;
  sections: Section[];
}

/** A file a record names, as read: its content, or why it could not be. */
export type Loaded<T> = { value: T } | { error: string };

/** The files the records name, read beforehand (report/ does its arithmetic without I/O): curves by path, UMAP SVGs by plot path, predictions by the path a record names. */
export interface Assets {
  curves: Map<string, Loaded<EpochPoint[]>>;
  svgs: Map<string, Loaded<string>>;
  predictions: Map<string, Loaded<PredictionsDoc>>;
}

/** The method of a column without its shots: `lr`, `ft`, `ft[head]`. */
const methodOf = (r: CellRecord, variants: Variants) => columnBase(r, variants).replace(/_\d+$/, '');

/** One dataset's section: the study table, ID vs OOD on WILDS, metric vs shots per method and set, the ID vs OOD scatter. */
function datasetSection(dataset: string, protocol: string, rs: CellRecord[], assets: Assets): Section {
  const variants = variantCounts(rs);
  const metric = rs[0].metric;
  const figures: Figure[] = [];
  const notes: string[] = [];
  const single = new Map<string, number[]>();
  for (const [key, ms] of groupBy(rs, (r) => JSON.stringify([methodOf(r, variants), r.eval_split]))) {
    const [method, set] = JSON.parse(key) as [string, string];
    const points = groupBy(ms, (r) => JSON.stringify([r.backbone, r.shots])).map(([, cell]) => {
      const s = seedStat(cell);
      return { backbone: cell[0].backbone, shots: cell[0].shots, value: s.mean, std: s.std };
    });
    const shots = new Set(points.map((p) => p.shots));
    const what = `${method} on ${dataset}${set === 'test' ? '' : ` (${set})`}`;
    if (shots.size > 1) figures.push({ title: `${what}: ${metric} vs shots`, spec: shotsSpec(points, metric, `${what}: ${metric} vs shots`) });
    else single.set(method, [...shots]);
  }
  // A model whose predictions collapsed to one class scores something, but not a representation: say so beside the table.
  for (const r of rs.filter((x) => x.collapsed === true)) notes.push(`${r.backbone} ${r.method} (${r.shots} shots, seed ${r.seed}, ${r.eval_split}): every prediction is one class; its ${r.metric} ${r.value.toFixed(4)} is a degenerate model's.`);
  if (single.size) notes.push(`${[...single.keys()].join(', ')} on ${dataset}: one shot level (${[...new Set([...single.values()].flat())].join(', ')}), no ${metric}-vs-shots chart.`);
  const ds = drifts(rs);
  if (ds.length) {
    const title = `${dataset}: OOD vs ID ${metric}`;
    figures.push({ title, spec: idOodSpec(ds.map((d) => ({ backbone: d.backbone, method: d.column, id: d.id.mean, ood: d.ood.mean })), metric, title) });
  }
  const significance = significanceTables(dataset, protocol, rs, assets.predictions);
  notes.push(...significance.notes);
  return { id: stem('dataset', dataset, protocol), title: `${dataset} (protocol ${protocol})`, tables: [...studyTables(rs), ...driftTables(rs), ...significance.tables], figures, notes };
}

/** The clustering section: the ranking table and each UMAP scatter a run left (its .svg beside the record's `plot`). */
function clusterSection(rs: CellRecord[], assets: Assets): Section {
  const figures: Figure[] = [];
  const notes: string[] = [];
  const withPlots = rs.filter((r) => typeof r.plot === 'string').sort((a, b) => (a.dataset < b.dataset ? -1 : a.dataset > b.dataset ? 1 : 0) || b.value - a.value);
  for (const r of withPlots) {
    const title = `${r.backbone} on ${r.dataset} (${r.eval_split}, seed ${r.seed}): UMAP, ARI ${r.value.toFixed(3)}`;
    const svg = assets.svgs.get(String(r.plot));
    if (svg && 'value' in svg) figures.push({ title, svg: svg.value, cell: r.cell_id });
    else notes.push(`${title}: not shown, ${svg?.error ?? 'its SVG was not read'}.`);
  }
  return { id: 'clustering', title: 'Clustering', tables: [clusterRanking(rs)], figures, notes };
}

/** The training curves section (methods whose presentation declares curves): per run (one curve serves its ID and OOD records) val loss and accuracy per epoch. */
function curveSection(rs: CellRecord[], assets: Assets): Section {
  const figures: Figure[] = [];
  const notes: string[] = [];
  for (const [path, [r]] of groupBy(rs.filter((x) => typeof x.curve === 'string'), (x) => String(x.curve))) {
    const variant = shownAs(r).variant;
    const title = `${r.backbone} ${r.method} on ${r.dataset}${variant ? `, ${variant} ${variantOf(r)}` : ''}, ${r.shots} shots, seed ${r.seed}`;
    const curve = assets.curves.get(path);
    if (curve && 'value' in curve && curve.value.length) figures.push({ title, spec: curveSpec(curve.value, typeof r.best_epoch === 'number' ? r.best_epoch : null, title) });
    else notes.push(`${title}: no curve, ${curve && 'error' in curve ? curve.error : `${path} holds no epochs`}.`);
  }
  return { id: 'finetuning', title: 'Training curves', tables: [], figures, notes };
}

/** The whole report from the store's records (newest per cell) and the files they name. */
export function buildReport(records: readonly CellRecord[], assets: Assets, source: string): Report {
  const sections = groupBy(records.filter(isClassification), (r) => JSON.stringify([r.dataset, r.protocol])).map(([key, rs]) => {
    const [dataset, protocol] = JSON.parse(key) as [string, string];
    return datasetSection(dataset, protocol, rs, assets);
  });
  const clusters = records.filter(isClustering);
  if (clusters.length) sections.push(clusterSection(clusters, assets));
  const trained = records.filter((r) => shownAs(r).curves);
  if (trained.length) sections.push(curveSection(trained, assets));
  const pairs = confusedPairsTable(records);
  if (pairs) sections.push({ id: 'confused_pairs', title: 'Confused class pairs', tables: [pairs], figures: [], notes: [] });
  const newest = records.reduce((a, r) => (r.time > a ? r.time : a), '');
  return { title: 'reprobe report', summary: `${records.length} results from ${source} (newest ${newest}).`, sections };
}
