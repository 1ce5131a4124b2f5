import { z } from 'zod';
import { kmeansBest } from './kmeans.ts';
import { UMAP_INITS, UMAP_METRICS, umapLayout } from './umap.ts';
import { adjustedRandIndex, normalizedMutualInfo } from '../metrics/clustering.ts';
import { join } from 'node:path';
import { embeddingCsv, scatterSpec } from './scatter.ts';
import { fsError, ProbeError } from '../errors.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { renderVegaLite } from '../util/plot.ts';
import type { Matrix } from '../util/matrix.ts';
import type { Flags } from '../util/options.ts';
import { round3 } from '../util/round.ts';
import type { FeatureCell, FeaturesMethod, MethodResult } from '../method/contract.ts';
import { measured } from '../method/record-fields.ts';

/** What a clustering record holds beside the shared fields (scored() writes them). */
const KMEANS_FIELDS = {
  ari: measured('adjusted Rand index of the clusters against the labels (also the headline `value`)'),
  nmi: measured("normalized mutual information of the clusters and the labels (scikit-learn's arithmetic mean)"),
  n_points: z.number().int().nonnegative().describe('images clustered'),
  k: z.number().int().min(1).describe("k of k-means: `--clusters`, else the number of classes (clamped to the points)"),
  inertia: z.number().describe("the kept restart's sum of squared distances to the centres"),
  note: z.string().optional().describe('what was clamped or fell back (k, neighbours, the spectral start), `; `-separated'),
};
const UMAP_FIELDS = {
  ...KMEANS_FIELDS,
  umap_neighbors: z.number().int().min(1).describe("UMAP's nearest neighbours as used (clamped to the points less one)"),
  plot: z.string().describe('`<run folder>/<set>-umap.png`: the embedding coloured by class (an .svg beside it)'),
  coordinates: z.string().describe('`<run folder>/<set>-umap.csv`: the embedded points and their classes'),
};

/** What both clustering methods take: k-means' restarts and k (one schema and flag, shared). */
const CLUSTER_SETS = ['auto', 'all', 'test', 'id_test', 'ood_test'] as const;
const KMEANS_OPTIONS = {
  restarts: z.number().int().min(1).max(1000).default(10),
  clusters: z.number().int().min(0).default(0),
  clusterSet: z.enum(CLUSTER_SETS).default('auto'),
};
const KMEANS_FLAGS: Flags<typeof KMEANS_OPTIONS> = {
  clusterSet: {
    flag: 'cluster-set',
    cli: { choices: CLUSTER_SETS },
    describe: "what is clustered: auto = the whole pool of a general dataset, each official test set of a WILDS one; all = every image of the split; or one test set",
  },
  restarts: { flag: 'restarts', cli: 'number', describe: 'k-means++ restarts, each from its own seed; the lowest inertia is kept' },
  clusters: { flag: 'clusters', cli: 'number', describe: 'k of k-means; 0 = the number of classes' },
};
const UMAP_OPTIONS = {
  ...KMEANS_OPTIONS,
  neighbors: z.number().int().min(2).max(1000).default(15),
  minDist: z.number().min(0).max(1).default(0.1),
  dims: z.number().int().min(1).max(100).default(2),
  metric: z.enum(UMAP_METRICS).default('euclidean'),
  init: z.enum(UMAP_INITS).default('spectral'),
};
const UMAP_FLAGS: Flags<typeof UMAP_OPTIONS> = {
  ...KMEANS_FLAGS,
  neighbors: { flag: 'neighbors', cli: 'number', describe: "UMAP's nearest neighbours (clamped to the points less one, with a note in the record)" },
  minDist: { flag: 'min-dist', cli: 'number', describe: "UMAP's minimum distance between embedded points" },
  dims: { flag: 'dims', cli: 'number', describe: 'UMAP output dimensions' },
  metric: { flag: 'metric', cli: { choices: UMAP_METRICS }, describe: "UMAP's distance between features" },
  init: { flag: 'umap-init', cli: { choices: UMAP_INITS }, describe: "UMAP's start: umap-learn's spectral one (random when the neighbour graph falls apart, with a note) or umap-js's random one" },
};

/**
 * The sets a clustering scores: the whole pool (train, val and test together) for a general dataset, each official
 * test set (ID, OOD) for WILDS, as the study clusters.
 */
function sets(cell: FeatureCell, which: (typeof CLUSTER_SETS)[number]): { name: string; x: Matrix; y: Int32Array; ids: string[] }[] {
  const all = { name: 'all', parts: [cell.train, cell.val, ...cell.tests.map((t) => t.part)] };
  const tests = cell.tests.map((t) => ({ name: t.name, parts: [t.part] }));
  let parts = which === 'all' || (which === 'auto' && cell.dataset.official === undefined) ? [all] : which === 'auto' ? tests : tests.filter((t) => t.name === which);
  if (parts.length === 0) throw new ProbeError(`--cluster-set ${which}: ${cell.dataset.name} has no such test set; it has ${cell.tests.map((t) => t.name).join(', ')}.`);
  parts = parts.filter((p) => p.parts.some((q) => q.x.rows > 0));
  return parts.map(({ name, parts: ps }) => {
    const cols = ps[0].x.cols;
    const rows = ps.reduce((a, p) => a + p.x.rows, 0);
    const data = new Float32Array(rows * cols);
    let off = 0;
    for (const p of ps) {
      data.set(p.x.data.subarray(0, p.x.rows * cols), off);
      off += p.x.rows * cols;
    }
    return { name, x: { rows, cols, data } as Matrix, y: Int32Array.from(ps.flatMap((p) => [...p.y])), ids: ps.flatMap((p) => p.idx.map((i) => cell.dataset.samples[i].id)) };
  });
}


