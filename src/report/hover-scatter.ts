import { esc } from './html-text.ts';

/** One point of the embedding: its 2-D position, its class (index and name), its image id and thumbnail file name (null: none). */
export interface ScatterPoint {
  xy: [number, number];
  cls: number;
  label: string;
  id: string;
  thumb: string | null;
}

/** Vega's category10 and category20, the colours of the runs' own scatter plots. */
const CATEGORY10 = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const CATEGORY20 = ['#1f77b4', '#aec7e8', '#ff7f0e', '#ffbb78', '#2ca02c', '#98df8a', '#d62728', '#ff9896', '#9467bd', '#c5b0d5', '#8c564b', '#c49c94', '#e377c2', '#f7b6d2', '#7f7f7f', '#c7c7c7', '#bcbd22', '#dbdb8d', '#17becf', '#9edae5'];

const SIZE = 480;
const PAD = 12;

/**
 * The UMAP scatter for the report page: one circle per point, coloured by class, carrying its thumbnail (`thumbs` + file,
 * relative to the report) and label; the report's script shows them beside the pointer on hover (html-page.ts). A legend
 * of the classes below. Axes are the embedding's own units, so none are drawn.
 */
export function hoverScatter(points: readonly ScatterPoint[], classes: readonly string[], thumbs: string): string {
  const palette = classes.length > 10 ? CATEGORY20 : CATEGORY10;
  const xs = points.map((p) => p.xy[0]);
  const ys = points.map((p) => p.xy[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const sx = (x: number) => PAD + ((x - x0) / (x1 - x0 || 1)) * (SIZE - 2 * PAD);
  const sy = (y: number) => SIZE - PAD - ((y - y0) / (y1 - y0 || 1)) * (SIZE - 2 * PAD);
  const circles = points.map((p) => {
    const src = p.thumb ? ` data-src="${esc(thumbs + p.thumb)}"` : '';
    return `<circle cx="${sx(p.xy[0]).toFixed(1)}" cy="${sy(p.xy[1]).toFixed(1)}" r="4" fill="${palette[p.cls % palette.length]}"${src} data-label="${esc(`${p.label} · ${p.id}`)}"></circle>`;
  });
  const legend = classes.map((c, i) => `<li><span style="background:${palette[i % palette.length]}"></span>${esc(c)}</li>`).join('');
  return `<div class="hover-scatter"><svg width="${SIZE}" height="${SIZE}" viewBox="0 0 ${SIZE} ${SIZE}" role="img" aria-label="UMAP scatter; hover a point for its image">${circles.join('')}</svg><div class="tip" hidden><img alt=""><span></span></div><ul class="legend">${legend}</ul></div>`;
}
