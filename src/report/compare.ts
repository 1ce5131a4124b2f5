import { DataError } from '../errors.ts';
import { accuracy, f1, groupAccuracies, worstGroupAccuracy } from '../metrics/classification.ts';
import { discordant, mcnemarExact, pairedBootstrap, resampleIndices, type PairedMetric, type PairedPredictions } from '../metrics/paired.ts';
import { seeded } from '../util/rng.ts';

/** One image's prediction as a file holds it: `id,true,pred` (and `group` for worst-group accuracy). */
export interface PredictionRow {
  id: string;
  true: string;
  pred: string;
  group?: string;
}

/** Two files' predictions aligned by image id, labels as class indices into `classes`, groups into `groups`. */
export interface Aligned {
  paired: PairedPredictions;
  classes: string[];
  groups: string[] | null;
}

const sortLabels = (xs: Iterable<string>) => [...new Set(xs)].sort((a, b) => (Number.isFinite(Number(a)) && Number.isFinite(Number(b)) ? Number(a) - Number(b) : a < b ? -1 : a > b ? 1 : 0));

/** A's and B's rows → aligned predictions; refuses ids that only one side has, a repeated id, or true labels that disagree. */
export function alignPredictions(a: readonly PredictionRow[], b: readonly PredictionRow[], names: [string, string]): Aligned {
  const byId = (rows: readonly PredictionRow[], name: string) => {
    const m = new Map<string, PredictionRow>();
    for (const r of rows) {
      if (m.has(r.id)) throw new DataError(`${name}: image id "${r.id}" appears twice; each image once.`);
      m.set(r.id, r);
    }
    return m;
  };
  const [ma, mb] = [byId(a, names[0]), byId(b, names[1])];
  const onlyA = [...ma.keys()].filter((id) => !mb.has(id));
  const onlyB = [...mb.keys()].filter((id) => !ma.has(id));
  if (onlyA.length || onlyB.length)
    throw new DataError(`${names[0]} and ${names[1]} are not the same test images: ${onlyA.length} ids only in the first (e.g. "${onlyA[0] ?? ''}"), ${onlyB.length} only in the second (e.g. "${onlyB[0] ?? ''}"). Compare predictions on one split.`);
  const ids = [...ma.keys()];
  const bad = ids.find((id) => ma.get(id)!.true !== mb.get(id)!.true);
  if (bad !== undefined) throw new DataError(`Image "${bad}": true label "${ma.get(bad)!.true}" in ${names[0]} but "${mb.get(bad)!.true}" in ${names[1]}.`);
  const classes = sortLabels(ids.flatMap((id) => [ma.get(id)!.true, ma.get(id)!.pred, mb.get(id)!.pred]));
  const cls = new Map(classes.map((c, i) => [c, i]));
  const hasGroups = ids.every((id) => ma.get(id)!.group !== undefined && ma.get(id)!.group !== '');
  const groups = hasGroups ? sortLabels(ids.map((id) => ma.get(id)!.group!)) : null;
  const grp = new Map((groups ?? []).map((g, i) => [g, i]));
  const col = (f: (id: string) => string, m: Map<string, number>) => Int32Array.from(ids, (id) => m.get(f(id))!);
  const paired: PairedPredictions = { truth: col((id) => ma.get(id)!.true, cls), a: col((id) => ma.get(id)!.pred, cls), b: col((id) => mb.get(id)!.pred, cls) };
  if (groups) paired.groups = col((id) => ma.get(id)!.group!, grp);
  return { paired, classes, groups };
}

/** The metrics compared: accuracy, macro-F1 (classes seen, as scikit-learn), and worst-group accuracy when groups are known. */
function metrics(al: Aligned): [string, PairedMetric][] {
  const k = al.classes.length;
  const out: [string, PairedMetric][] = [
    ['accuracy', (t, p) => accuracy(t, p)],
    ['macro_f1', (t, p) => f1(t, p, k)],
  ];
  const g = al.groups;
  if (g) out.push(['worst_group_accuracy', (t, p, gr) => worstGroupAccuracy(groupAccuracies(t, p, gr!, g.length), g)]);
  return out;
}

export interface PairComparison {
  n: number;
  /** Images A gets right and B wrong, and the reverse; McNemar's exact two-sided p. */
  b: number;
  c: number;
  mcnemarP: number;
  metrics: { name: string; a: number; b: number; diff: number; low: number; high: number }[];
  resamples: number;
  seed: number;
}

/** McNemar's exact test and a paired bootstrap (the same resamples for every metric) of A − B. */
export function comparePair(al: Aligned, resamples: number, seed: number, level = 0.95): PairComparison {
  const { b, c, n } = discordant(al.paired);
  const idx = resampleIndices(n, resamples, seeded(seed));
  const p = al.paired;
  const rows = metrics(al).map(([name, m]) => {
    const d = pairedBootstrap(p, m, idx, level);
    return { name, a: m(p.truth, p.a, p.groups), b: m(p.truth, p.b, p.groups), diff: d.diff, low: d.low, high: d.high };
  });
  return { n, b, c, mcnemarP: mcnemarExact(b, c), metrics: rows, resamples, seed };
}

/** The comparison as lines for the console. */
export function compareText(r: PairComparison, names: [string, string]): string {
  const f = (x: number) => x.toFixed(4);
  return [
    `A = ${names[0]}, B = ${names[1]}: ${r.n} images`,
    `McNemar (exact, two-sided): A right and B wrong ${r.b}, A wrong and B right ${r.c}, p = ${r.mcnemarP.toPrecision(4)}`,
    `paired bootstrap, ${r.resamples} resamples (seed ${r.seed}), 95% interval of A − B:`,
    ...r.metrics.map((m) => `  ${m.name}: A ${f(m.a)}  B ${f(m.b)}  A − B ${f(m.diff)} [${f(m.low)}, ${f(m.high)}]${m.low > 0 || m.high < 0 ? '  (interval excludes 0)' : ''}`),
  ].join('\n');
}
