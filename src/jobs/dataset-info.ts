import { copiesNote, crossLabelCopies, crossLabelNearCopies, nearCopiesNote, withinLabelCopies, withinNote } from '../data/content-digest.ts';
import { datasetEntry, loadDataset } from '../data/registry.ts';
import { dataRoot } from '../data/paths.ts';
import { drawSplit } from '../data/split.ts';
import { studyTable } from '../data/study-table.ts';
import type { Dataset } from '../data/types.ts';
import { DataError } from '../errors.ts';

/**
 * `reprobe datasets info`: classes, counts, pools and the study's split sizes of a dataset, or the layout it needs when
 * it is not there (`loaded` false: the lines still say what goes where), one line each.
 */
export async function datasetInfo(spec: string, root?: string): Promise<{ lines: string[]; loaded: boolean }> {
  const { entry } = datasetEntry(spec);
  const out: string[] = [`${entry.name}: ${entry.summary}`];
  if (entry.layout) out.push(`layout: ${entry.layout}`);
  if (entry.source) out.push(`source: ${entry.source}`);
  out.push(`data root: ${dataRoot(root)}`);
  let ds: Dataset | undefined;
  try {
    ds = await loadDataset(spec, root);
  } catch (err) {
    if (!(err instanceof DataError)) throw err;
    out.push(`not loaded: ${err.message}`);
  }
  if (ds) {
    const counts = ds.classes.map(() => 0);
    for (const s of ds.samples) counts[s.label]++;
    out.push(`images: ${ds.samples.length} in ${ds.classes.length} classes (per class ${Math.min(...counts)}..${Math.max(...counts)})`);
    out.push(`classes: ${ds.classes.slice(0, 12).join(', ')}${ds.classes.length > 12 ? `, … (${ds.classes.length - 12} more)` : ''}`);
    if (ds.pools) out.push(`sets: ${Object.entries(ds.pools).map(([k, v]) => `${k} ${v.length}`).join(', ')}`);
    if (ds.groups) out.push(`groups (${ds.groups.field}): ${ds.groups.names.join(', ')}`);
    if (ds.rejected?.length) out.push(`rejected rows: ${ds.rejected.length} (first: ${ds.rejected[0].id}: ${ds.rejected[0].reason})`);
    // The warnings probe and sweep give, before any run: copies across classes, and within a class (a split may leak them).
    const copies = await crossLabelCopies(ds);
    if (copies.length) out.push(`warning: ${copiesNote(copies)}`);
    const near = await crossLabelNearCopies(ds);
    if (near.length) out.push(`warning: ${nearCopiesNote(near)}`);
    const within = await withinLabelCopies(ds);
    if (within.length) out.push(`warning: ${withinNote(within)}`);
  }
  const row = studyTable()[entry.name];
  if (row) {
    out.push(`study pool: ${row.pool.size}${row.pool.valSize ? ` train + ${row.pool.valSize} val` : ''} (${row.pool.note})`);
    for (const [shots, sizes] of Object.entries(row.rows)) {
      let status = '';
      if (ds) {
        try {
          const s = drawSplit({ name: entry.name, labels: ds.samples.map((x) => x.label), classes: ds.classes, pools: ds.pools, official: ds.official }, { protocol: 'study', shots: Number(shots), seed: 0 }, { table: studyTable() });
          status = `  (this copy: ${s.train.length}:${s.val.length}:${Object.values(s.tests).map((t) => t.length).join('+')})`;
        } catch (err) {
          status = `  (not on this copy: ${(err as Error).message.replace(/^[^:]+: /, '').split(';')[0]})`;
        }
      }
      out.push(`  --protocol study --shots ${shots}: train:val${sizes.length === 3 ? ':test' : ''} ${sizes.join(':')}${status}`);
    }
  }
  return { lines: out, loaded: ds !== undefined };
}