function check(name: string, x: Matrix, y: Int32Array, k: number): void {
  if (x.rows < 2) throw new ProbeError(`Clustering "${name}" needs at least 2 images; it has ${x.rows}.`);
  if (!x.data.every(Number.isFinite)) throw new ProbeError(`The features of "${name}" hold NaN or Inf; nothing to cluster.`);
  if (k > x.rows) throw new ProbeError(`--clusters ${k} is more than the ${x.rows} images of "${name}".`);
  if (new Set(y).size < 2 && k === 0) throw new ProbeError(`"${name}" holds one class; pass --clusters to cluster it anyway.`);
}

/** The sets to cluster, each checked, with its k (--clusters, or the number of classes). */
function checkedSets(cell: FeatureCell, o: { clusterSet: (typeof CLUSTER_SETS)[number]; clusters: number }) {
  return sets(cell, o.clusterSet).map((s) => {
    check(s.name, s.x, s.y, o.clusters);
    const k = o.clusters || Math.min(cell.dataset.classes.length, s.x.rows);
    return { ...s, k, notes: k < (o.clusters || cell.dataset.classes.length) ? [`k clamped to ${k} (the points; the dataset has ${cell.dataset.classes.length} classes)`] : [] };
  });
}

/** A set's result, with its assignments (kept beside the record). */
function scored(name: string, ids: string[], y: Int32Array, labels: Int32Array, t0: number, notes: string[], fields: Record<string, unknown>): MethodResult {
  const ari = adjustedRandIndex(y, labels);
  return { eval_split: name, metric: 'ari', value: ari, fit_seconds: round3((performance.now() - t0) / 1000), fields: { ari, nmi: normalizedMutualInfo(y, labels), n_points: y.length, ...fields, ...(notes.length ? { note: notes.join('; ') } : {}) }, predictions: { ids, truth: y, cluster: labels } };
}

/** The study's clustering: UMAP of the features, then k-means, scored by ARI (and NMI) against the labels. */
export const clusterMethod: FeaturesMethod = {
  name: 'cluster',
  task: 'cluster',
  command: 'cluster',
  needs: 'features',
  summary: 'UMAP, then k-means, scored by adjusted Rand index against the labels',
  presentation: { column: 'cluster', order: 10, family: 'clustering', shots: true },
  recordFields: UMAP_FIELDS,
  options: UMAP_OPTIONS,
  flags: UMAP_FLAGS,
  async run(cell, options) {
    const o = options as z.infer<z.ZodObject<typeof UMAP_OPTIONS>>;
    const out: MethodResult[] = [];
    for (const { name, x, y, ids, k, notes } of checkedSets(cell, o)) {
      const t0 = performance.now();
      const neighbors = Math.min(o.neighbors, x.rows - 1);
      if (neighbors < o.neighbors) notes.push(`neighbors clamped to ${neighbors} (the points less one)`);
      const { points: embedded, note } = await umapLayout(x, { neighbors, minDist: o.minDist, dims: o.dims, metric: o.metric, seed: cell.seed, init: o.init });
      if (note) notes.push(note);
      const fit = await kmeansBest(embedded, k, o.restarts, cell.seed);
      const result = scored(name, ids, y, fit.labels, t0, notes, { k, inertia: fit.inertia, umap_neighbors: neighbors });
      out.push({ ...result, fields: { ...result.fields, ...(await writePlot(cell, name, embedded, y, `UMAP${o.dims > 2 ? ` (first 2 of ${o.dims} dims)` : ''}, ARI ${result.value.toFixed(3)}`)) } });
    }
    return out;
  },
};

/** The embedding as a scatter plot coloured by class (PNG and SVG, one Vega-Lite spec) and as CSV, in the cell's run folder. */
async function writePlot(cell: FeatureCell, set: string, points: number[][], y: Int32Array, what: string): Promise<{ plot: string; coordinates: string }> {
  const stem = join(cell.runDir, `${set}-umap`);
  try {
    const { svg, png } = await renderVegaLite(scatterSpec(points, y, cell.dataset.classes, `${cell.backbone} on ${cell.dataset.name} (${set}): ${what}`));
    await writeFileAtomic(`${stem}.svg`, svg);
    await writeFileAtomic(`${stem}.png`, png);
    await writeFileAtomic(`${stem}.csv`, embeddingCsv(points, y, cell.dataset.classes));
  } catch (err) {
    throw fsError(err, `Cannot write the plots in ${cell.runDir}`, 'Pass --results-dir with a writable folder.');
  }
  return { plot: `${stem}.png`, coordinates: `${stem}.csv` };
}

/** The baseline row: k-means on the features themselves, no UMAP. */
export const kmeansMethod: FeaturesMethod = {
  name: 'kmeans',
  task: 'cluster',
  command: 'cluster',
  needs: 'features',
  summary: 'k-means on the features themselves (the baseline to UMAP + k-means)',
  presentation: { column: 'kmeans', order: 20, family: 'clustering', shots: true },
  recordFields: KMEANS_FIELDS,
  options: KMEANS_OPTIONS,
  flags: KMEANS_FLAGS,
  async run(cell, options) {
    const o = options as z.infer<z.ZodObject<typeof KMEANS_OPTIONS>>;
    const out: MethodResult[] = [];
    for (const { name, x, y, ids, k, notes } of checkedSets(cell, o)) {
      const t0 = performance.now();
      const fit = await kmeansBest(x, k, o.restarts, cell.seed);
      out.push(scored(name, ids, y, fit.labels, t0, notes, { k, inertia: fit.inertia }));
    }
    return out;
  },
};
