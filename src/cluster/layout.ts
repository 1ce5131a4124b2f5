// findABParams is exported by umap-js's module but not its index: the curve fit stays umap-js's own.
import { findABParams } from 'umap-js/dist/umap.js';
import type { Rng } from '../util/rng.ts';
import type { FuzzyGraph } from './fuzzy-graph.ts';
import { tableKernel, type LayoutKernel } from './layout-kernel.ts';

export interface LayoutSettings {
  dims: number;
  minDist: number;
  /** Optimisation epochs; 0 = umap-js's rule (500 up to 2,500 points, down to 200 above 7,500). */
  epochs?: number;
  /** The start, [n, dims] row-major (umapEmbed's spectral one); absent = umap-js's random start in [−10, 10). */
  start?: Float64Array;
  /** The gradient arithmetic: tableKernel (the default, fast) or umapJsKernel (umap-js's, bit for bit). */
  kernel?: (a: number, b: number) => LayoutKernel;
}

const NEGATIVE_SAMPLE_RATE = 5;
const CLIP = 4;

const epochsFor = (n: number) => (n <= 2500 ? 500 : n <= 5000 ? 400 : n <= 7500 ? 300 : 200);

const clip = (x: number) => (x > CLIP ? CLIP : x < -CLIP ? -CLIP : x);

/**
 * UMAP's layout: a given start or a random one in [−10, 10), then stochastic gradient descent on the fuzzy graph's edges with
 * negative sampling. umap-js's optimizeLayout, its operations and random draws in the same order (so the same graph
 * and generator give its embedding bit for bit), on one flat Float64Array instead of arrays of arrays.
 * Returns [n, dims] row-major.
 */
export function optimizeLayout(graph: FuzzyGraph, s: LayoutSettings, random: Rng): Float64Array {
  const { n } = graph;
  const dims = s.dims;
  const nEpochs = s.epochs || epochsFor(n);
  let graphMax = 0;
  for (const w of graph.weights) if (graphMax < w) graphMax = w;
  // Edges too weak to be sampled once in the run are dropped, as umap-js does.
  const keep: number[] = [];
  for (let e = 0; e < graph.weights.length; e++) if (!(graph.weights[e] < graphMax / nEpochs)) keep.push(e);
  const m = keep.length;
  const head = new Int32Array(m);
  const tail = new Int32Array(m);
  let wMax = 0;
  for (const e of keep) if (graph.weights[e] > wMax) wMax = graph.weights[e];
  const epochsPerSample = new Float64Array(m);
  keep.forEach((e, i) => {
    tail[i] = graph.rows[e];
    head[i] = graph.cols[e];
    const samples = (graph.weights[e] / wMax) * nEpochs;
    epochsPerSample[i] = samples > 0 ? nEpochs / samples : -1;
  });
  const emb = s.start ? Float64Array.from(s.start) : new Float64Array(n * dims);
  if (!s.start) for (let i = 0; i < emb.length; i++) emb[i] = random() * 20 + -10;
  const epochsPerNegative = epochsPerSample.map((e) => e / NEGATIVE_SAMPLE_RATE);
  const nextSample = epochsPerSample.slice();
  const nextNegative = epochsPerNegative.slice();
  const { a, b } = findABParams(1.0, s.minDist);
  const kernel = (s.kernel ?? tableKernel)(a, b);
  const initialAlpha = 1.0;
  let alpha = initialAlpha;
  for (let epoch = 0; epoch < nEpochs; epoch++) {
    layoutEpoch(emb, dims, n, head, tail, epochsPerSample, nextSample, epochsPerNegative, nextNegative, epoch, alpha, kernel, random);
    alpha = initialAlpha * (1.0 - epoch / nEpochs);
  }
  return emb;
}

/** One epoch of umap-js's optimizeLayoutStep (repulsion strength 1, moving both ends of an edge). */
function layoutEpoch(
  emb: Float64Array,
  dims: number,
  n: number,
  head: Int32Array,
  tail: Int32Array,
  epochsPerSample: Float64Array,
  nextSample: Float64Array,
  epochsPerNegative: Float64Array,
  nextNegative: Float64Array,
  epoch: number,
  alpha: number,
  kernel: LayoutKernel,
  random: Rng,
): void {
  for (let i = 0; i < epochsPerSample.length; i++) {
    if (nextSample[i] > epoch) continue;
    const j = head[i];
    const cur = j * dims;
    const oth = tail[i] * dims;
    let dist2 = 0;
    for (let d = 0; d < dims; d++) {
      const t = emb[cur + d] - emb[oth + d];
      dist2 += t * t;
    }
    const coeff = dist2 > 0 ? kernel.attract(dist2) : 0;
    for (let d = 0; d < dims; d++) {
      const g = clip(coeff * (emb[cur + d] - emb[oth + d]));
      emb[cur + d] += g * alpha;
      emb[oth + d] += -g * alpha;
    }
    nextSample[i] += epochsPerSample[i];
    const negatives = Math.floor((epoch - nextNegative[i]) / epochsPerNegative[i]);
    for (let p = 0; p < negatives; p++) {
      const kk = Math.floor(random() * n);
      const neg = kk * dims;
      let d2 = 0;
      for (let d = 0; d < dims; d++) {
        const t = emb[cur + d] - emb[neg + d];
        d2 += t * t;
      }
      let c = 0.0;
      if (d2 > 0.0) c = kernel.repel(d2);
      else if (j === kk) continue;
      for (let d = 0; d < dims; d++) emb[cur + d] += (c > 0.0 ? clip(c * (emb[cur + d] - emb[neg + d])) : 4.0) * alpha;
    }
    nextNegative[i] += negatives * epochsPerNegative[i];
  }
}
