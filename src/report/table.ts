import { printable } from '../errors.ts';
import type { CellRecord, ConfusedPair } from '../results/record.ts';
import { shownAs, variantOf } from './columns.ts';
import { studyValues } from './study.ts';
import { meanStd } from './stats.ts';
import { maxOf } from '../util/arrays.ts';

/** Plain aligned text table for the terminal; numbers right-aligned. */
export function formatTable(headers: string[], rows: (string | number)[][]): string {
  // Names come from users' files and folders: a control character (a NUL, a newline) is shown escaped, as in errors.
  // Headers too: a table's columns can be datasets (cluster's ranking), named by their folders.
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : printable(c))));
  const head = headers.map(printable);
  const width = head.map((h, i) => maxOf(cells.map((r) => r[i].length), h.length));
  const line = (r: string[], raw?: (string | number)[]) =>
    r.map((c, i) => (typeof raw?.[i] === 'number' ? c.padStart(width[i]) : c.padEnd(width[i]))).join('  ').trimEnd();
  return [line(head), width.map((w) => '-'.repeat(w)).join('  '), ...cells.map((r, i) => line(r, rows[i]))].join('\n');
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

/** The study's clustering table of one method's records: per dataset and set, the backbones ranked by ARI (`mobilenet-v2 0.512`). */
export function clusterRankTable(rows: readonly CellRecord[]): string {
  const cols = [...new Set(rows.map((r) => `${r.dataset}${r.eval_split === 'all' ? '' : ` ${r.eval_split}`}`))];
  const ranked = cols.map((c) => rows.filter((r) => `${r.dataset}${r.eval_split === 'all' ? '' : ` ${r.eval_split}`}` === c).sort((a, b) => b.value - a.value));
  const depth = Math.max(0, ...ranked.map((r) => r.length));
  return formatTable(cols, Array.from({ length: depth }, (_, i) => ranked.map((r) => (r[i] ? `${r[i].backbone} ${r[i].value.toFixed(3)}` : ''))));
}

/** One row per record of a trained model (fine-tuning): the metric, val accuracy at the best epoch, epochs, and where the curve is. */
export function trainingTable(records: readonly CellRecord[]): string {
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

/** A record's `confused_pairs` entry, when it holds the expected shape. */
const isPair = (p: unknown): p is ConfusedPair =>
  !!p && typeof p === 'object' && ['a', 'b'].every((k) => typeof (p as Record<string, unknown>)[k] === 'string') && ['iou', 'm_ab', 'm_ba', 'n_a', 'n_b'].every((k) => typeof (p as Record<string, unknown>)[k] === 'number');

/**
 * One "most confused pairs" table per record that lists them (per backbone, method and evaluated set): the class
 * pairs, their IoU = (m_ab + m_ba) / (n_a + n_b) and its counts; '' when no record has the field.
 */
export function confusedPairsTables(records: readonly CellRecord[]): string {
  return records
    .filter((r) => Array.isArray(r.confused_pairs))
    .map((r) => {
      const pairs = (r.confused_pairs as unknown[]).filter(isPair);
      const variant = shownAs(r).variant;
      const title = `most confused pairs: ${r.backbone} ${r.method}${variant && r[variant] !== undefined ? ` (${variant} ${variantOf(r)})` : ''} on ${r.eval_split}`;
      if (pairs.length === 0) return `${title}: none (no test image was mistaken for another class)`;
      return `${title}\n${formatTable(['class_a', 'class_b', 'iou', 'm_ab', 'm_ba', 'n_a', 'n_b'], pairs.map((p) => [p.a, p.b, p.iou, p.m_ab, p.m_ba, p.n_a, p.n_b]))}`;
    })
    .join('\n\n');
}

/**
 * The k-shot curve (shared/study/002: CLIP's zero-shot, LITE and PRO heads), per backbone and test set: a row per
 * method that declares one, in its order, columns the shot levels. A method without shots is shown at the level it
 * was scored at; at 0, a method with a `start` field shows its untrained start (the methods without shots where they
 * were scored, else its own start field) and any other has none.
 */
export function kshotTable(records: readonly CellRecord[]): string {
  const levels = [...new Set(records.map((r) => r.shots))].sort((a, b) => a - b);
  const keys = [...new Set(records.map((r) => `${r.backbone}\0${r.eval_split}`))];
  const heads = [...new Map(records.map((r) => [r.method, shownAs(r)] as const))]
    .flatMap(([m, p]) => (p.kshot ? [[m, { ...p, kshot: p.kshot }] as const] : []))
    .sort((x, y) => x[1].kshot.order - y[1].kshot.order || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  const rows: (string | number)[][] = [];
  // Over seeds, the mean (± std with n when there are several).
  const cell = (rs: readonly CellRecord[], value: (r: CellRecord) => number = (r) => r.value): string | number => {
    if (rs.length === 0) return '';
    const s = meanStd(rs.map(value));
    return s.n > 1 ? `${s.mean.toFixed(4)} ± ${s.std!.toFixed(4)} (n=${s.n})` : s.mean;
  };
  for (const key of keys) {
    const [b, set] = key.split('\0');
    const here = records.filter((r) => r.backbone === b && r.eval_split === set);
    const of = (method: string, k?: number) => here.filter((r) => r.method === method && (k === undefined || r.shots === k));
    const untrained = here.filter((r) => heads.some(([m, p]) => m === r.method && !p.shots));
    for (const [method, p] of heads) {
      const start = p.kshot.start;
      const cells = levels.map((k): string | number => {
        if (!p.shots) return cell(of(method, k));
        if (k === 0) return start ? (untrained.length ? cell(untrained) : cell(of(method), (r) => Number((r as Record<string, unknown>)[start]))) : '-';
        return cell(of(method, k));
      });
      if (cells.some((c) => c !== '' && c !== '-')) rows.push([b, set, p.kshot.label, ...cells]);
    }
  }
  return formatTable(['backbone', 'test_set', 'head', ...levels.map(String)], rows);
}

/**
 * Over the seeds of `--seeds`: per (backbone, method, train mode, shots, evaluated set), the headline metric's mean ±
 * sample std (ddof = 1) and n; empty when every cell ran with one seed.
 */
export function seedSummaryTable(records: readonly CellRecord[]): string {
  const groups = new Map<string, CellRecord[]>();
  for (const r of records) {
    const key = JSON.stringify([r.backbone, r.method, variantOf(r), r.shots, r.eval_split, r.metric]);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  if (![...groups.values()].some((g) => new Set(g.map((r) => r.seed)).size > 1)) return '';
  const rows = [...groups.values()].map((g) => {
    const s = meanStd(g.map((r) => r.value));
    const r = g[0];
    return [r.backbone, `${r.method}${variantOf(r) ? ` ${variantOf(r)}` : ''}`, r.shots, r.eval_split, r.metric, `${s.mean.toFixed(4)} ± ${s.std === null ? '-' : s.std.toFixed(4)}`, s.n, g.map((x) => x.seed).join(',')];
  });
  return formatTable(['backbone', 'method', 'shots', 'test_set', 'metric', 'mean ± std', 'n', 'seeds'], rows);
}
