import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seeded } from '../src/util/rng.ts';
import { matrix, type Matrix } from '../src/util/matrix.ts';

/** A fresh temp folder per call. */
export function tempDir(prefix = 'reprobe-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Gaussian blobs: `perClass` points per class around well-separated random centres in `dim` dimensions. */
export function blobs(classes: number, perClass: number, dim: number, seed: number, spread = 0.3): { x: Matrix; y: Int32Array } {
  const rng = seeded(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const centres = Array.from({ length: classes }, () => Array.from({ length: dim }, () => gauss() * 3));
  const x = matrix(classes * perClass, dim);
  const y = new Int32Array(classes * perClass);
  for (let c = 0; c < classes; c++)
    for (let i = 0; i < perClass; i++) {
      const r = c * perClass + i;
      y[r] = c;
      for (let d = 0; d < dim; d++) x.data[r * dim + d] = centres[c][d] + spread * gauss();
    }
  return { x, y };
}
