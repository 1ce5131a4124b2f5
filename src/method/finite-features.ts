import { ProbeError } from '../errors.ts';
import type { Matrix } from '../util/matrix.ts';

/**
 * Throws on NaN/Inf features, which would otherwise become a silently wrong score: the one check of every method that
 * reads features (probes, clustering, fine-tuning's head and frozen prefix). `rowName` names a row's image.
 */
export function assertFinite(m: Matrix, what: string, rowName?: (row: number) => string): void {
  for (let i = 0; i < m.data.length; i++) {
    if (!Number.isFinite(m.data[i])) {
      const row = Math.floor(i / m.cols);
      const at = rowName ? `image ${rowName(row)} (row ${row})` : `row ${row}`;
      throw new ProbeError(`${what} features hold a non-finite value (${m.data[i]}) at ${at}, column ${i % m.cols}; the backbone's output is not usable on it (check the card's mean/std and the model).`);
    }
  }
}
