import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import { DataError } from '../errors.ts';

/** A CSV with a header row → one object per row (csv-parse: quoting, BOM and CRLF handled). */
export async function readCsv(path: string): Promise<Record<string, string>[]> {
  const text = await readFile(path, 'utf8').catch(() => {
    throw new DataError(`Cannot read "${path}".`);
  });
  try {
    return parse(text, { columns: true, skip_empty_lines: true, bom: true, trim: true, relax_column_count: true }) as Record<string, string>[];
  } catch (err) {
    throw new DataError(`"${path}" is not a valid CSV: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** The first of `names` that is a column of the rows, or a clear error. */
export function column(rows: Record<string, string>[], names: readonly string[], file: string): string {
  const cols = Object.keys(rows[0] ?? {});
  const hit = names.find((n) => cols.includes(n));
  if (!hit) throw new DataError(`"${file}" has no ${names.map((n) => `"${n}"`).join(' or ')} column; its columns: ${cols.join(', ')}.`);
  return hit;
}
