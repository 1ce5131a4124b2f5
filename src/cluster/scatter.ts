import type { TopLevelSpec } from 'vega-lite';
import { csvField } from '../util/csv-field.ts';

/** The 2-D embedding coloured by class, with a legend of class names: a Vega-Lite spec the report can reuse. */
export function scatterSpec(points: readonly number[][], labels: ArrayLike<number>, classes: readonly string[], title: string): TopLevelSpec {
  const values = points.map((p, i) => ({ x: p[0], y: p[1] ?? 0, class: classes[labels[i]] ?? String(labels[i]) }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: 480,
    height: 480,
    background: 'white',
    data: { values },
    mark: { type: 'circle', size: 14, opacity: 0.8 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: 'UMAP 1', scale: { zero: false } },
      y: { field: 'y', type: 'quantitative', title: 'UMAP 2', scale: { zero: false } },
      color: { field: 'class', type: 'nominal', sort: [...classes], scale: { scheme: classes.length > 10 ? 'category20' : 'category10' } },
    },
  };
}

/** The embedding as CSV (x, y, …, class). */
export function embeddingCsv(points: readonly number[][], labels: ArrayLike<number>, classes: readonly string[]): string {
  const dims = points[0]?.length ?? 0;
  const head = [...Array.from({ length: dims }, (_, d) => `umap${d + 1}`), 'class'].join(',');
  return [head, ...points.map((p, i) => [...p.map((v) => String(v)), csvField(classes[labels[i]] ?? String(labels[i]))].join(','))].join('\n') + '\n';
}
