import type { CellRecord } from '../results/record.ts';
import { spearman } from '../metrics/rank.ts';
import { explained, indexRecords, oursFor, type Ours, type StandIns } from './against-cells.ts';
import { ANOMALY_RULE, paperAnomalies } from './anomalies.ts';
import { shownAs } from './columns.ts';
import { publishedValue, type PublishedCell } from './published.ts';
import { stem, type Cell, type ReportTable } from './report-table.ts';
import type { Section } from './sections.ts';
import { groupBy } from './study.ts';

/** A published table to compare with: its name (`study`, a file name) and cells, and which of our ids stand in for the paper's. */
export interface Against {
  name: string;
  cells: readonly PublishedCell[];
  standIns: StandIns;
}

interface Pair {
  c: PublishedCell;
  ours: Ours;
  diff: number;
  flag: string;
}

/** Six significant digits, as the paper prints: what a reader compares (the csv keeps them too; the seeds' stats stay full). */
const sig = (x: number | null) => (x === null || !Number.isFinite(x) ? x : Number(x.toPrecision(6)));

/** `knn_10_ood_test`, `finetune_100`, `cluster_all`: a cell's column in our terms. */
const columnOf = (c: PublishedCell) => [c.method, ...(c.shots ? [String(c.shots)] : []), ...(c.set === 'test' ? [] : [c.set])].join('_');

/** Each published cell with a number of ours beside it. */
function pairs(records: readonly CellRecord[], a: Against): Pair[] {
  const index = indexRecords(records);
  // A row: one model's cells in one family of tables on one dataset (the WILDS "Best OOD performance" is printed apart from its row).
  const rowKey = (c: PublishedCell) => JSON.stringify([c.family, c.study_dataset, c.study_model]);
  const rows = new Map(groupBy(a.cells, rowKey));
  return a.cells.flatMap((c): Pair[] => {
    const ours = oursFor(c, rows.get(rowKey(c))!, index, a.standIns);
    if (!ours) return [];
    const diff = ours.stat.mean - publishedValue(c);
    const h = explained(ours);
    return [{ c, ours, diff, flag: h === null ? 'no spread' : Math.abs(diff) > h ? 'outside' : '' }];
  });
}

const label = (c: PublishedCell, o: Ours, a: Against) => (a.standIns.has(c.model) ? `${o.backbone} (stand-in for ${c.model})` : o.backbone);

/** Per published table, its reproduced cells: the paper's value, ours, the difference, our spread and the flag. */
function cellTables(ps: readonly Pair[], a: Against): ReportTable[] {
  return groupBy(ps, (p) => p.c.table).map(([table, tp]) => ({
    name: stem('against', a.name, table),
    title: `${table}: ours beside the paper's`,
    columns: ['model', 'ours', 'column', 'paper', 'ours_mean', 'ours_minus_paper', 'ci_low', 'ci_high', 'explained', 'flag'].map((name) => ({ name })),
    rows: tp.map(({ c, ours, diff, flag }): Cell[] => [c.study_model, label(c, ours, a), columnOf(c), publishedValue(c), ours.stat, sig(diff), ours.ci?.low ?? null, ours.ci?.high ?? null, sig(explained(ours)), flag]),
  }));
}

/** Per published table and column with 3 or more models reproduced: the paper's order, ours, and Spearman's ρ. */
function rankingTable(ps: readonly Pair[], a: Against): ReportTable {
  const measured = ps.filter((p) => p.c.kind === 'measured' || p.c.method === 'best');
  const rows = groupBy(measured, (p) => JSON.stringify([p.c.table, columnOf(p.c)])).flatMap(([key, group]): Cell[][] => {
    if (group.length < 3) return [];
    const [table, column] = JSON.parse(key) as [string, string];
    const order = (v: (p: Pair) => number) => [...group].sort((x, y) => v(y) - v(x)).map((p) => p.c.study_model).join('>');
    const rho = spearman(group.map((p) => publishedValue(p.c)), group.map((p) => p.ours.stat.mean));
    return [[table, column, group.length, sig(rho), order((p) => publishedValue(p.c)), order((p) => p.ours.stat.mean)]];
  });
  return { name: stem('against', a.name, 'rankings'), title: "Rankings: the paper's order beside ours (Spearman's ρ over the models both have)", columns: ['table', 'column', 'models', 'spearman', 'paper order', 'our order'].map((name) => ({ name })), rows };
}

/**
 * A measured cell's column as the paper names it in an order: `lr_100`, on WILDS `knn_100_ood`; a method printed as
 * bare shots (its records' presentation says so: fine-tuning) `1000`, `1000_ood`.
 */
