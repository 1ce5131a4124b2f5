import { publishedValue, type PublishedCell } from './published.ts';

/** A row of a published table that looks broken rather than measured, and why. */
export interface Anomaly {
  table: string;
  model: string;
  dataset: string;
  /** The row's mean over its measured accuracy cells, chance = 1/classes, the other rows' median of the same. */
  mean: number;
  chance: number;
  othersMedian: number;
  /** Where the same model does well on the same dataset: that table and its best value there. */
  elsewhere: { table: string; best: number };
  reason: string;
}

/** Thresholds of the rule, as fractions of the distance from chance (see `paperAnomalies`). */
export const ANOMALY_RULE = { nearChance: 0.15, farAbove: 0.2, doesWell: 0.5 } as const;

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** table → model → that row's measured accuracy values. */
function rows(cells: readonly PublishedCell[]): Map<string, Map<string, number[]>> {
  const out = new Map<string, Map<string, number[]>>();
  for (const c of cells) {
    if (c.kind !== 'measured' || c.metric !== 'accuracy' || !Number.isFinite(publishedValue(c))) continue;
    if (!out.has(c.table)) out.set(c.table, new Map());
    const t = out.get(c.table)!;
    t.set(c.study_model, [...(t.get(c.study_model) ?? []), publishedValue(c)]);
  }
  return out;
}

/**
 * Rows of the paper's own tables at or near chance while the method works for everyone else and for this model elsewhere.
 * With chance c = 1/classes, a row's score s = its mean measured accuracy in the table, and M = the median score of the
 * table's other rows, a row is flagged when (1) s − c < 0.15 (M − c): near chance, relative to where the others are;
 * (2) M − c ≥ 0.2 (1 − c): the others are far above chance; (3) in another table of the same dataset the same model's
 * best cell b has b − c ≥ 0.5 (B − c), B the median best of that table's other rows: the model itself is not the problem.
 */
export function paperAnomalies(cells: readonly PublishedCell[]): Anomaly[] {
  const byTable = rows(cells);
  const meta = new Map(cells.map((c) => [c.table, { dataset: c.dataset, chance: 1 / c.classes }]));
  const out: Anomaly[] = [];
  for (const [table, models] of byTable) {
    const { dataset, chance } = meta.get(table)!;
    const score = new Map([...models].map(([m, vs]) => [m, vs.reduce((a, v) => a + v, 0) / vs.length]));
    for (const [model, s] of score) {
      const others = [...score].filter(([m]) => m !== model).map(([, v]) => v);
      if (!others.length) continue;
      const M = median(others);
      if (!(s - chance < ANOMALY_RULE.nearChance * (M - chance) && M - chance >= ANOMALY_RULE.farAbove * (1 - chance))) continue;
      const elsewhere = [...byTable]
        .filter(([t, ms]) => t !== table && meta.get(t)!.dataset === dataset && ms.has(model))
        .map(([t, ms]) => {
          const best = Math.max(...ms.get(model)!);
          const B = median([...ms].filter(([m]) => m !== model).map(([, vs]) => Math.max(...vs)));
          return { table: t, best, ok: best - chance >= ANOMALY_RULE.doesWell * (B - chance) };
        })
        .filter((e) => e.ok)
        .sort((a, b) => b.best - a.best)[0];
      if (!elsewhere) continue;
      const f = (x: number) => x.toFixed(3);
      out.push({
        table,
        model,
        dataset,
        mean: s,
        chance,
        othersMedian: M,
        elsewhere: { table: elsewhere.table, best: elsewhere.best },
        reason: `mean ${f(s)} at or near chance (1/${Math.round(1 / chance)} = ${f(chance)}) while the other models' median is ${f(M)}; the same model reaches ${f(elsewhere.best)} on ${dataset} in ${elsewhere.table}`,
      });
    }
  }
  return out;
}
