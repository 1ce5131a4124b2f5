import type { CellRecord } from '../results/record.ts';
import { shownAs, variantOf } from './columns.ts';

/**
 * The records one number of a table averages (over seeds): one dataset, protocol, backbone, method (and its declared
 * variant, such as fine-tuning's train mode), shot level (unless its column names none) and evaluated set.
 */
const tableCell = (r: CellRecord) => JSON.stringify([r.dataset, r.protocol, r.backbone, r.method, variantOf(r), shownAs(r).shots ? r.shots : null, r.eval_split]);

/** Fields that tell two configurations of one table cell apart, in the order a note names them. */
const CONFIG_FIELDS = ['dataset_digest', 'shots', 'model', 'weights_sha256', 'layer', 'runtime', 'preprocess', 'n_train', 'n_val', 'n_test', 'chosen'];

const differing = (a: CellRecord, others: readonly CellRecord[]) => CONFIG_FIELDS.filter((f) => others.some((o) => JSON.stringify(o[f]) !== JSON.stringify(a[f])));

/**
 * A table cell shows one configuration (config_id): the newest record's. Another layer, option (`--knn-k 1` then
 * `--knn-k 3`) or content of the dataset is another experiment, not another seed, so its records are left out, and
 * each cell that loses records gets a note naming it, what was left out and how it differs. Records without a
 * config_id (older stores) are kept as they are.
 */
export function newestConfigs(records: readonly CellRecord[]): { records: CellRecord[]; notes: string[] } {
  const groups = new Map<string, CellRecord[]>();
  for (const r of records) groups.set(tableCell(r), [...(groups.get(tableCell(r)) ?? []), r]);
  const kept: CellRecord[] = [];
  const notes: string[] = [];
  for (const rs of groups.values()) {
    const newest = rs.reduce((a, r) => (a.time <= r.time ? r : a));
    const same = (r: CellRecord) => newest.config_id === undefined || r.config_id === undefined || r.config_id === newest.config_id;
    const left = rs.filter((r) => !same(r));
    kept.push(...rs.filter(same));
    if (!left.length) continue;
    const fields = differing(newest, left);
    const configIds = [...new Set(left.map((r) => r.config_id))];
    const configs = configIds.length;
    const what = `${newest.backbone} ${newest.method}_${newest.shots} on ${newest.dataset} (${newest.eval_split})`;
    const digests = [...new Set(left.map((r) => r.dataset_digest).filter((d) => d !== undefined && d !== newest.dataset_digest))];
    const why = digests.length
      ? `of an older content of the dataset (digest ${digests.join(', ')}; shown: ${String(newest.dataset_digest)})`
      : `of ${configs} other configuration(s) (config_id ${configIds.join(', ')}; shown: ${String(newest.config_id)})${fields.length ? `, differing in ${fields.map((f) => `${f} ${left.map((r) => JSON.stringify(r[f])).filter((v, i, a) => a.indexOf(v) === i).join('/')} (shown: ${JSON.stringify(newest[f])})`).join(', ')}` : ''}`;
    notes.push(`${what}: shows its newest configuration; ${left.length} record(s) ${why} left out.`);
  }
  return { records: kept, notes };
}
