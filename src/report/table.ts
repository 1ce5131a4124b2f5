import type { CellRecord } from '../results/record.ts';
import { studyValues } from './study.ts';

/** Plain aligned text table; numbers right-aligned. */
export function formatTable(headers: string[], rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)));
  const width = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
  const line = (r: string[], raw?: (string | number)[]) =>
    r.map((c, i) => (typeof raw?.[i] === 'number' ? c.padStart(width[i]) : c.padEnd(width[i]))).join('  ').trimEnd();
  return [line(headers), width.map((w) => '-'.repeat(w)).join('  '), ...cells.map((r, i) => line(r, rows[i]))].join('\n');
}

function fmt(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  return Number.isInteger(x) ? String(x) : x.toFixed(4);
}

/** One row per (backbone, method, evaluated set): the metric, val accuracy, split sizes, chosen hyper-parameters, seconds. */
export function detailTable(records: readonly CellRecord[]): string {
  return formatTable(
    ['backbone', 'method', 'test_set', 'metric', 'value', 'val_acc', 'train/val/test', 'chosen', 'extract_s', 'fit_s'],
    records.map((r) => {
      const worst = r.worst_group_accuracy;
      const chosen = r.chosen && typeof r.chosen === 'object' ? Object.entries(r.chosen) : [];
      return [
        r.backbone,
        r.method,
        r.eval_split,
        typeof worst === 'number' ? `${r.metric} (worst ${String(r.group_field)} ${worst.toFixed(4)})` : r.metric,
        r.value,
        typeof r.val_accuracy === 'number' ? r.val_accuracy : '',
        `${r.n_train}/${r.n_val}/${r.n_test}`,
        chosen
          .filter(([k]) => k !== 'iterations')
          .map(([k, v]) => `${k}=${String(v)}`)
          .join(' '),
        r.extract_seconds,
        r.fit_seconds,
      ];
    }),
  );
}

/** One row per clustering record: ARI, NMI, k, points and seconds. */
export function clusterDetailTable(records: readonly CellRecord[]): string {
  return formatTable(
    ['backbone', 'method', 'set', 'ari', 'nmi', 'k', 'points', 'fit_s'],
    records.map((r) => [r.backbone, r.method, r.eval_split, r.value, Number(r.nmi), Number(r.k), Number(r.n_points), r.fit_seconds]),
  );
}

/** The study's clustering table: per dataset and set, the backbones ranked by ARI (`mobilenet-v2 0.512`). */
export function clusterRankTable(records: readonly CellRecord[], method = 'cluster'): string {
  const rows = records.filter((r) => r.method === method);
  const cols = [...new Set(rows.map((r) => `${r.dataset}${r.eval_split === 'all' ? '' : ` ${r.eval_split}`}`))];
  const ranked = cols.map((c) => rows.filter((r) => `${r.dataset}${r.eval_split === 'all' ? '' : ` ${r.eval_split}`}` === c).sort((a, b) => b.value - a.value));
  const depth = Math.max(0, ...ranked.map((r) => r.length));
  return formatTable(cols, Array.from({ length: depth }, (_, i) => ranked.map((r) => (r[i] ? `${r[i].backbone} ${r[i].value.toFixed(3)}` : ''))));
}

/** One row per fine-tuning record: the metric, val accuracy at the best epoch, epochs, and where the curve is. */
export function finetuneTable(records: readonly CellRecord[]): string {
  return formatTable(
    ['backbone', 'train', 'test_set', 'metric', 'value', 'val_acc', 'best_val_loss', 'epochs', 'best_epoch', 'train/val/test', 'fit_s'],
    records.map((r) => [r.backbone, String(r.train), r.eval_split, r.metric, r.value, Number(r.val_accuracy), Number(r.best_val_loss), Number(r.epochs_run), Number(r.best_epoch), `${r.n_train}/${r.n_val}/${r.n_test}`, r.fit_seconds]),
  );
}

/** The study's layout: one row per backbone, columns `<method>_<shots>` in the study's order, rows in its order (see study.ts). */
export function studyTable(records: readonly CellRecord[]): string {
  const tables = studyValues(records);
  return tables.map((t) => `${tables.length > 1 ? `${t.title}\n` : ''}${formatTable(t.columns, t.rows)}`).join('\n\n');
}
