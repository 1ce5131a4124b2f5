import type { TopLevelSpec } from 'vega-lite';

/** The Vega-Lite spec style of the clustering scatter (src/cluster/scatter.ts): a schema, a title, a size, white. */
const BASE = { $schema: 'https://vega.github.io/schema/vega-lite/v5.json', background: 'white' } as const;

/** One backbone's number at one shot level (mean over seeds, with the std when seeds were repeated). */
export interface ShotsPoint {
  backbone: string;
  shots: number;
  value: number;
  std: number | null;
}

/** Accuracy (or the dataset's metric) vs shots: one line per backbone, ± std bars where seeds were repeated; shots on a log axis. */
export function shotsSpec(points: readonly ShotsPoint[], metric: string, title: string): TopLevelSpec {
  const values = points.map((p) => ({ ...p, lo: p.value - (p.std ?? 0), hi: p.value + (p.std ?? 0) }));
  const shots = [...new Set(points.map((p) => p.shots))].sort((a, b) => a - b);
  // The shot levels fill the axis, with a margin of the same factor on both sides of the log scale.
  const domain = [shots[0] / 1.25, shots[shots.length - 1] * 1.25];
  const x = { field: 'shots', type: 'quantitative', title: 'shots (training images per class)', scale: { type: 'log', domain, nice: false }, axis: { values: shots, format: 'd' } } as const;
  const color = { field: 'backbone', type: 'nominal', title: 'backbone' } as const;
  return {
    ...BASE,
    title,
    width: 340,
    height: 240,
    data: { values },
    layer: [
      { mark: { type: 'line', point: true }, encoding: { x, y: { field: 'value', type: 'quantitative', title: metric, scale: { zero: false } }, color } },
      ...(points.some((p) => p.std !== null) ? [{ mark: { type: 'rule' as const }, encoding: { x, y: { field: 'lo', type: 'quantitative' as const }, y2: { field: 'hi' }, color } }] : []),
    ],
  };
}

/** One backbone and method measured in and out of distribution. */
export interface IdOodPoint {
  backbone: string;
  method: string;
  id: number;
  ood: number;
}

/** OOD against ID per backbone (colour) and method (shape), with the y = x diagonal: below it, worse out of distribution. */
export function idOodSpec(points: readonly IdOodPoint[], metric: string, title: string): TopLevelSpec {
  const all = points.flatMap((p) => [p.id, p.ood]);
  const pad = 0.05 * (Math.max(...all) - Math.min(...all) || 1);
  const [lo, hi] = [Math.max(0, Math.min(...all) - pad), Math.max(...all) + pad];
  return {
    ...BASE,
    title,
    width: 300,
    height: 300,
    layer: [
      {
        data: { values: [{ v: lo }, { v: hi }] },
        mark: { type: 'line', color: '#999', strokeDash: [4, 4] },
        encoding: { x: { field: 'v', type: 'quantitative', scale: { domain: [lo, hi] } }, y: { field: 'v', type: 'quantitative', scale: { domain: [lo, hi] } } },
      },
      {
        data: { values: points.map((p) => ({ ...p })) },
        mark: { type: 'point', filled: true, size: 70 },
        encoding: {
          x: { field: 'id', type: 'quantitative', title: `ID ${metric}`, scale: { domain: [lo, hi] } },
          y: { field: 'ood', type: 'quantitative', title: `OOD ${metric}`, scale: { domain: [lo, hi] } },
          color: { field: 'backbone', type: 'nominal' },
          shape: { field: 'method', type: 'nominal' },
        },
      },
    ],
  };
}

/** One epoch of a fine-tuning curve (the run's epochs.jsonl). */
export interface EpochPoint {
  epoch: number;
  train_loss: number;
  val_loss: number;
  val_accuracy: number;
}

/** A fine-tuning run per epoch: train and val loss (left), val accuracy (right), the best epoch as a vertical rule. */
export function curveSpec(curve: readonly EpochPoint[], bestEpoch: number | null, title: string): TopLevelSpec {
  const values = curve.map((p) => ({ ...p }));
  const x = { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1, format: 'd' } } as const;
  const best = bestEpoch === null ? [] : [{ data: { values: [{ epoch: bestEpoch }] }, mark: { type: 'rule' as const, color: '#999', strokeDash: [4, 4] }, encoding: { x } }];
  return {
    ...BASE,
    title,
    data: { values },
    hconcat: [
      {
        width: 260,
        height: 180,
        layer: [
          {
            transform: [{ fold: ['train_loss', 'val_loss'], as: ['curve', 'loss'] }],
            mark: 'line',
            encoding: { x, y: { field: 'loss', type: 'quantitative', title: 'loss' }, color: { field: 'curve', type: 'nominal', title: null, legend: { orient: 'bottom', direction: 'horizontal' } } },
          },
          ...best,
        ],
      },
      {
        width: 260,
        height: 180,
        layer: [{ mark: { type: 'line', color: '#2a7' }, encoding: { x, y: { field: 'val_accuracy', type: 'quantitative', title: 'val accuracy' } } }, ...best],
      },
    ],
  };
}
