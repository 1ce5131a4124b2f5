import type { CellRecord } from '../results/record.ts';
import { isClustering, shownAs } from './columns.ts';
import type { Cell, ReportTable } from './report-table.ts';
import { seedStat } from './stats.ts';
import { groupBy } from './study.ts';

/**
 * The study's clustering table in long form: per dataset, set (`all`, or a WILDS test set) and method, the backbones
 * ranked by ARI (mean over seeds), with NMI; rank 1 is marked best in each (dataset, set, method). Methods in their
 * declared order (the study's UMAP + k-means first, then its k-means baseline), then by name.
 */
export function clusterRanking(records: readonly CellRecord[]): ReportTable {
  const rows: Cell[][] = [];
  const groups = groupBy(
    records.filter(isClustering),
    (r) => JSON.stringify([r.dataset, r.eval_split, String(shownAs(r).order).padStart(10, '0'), r.method]),
  );
  for (const [key, rs] of groups) {
    const [dataset, set, , method] = JSON.parse(key) as [string, string, string, string];
    const backbones = groupBy(rs, (r) => r.backbone).map(([backbone, b]) => ({ backbone, ari: seedStat(b), nmi: seedStat(b, (r) => Number(r.nmi)) }));
    backbones.sort((a, b) => b.ari.mean - a.ari.mean || (a.backbone < b.backbone ? -1 : 1));
    backbones.forEach((b, i) => rows.push([dataset, set, method, i + 1, b.backbone, b.ari, b.nmi]));
  }
  return {
    name: 'cluster_ranking',
    title: 'Clustering: backbones ranked by ARI',
    columns: [{ name: 'dataset' }, { name: 'set' }, { name: 'method' }, { name: 'rank' }, { name: 'model' }, { name: 'ari', best: 'max' }, { name: 'nmi', best: 'max' }],
    rows,
    groupBy: [0, 1, 2],
  };
}