function printedName(c: PublishedCell, printed: ReadonlyMap<string, string | undefined>): string {
  const as = printed.get(c.method) ?? c.method;
  return `${as === '' ? '' : `${as}_`}${c.shots}${c.set === 'ood_test' ? '_ood' : ''}`;
}

/** Each printed "performance order" beside ours: the same row's columns sorted by our means, best first. */
function orderTable(records: readonly CellRecord[], a: Against): ReportTable {
  const index = indexRecords(records);
  const printed = new Map(records.map((r) => [r.method, shownAs(r).printed]));
  const rows = a.cells
    .filter((c) => c.method === 'order')
    .flatMap((c): Cell[][] => {
      const row = a.cells.filter((x) => x.family === c.family && x.study_dataset === c.study_dataset && x.study_model === c.study_model && x.kind === 'measured' && x.set === c.set);
      const ours = row.map((x) => [printedName(x, printed), oursFor(x, row, index, a.standIns)] as const);
      if (!ours.length || ours.some(([, o]) => o === null)) return [];
      const mine = [...new Map(ours.map(([n, o]) => [n, o!.stat.mean])).entries()].sort((x, y) => y[1] - x[1]).map(([n]) => n).join('>');
      return [[c.table, c.study_model, c.text, mine, mine === c.text ? 'same' : 'differs']];
    });
  return { name: stem('against', a.name, 'orders'), title: 'Performance orders: the paper\'s beside ours (rows with every column reproduced)', columns: ['table', 'model', 'paper order', 'our order', 'agree'].map((name) => ({ name })), rows };
}

/** Per table family: published numbers, reproduced, flagged outside our spread. */
function coverageTable(ps: readonly Pair[], a: Against): ReportTable {
  const numeric = a.cells.filter((c) => Number.isFinite(publishedValue(c)));
  const rows = groupBy(numeric, (c) => c.family).map(([family, cs]): Cell[] => {
    const mine = ps.filter((p) => p.c.family === family);
    return [family, cs.length, mine.length, mine.filter((p) => p.flag === 'outside').length];
  });
  rows.push(['all', numeric.length, ps.length, ps.filter((p) => p.flag === 'outside').length]);
  return { name: stem('against', a.name, 'coverage'), title: 'Coverage: cells reproduced / cells published', columns: ['family', 'published', 'reproduced', 'outside_spread'].map((name) => ({ name })), rows };
}

/** Rows of the paper's own tables flagged by the anomaly rule. */
function anomalyTable(a: Against): ReportTable {
  return {
    name: stem('against', a.name, 'anomalies'),
    title: "The paper's suspicious rows: at or near chance where others are far above, while the model does well elsewhere",
    columns: ['table', 'model', 'row_mean', 'chance', 'others_median', 'elsewhere', 'elsewhere_best', 'reason'].map((name) => ({ name })),
    rows: paperAnomalies(a.cells).map((x): Cell[] => [x.table, x.model, sig(x.mean), sig(x.chance), sig(x.othersMedian), x.elsewhere.table, x.elsewhere.best, x.reason]),
  };
}

/** The `--against` section: coverage, the paper's anomalies, rankings, then each table's cells. */
export function againstSection(records: readonly CellRecord[], a: Against): Section {
  const ps = pairs(records, a);
  const numeric = a.cells.filter((c) => Number.isFinite(publishedValue(c))).length;
  const notes = [
    `Coverage: ${ps.length} of ${numeric} published cells reproduced (orders not counted); ${ps.filter((p) => p.flag === 'outside').length} outside our spread.`,
    'flag "outside": |ours − paper| > explained = 2 √(std² + se²), std over seeds, se the test set\'s sampling error (bootstrap interval width / 3.92, else √(p(1−p)/n) for accuracy); "no spread": one seed and no error known.',
    `Anomaly rule (general, from the paper's numbers only): row mean − chance < ${ANOMALY_RULE.nearChance} × (others' median − chance), others' median − chance ≥ ${ANOMALY_RULE.farAbove} × (1 − chance), and the same model's best in another table of that dataset − chance ≥ ${ANOMALY_RULE.doesWell} × (that table's median best − chance).`,
    ...[...a.standIns].map(([paper, ours]) => `Stand-in: our ${ours} is compared with the paper's ${paper}; it is not that model or dataset.`),
  ];
  return { id: stem('against', a.name), title: `Against ${a.name}`, tables: [coverageTable(ps, a), ...[anomalyTable(a), rankingTable(ps, a), orderTable(records, a)].filter((t) => t.rows.length), ...cellTables(ps, a)], figures: [], notes };
}
