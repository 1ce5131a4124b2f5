import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ReprobeError } from '../../src/errors.ts';
import { reportMarkdown } from '../../src/report/markdown.ts';
import { buildReport } from '../../src/report/sections.ts';
import { writeReport } from '../../src/report/write-report.ts';
import { ensureResultsDir, latestPerCell, readStore, writeJobRecords, writeView } from '../../src/results/job-store.ts';
import type { CellRecord } from '../../src/results/record.ts';
import { tempDir } from '../helpers.ts';
import { classificationScores } from '../../src/metrics/scores.ts';
import { parseRecordLine } from '../../src/results/record-schema.ts';

const V0 = join(import.meta.dirname, '..', 'fixtures', 'store-v0');

/** The fixture's record lines as the old code wrote them, read as plain JSON. */
const v0Lines = () => readdirSync(join(V0, 'records')).flatMap((f) => readFileSync(join(V0, 'records', f), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>));

test('a store written by the code before the record schema (version 0) is read whole and migrated to version 1', async () => {
  const { records, problems } = await readStore(V0);
  assert.deepEqual(problems, []);
  const old = v0Lines();
  assert.equal(records.length, old.length);
  assert.equal(records.length, 8);
  for (const r of records) {
    const was = old.find((o) => o.cell_id === r.cell_id_v0 && o.run_id === r.run_id)!;
    assert.ok(was, `${r.cell_id_v0} kept as cell_id_v0`);
    assert.equal(r.schema_version, 1);
    assert.equal(r.value, was.value);
    // Made before the dirty flag existed: unknown, not clean.
    assert.deepEqual([r.versions.dirty, r.versions.diff_sha256, r.versions.commit], [null, null, (was.versions as { commit: string }).commit]);
  }
  // Every (method, seed) is its own cell, and the report averages the two seeds: n = 2.
  assert.equal(new Set(latestPerCell(records).map((r) => r.cell_id)).size, 8);
  const md = reportMarkdown(buildReport(latestPerCell(records), { curves: new Map(), svgs: new Map(), predictions: new Map() }, V0));
  const knn = old.filter((o) => o.method === 'knn').map((o) => o.value as number);
  const mean = (knn[0] + knn[1]) / 2;
  assert.ok(md.includes(`${mean.toFixed(4)} ± ${(Math.abs(knn[0] - knn[1]) / Math.SQRT2).toFixed(4)} (n=2)`), md);
});

test('a line that is not a valid record is reported by file and line, never used in part; the other lines are read', async () => {
  const dir = tempDir();
  cpSync(V0, dir, { recursive: true });
  const file = join(dir, 'records', readdirSync(join(dir, 'records'))[0]);
  const [a, b] = readFileSync(file, 'utf8').trim().split('\n');
  const noValue = JSON.stringify({ ...(JSON.parse(b) as object), value: 'high' });
  writeFileSync(file, [a, '{"method":"knn","val', noValue].join('\n') + '\n');
  const { records, problems } = await readStore(dir);
  assert.equal(records.length, 7);
  assert.deepEqual(
    problems.map((p) => [p.file, p.line]),
    [
      [file, 2],
      [file, 3],
    ],
  );
  assert.match(problems[0].error, /not JSON/);
  assert.match(problems[1].error, /^value: /);
});

