import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { METHODS } from '../../src/jobs/methods.ts';
import { writeJobRecords } from '../../src/results/job-store.ts';
import type { CellRecord } from '../../src/results/record.ts';

/** The fields a record needs beside what a test sets (records as the runner writes them; the numbers are the test's). */
export function fixtureRecord(fields: Partial<CellRecord> & Pick<CellRecord, 'method' | 'backbone' | 'dataset' | 'shots' | 'value'>, at: number): CellRecord {
  const task = fields.method === 'finetune' ? 'finetune' : fields.method === 'cluster' || fields.method === 'kmeans' ? 'cluster' : 'probe';
  const r = {
    schema_version: 1,
    run_id: `run${at}`,
    config_id: 'fixture',
    task,
    model: 'fixture',
    layer: 'tap',
    runtime: 'fixture',
    protocol: 'study',
    seed: 0,
    split_hash: 'h',
    split_file: 'splits/h.json',
    eval_split: 'test',
    metric: task === 'cluster' ? 'ari' : 'accuracy',
    n_train: 1,
    n_val: 1,
    n_test: 1,
    n_classes: 2,
    skipped_images: 0,
    features_key: null,
    features_from_cache: false,
    extract_seconds: 0,
    images_per_second: 0,
    fit_seconds: 0,
    versions: { reprobe: '0.1.0', commit: null, dirty: null, diff_sha256: null, node: '20', onnxruntime: 'x', tfjs: 'x', sharp: 'x' },
    time: new Date(Date.UTC(2025, 0, 1, 0, 0, at)).toISOString(),
    // As the runner writes it: the method's presentation (a record of an unregistered method has none).
    ...(METHODS.has(fields.method) ? { presentation: METHODS.get(fields.method)!.presentation } : {}),
    ...fields,
  } as unknown as CellRecord;
  r.cell_id = fields.cell_id ?? `${r.dataset}|${r.backbone}|${r.method}|${String(r.train ?? '')}|${r.shots}|${r.seed}|${r.eval_split}`;
  return r;
}

/**
 * A store with known numbers (hand-computed expectations in report.test.ts): UC Merced (study protocol) with
 * fine-tuning, kNN and LR for `clip` and `dino` (dino's lr_10 over seeds 0, 1, 2; clip's knn_10 rerun with the same
 * seed), FMoW (WILDS) probes with ID and OOD sets (clip's knn_10 over seeds 0 and 1), and clustering on both.
 * clip's UMAP SVG and fine-tuning curve exist; dino's do not.
 */
export async function writeFixtureStore(dir: string): Promise<void> {
  let t = 0;
  const r = (f: Parameters<typeof fixtureRecord>[0]) => fixtureRecord(f, t++);
  const uc = { dataset: 'ucmerced' } as const;
  const runs = join(dir, 'runs');
  mkdirSync(join(runs, 'clipft'), { recursive: true });
  mkdirSync(join(runs, 'clipumap'), { recursive: true });
  writeFileSync(join(runs, 'clipft', 'epochs.jsonl'), [1, 2, 3].map((e) => JSON.stringify({ epoch: e, train_loss: 2 / e, val_loss: 2.2 / e, val_accuracy: 0.3 * e, best_epoch: e, seconds: 1 })).join('\n') + '\n');
  writeFileSync(join(runs, 'clipumap', 'all-umap.svg'), '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><defs><clipPath id="clip1"><rect width="40" height="40"/></clipPath></defs><circle cx="20" cy="20" r="9" clip-path="url(#clip1)" fill="teal"/></svg>');
  await writeJobRecords(dir, 'ucmerced-probe', [
    r({ ...uc, backbone: 'clip', method: 'knn', shots: 10, value: 0.5, cell_id: 'clip-knn10-old' }),
    r({ ...uc, backbone: 'clip', method: 'knn', shots: 10, value: 0.79, cell_id: 'clip-knn10-new' }),
    r({ ...uc, backbone: 'clip', method: 'knn', shots: 100, value: 0.9 }),
    r({ ...uc, backbone: 'clip', method: 'lr', shots: 10, value: 0.88 }),
    r({ ...uc, backbone: 'clip', method: 'lr', shots: 100, value: 0.93 }),
    r({ ...uc, backbone: 'dino', method: 'knn', shots: 10, value: 0.78 }),
    r({ ...uc, backbone: 'dino', method: 'knn', shots: 100, value: 0.905 }),
    ...[0.87, 0.89, 0.91].map((value, seed) => r({ ...uc, backbone: 'dino', method: 'lr', shots: 10, value, seed })),
    r({ ...uc, backbone: 'dino', method: 'lr', shots: 100, value: 0.97 }),
  ]);
  await writeJobRecords(dir, 'ucmerced-finetune', [
    r({ ...uc, backbone: 'clip', method: 'finetune', shots: 10, value: 0.85, train: 'all', curve: join(runs, 'clipft', 'epochs.jsonl'), best_epoch: 3 }),
    r({ ...uc, backbone: 'dino', method: 'finetune', shots: 10, value: 0.74, train: 'all', curve: join(runs, 'dinoft', 'epochs.jsonl'), best_epoch: 2 }),
  ]);
  const fmow = (backbone: string, method: string, id: number, ood: number, seed = 0) => [
    r({ dataset: 'fmow', backbone, method, shots: 10, value: id, eval_split: 'id_test', seed }),
    r({ dataset: 'fmow', backbone, method, shots: 10, value: ood, eval_split: 'ood_test', seed }),
  ];
  await writeJobRecords(dir, 'fmow-probe', [
    ...fmow('clip', 'knn', 0.2, 0.18),
    ...fmow('clip', 'knn', 0.22, 0.18, 1),
    ...fmow('clip', 'lr', 0.13, 0.12),
    ...fmow('dino', 'knn', 0.17, 0.17),
    ...fmow('dino', 'lr', 0.1, 0.0975),
  ]);
  const cl = (dataset: string, set: string, backbone: string, method: string, ari: number, nmi: number, plot?: string) =>
    r({ dataset, backbone, method, shots: 10, value: ari, ari, nmi, eval_split: set, ...(plot ? { plot, coordinates: plot.replace(/png$/, 'csv') } : {}) });
  await writeJobRecords(dir, 'cluster', [
    cl('ucmerced', 'all', 'clip', 'cluster', 0.68, 0.8, join(runs, 'clipumap', 'all-umap.png')),
    cl('ucmerced', 'all', 'dino', 'cluster', 0.64, 0.79, join(runs, 'dinoumap', 'all-umap.png')),
    cl('ucmerced', 'all', 'clip', 'kmeans', 0.5, 0.7),
    cl('ucmerced', 'all', 'dino', 'kmeans', 0.55, 0.72),
    cl('fmow', 'id_test', 'clip', 'cluster', 0.086, 0.2),
    cl('fmow', 'id_test', 'dino', 'cluster', 0.084, 0.21),
    cl('fmow', 'ood_test', 'clip', 'cluster', 0.1, 0.2),
    cl('fmow', 'ood_test', 'dino', 'cluster', 0.079, 0.19),
  ]);
}
