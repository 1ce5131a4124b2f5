import { join } from 'node:path';
import { ConfigError } from '../errors.ts';
import { RECORDS_DIR } from './job-store.ts';
import { predictionsPath, readPredictions, type PredictionsDoc } from './predictions.ts';
import type { CellRecord } from './record.ts';

/** The newest record whose cell id starts with `prefix`; refuses no match or a prefix of several cells, in one line. */
export function recordOfCell(records: readonly CellRecord[], prefix: string, resultsDir: string): CellRecord {
  const hits = records.filter((r) => r.cell_id.startsWith(prefix));
  const cells = [...new Set(hits.map((r) => r.cell_id))];
  if (cells.length !== 1) throw new ConfigError(`${cells.length ? `${cells.length} cells start with "${prefix}" (${cells.slice(0, 5).join(', ')})` : `No record of cell "${prefix}" in ${join(resultsDir, RECORDS_DIR)}`}; give more of its cell_id.`);
  return hits.reduce((a, r) => (a.time <= r.time ? r : a));
}

/** A record's stored per-image predictions; a record written before they were kept is one line saying so. */
export async function cellPredictions(r: CellRecord, resultsDir: string): Promise<PredictionsDoc> {
  if (typeof r.predictions !== 'string') throw new ConfigError(`The record of cell ${r.cell_id} (${r.backbone} ${r.method} on ${r.dataset}) keeps no predictions; it was written before they were kept. Run it again.`);
  return readPredictions(predictionsPath(r.predictions, resultsDir));
}