test('a record that does not fit the schema is refused before it is written; the views are written from the store', async () => {
  const dir = tempDir();
  const [good] = (await readStore(V0)).records;
  const bad = { ...good, seed: 'zero' } as unknown as CellRecord;
  await assert.rejects(writeJobRecords(dir, 'bad', [bad]), /does not fit the record schema: seed: /);
  assert.deepEqual(readdirSync(dir).filter((f) => f === 'records'), [], 'nothing written');
  const copy = tempDir();
  cpSync(V0, copy, { recursive: true });
  // probe.jsonl as a view: exactly the probe records of the store, whatever the old log held.
  writeFileSync(join(copy, 'probe.jsonl'), 'a stale log line\n');
  const out = await writeView(copy, join(copy, 'probe.jsonl'), (r) => r.task === 'probe');
  assert.equal(out.count, 4);
  const view = readFileSync(join(copy, 'probe.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as CellRecord);
  assert.deepEqual(view.map((r) => r.value).sort(), v0Lines().filter((o) => o.task === 'probe').map((o) => o.value).sort());
});

test('a results folder that cannot be a folder is one clear error before any work', async () => {
  const file = join(tempDir(), 'a-file');
  writeFileSync(file, 'x');
  await assert.rejects(ensureResultsDir(join(file, 'results')), (e: unknown) => e instanceof ReprobeError && /Cannot write results in .* \((ENOTDIR|EEXIST)[:)]/.test(e.message));
});

test('hand-edited records (7, -5, "0.9", 1e999, no backbone, ARI 1.5, a value unlike its metric\'s field) are refused by file and line and not reported', async () => {
  const dir = tempDir();
  cpSync(V0, dir, { recursive: true });
  const names = readdirSync(join(dir, 'records')).sort();
  const edits: [string, (r: Record<string, unknown>) => string][] = [
    ['value 7', (r) => JSON.stringify({ ...r, value: 7 })],
    ['value -5', (r) => JSON.stringify({ ...r, value: -5 })],
    ['value "0.9"', (r) => JSON.stringify({ ...r, value: '0.9' })],
    // JSON.stringify cannot write 1e999: the text a hand edit leaves.
    ['value 1e999', (r) => JSON.stringify({ ...r, value: 0.5 }).replace('"value":0.5', '"value":1e999')],
    ['no backbone', (r) => JSON.stringify(Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'backbone')))],
    ['val_accuracy 1.5', (r) => JSON.stringify({ ...r, val_accuracy: 1.5 })],
    // In range, but not the record's own accuracy: a value edited alone, or written twice in one line (JSON.parse keeps the last).
    ['value 0.99 beside its accuracy', (r) => JSON.stringify({ ...r, value: 0.99 })],
    ['value twice', (r) => JSON.stringify(r).replace(/"value":([^,]+),/, '"value":$1,"value":0.98,')],
  ];
  const edited: string[] = [];
  // The first line of each of the first files is edited; one file gets two edits (its two lines).
  let e = 0;
  for (const name of names) {
    const file = join(dir, 'records', name);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const out = lines.map((l) => (e < edits.length ? (edited.push(`${file}:${edits[e][0]}`), edits[e++][1](JSON.parse(l) as Record<string, unknown>)) : l));
    writeFileSync(file, out.join('\n') + '\n');
  }
  assert.equal(e, edits.length, 'every edit placed');
  const { records, problems } = await readStore(dir);
  assert.equal(problems.length, edits.length, problems.map((p) => p.error).join('\n'));
  assert.equal(records.length, 8 - edits.length);
  assert.ok(records.every((r) => r.value >= 0 && r.value <= 1));
  const md = reportMarkdown(buildReport(latestPerCell(records), { curves: new Map(), svgs: new Map(), predictions: new Map() }, dir));
  assert.doesNotMatch(md, /7\.0000|-5\.0000|Infinity/);
  // The warning names each file (with its line).
  for (const p of problems) assert.ok(edited.some((x) => x.startsWith(p.file)), p.file);
});

test('a report of a store whose every record is refused names the refused files, not "run probe first"', async () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'records'));
  writeFileSync(join(dir, 'records', 'torn.jsonl'), '{"method":"knn","val');
  await assert.rejects(writeReport(dir, ['md'], join(dir, 'report')), (e: unknown) => e instanceof ReprobeError && /No valid records .*1 file refused \(.*torn\.jsonl:1: not a valid record/.test(e.message));
});

test("an iWildCam record reads back: its value is WILDS' macro-F1 over the true classes, its macro_f1 field scikit-learn's over truth and predictions", () => {
  // A prediction of a class absent from the truth (class 2): by hand, F1 over classes {0, 1} = (2/3 + 1) / 2 = 0.8333…;
  // over {0, 1, 2} = (2/3 + 1 + 0) / 3 = 0.5555….
  const scores = classificationScores([0, 0, 1, 1], [0, 2, 1, 1], 3, 'macro_f1');
  assert.ok(Math.abs(scores.value - 5 / 6) < 1e-12 && Math.abs(scores.macro_f1 - 5 / 9) < 1e-12);
  const line = { ...v0Lines()[0], ...scores, schema_version: 1, versions: { ...(v0Lines()[0].versions as object), dirty: false, diff_sha256: null } };
  const out = parseRecordLine(JSON.stringify(line));
  assert.ok('record' in out, 'error' in out ? out.error : '');
});
