import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { findCard } from '../../src/backbones/cards/index.ts';
import { parsePublished, type PublishedCell } from '../../src/report/published.ts';

/*
 * The transcription (configs/published/study-001.csv, written by tools/transcribe-study.ts) against the study's own
 * text, read here without the tool's parser: every cell is found at its row and column, and every number printed in
 * the tables is a cell, as many times as it is printed.
 */
const DIR = join(import.meta.dirname, '..', '..', 'configs', 'published');
const TEXT = readFileSync(join(DIR, 'study-001-results.txt'), 'utf8');
const LINES = TEXT.split('\n');
const CELLS = parsePublished(readFileSync(join(DIR, 'study-001.csv'), 'utf8'), 'study-001.csv');
const ORIGINAL = '/work/shared/study/001_4f47f0629bfc559a.txt';

/** The header name the study prints for a cell's column (written forwards, from the cell's fields). */
function header(c: PublishedCell): string {
  const wilds = c.family.startsWith('drift');
  if (c.method === 'order') return 'performance order';
  if (c.method === 'best') return wilds ? 'Best OOD performance' : 'Best performance';
  const ft = c.method === 'finetune';
  if (c.set === 'id_minus_ood') return ft ? `${c.shots} diff` : `${c.method}_acc_diff_${c.shots}`;
  const set = { test: '', id_test: 'id', ood_test: 'ood' }[c.set];
  if (ft) return set ? `${c.shots} ${set}` : `${c.shots}`;
  return set ? `${c.method}_${c.shots}_${set}` : `${c.method}_${c.shots}`;
}

const split = (line: string) => line.replace(/( \|)+$/, '').split(' | ').map((s) => s.trim());

/** The tables of the text: header cells and row cells, with the dataset heading printed above them. */
const TABLES = LINES.flatMap((line, i) => {
  if (!LINES[i + 1]?.startsWith('---|')) return [];
  const rows: string[][] = [];
  for (let j = i + 2; LINES[j]?.includes(' | ') && !LINES[j + 1]?.startsWith('---|'); j++) rows.push(split(LINES[j]));
  const heading = LINES.slice(0, i).reverse().find((l) => /^[A-Za-z_0-9]+$/.test(l.trim()) && CELLS.some((c) => c.study_dataset === l.trim())) ?? '';
  return [{ line: i, header: split(line), rows, heading: heading.trim() }];
});

test('the excerpt is the study text, verbatim', { skip: !existsSync(ORIGINAL) && `${ORIGINAL} is not on this machine` }, () => {
  assert.ok(readFileSync(ORIGINAL, 'utf8').includes(TEXT.trimEnd()), 'configs/published/study-001-results.txt is lines 115-422 of the study');
});

test('every transcribed cell is printed in the study at its row and column', () => {
  let found = 0;
  for (const c of CELLS) {
    const where = `${c.table} row ${c.row} ${c.study_model} ${header(c)}`;
    if (c.family === 'cluster') {
      const name = c.set === 'all' ? c.study_dataset : `${c.study_dataset} ${c.set === 'id_test' ? 'ID' : 'OOD'}`;
      const t = TABLES.find((x) => x.header.includes(name))!;
      // Its header names the columns after the rank column.
      assert.equal(t.rows[c.row][t.header.indexOf(name) + 1], `${c.study_model} ${c.value}`, where);
      assert.equal(t.rows[c.row][0], String(c.row), `${where}: the rank column`);
    } else {
      const hits = TABLES.filter((t) => t.heading === c.study_dataset && t.header.includes(header(c)) && t.rows[c.row]?.[0] === c.study_model);
      assert.ok(hits.length > 0, `${where}: no such table`);
      assert.ok(hits.some((t) => t.rows[c.row][t.header.indexOf(header(c))] === (c.method === 'order' ? c.text : c.value)), `${where}: ${c.value || c.text} not printed there`);
    }
    found++;
  }
  assert.equal(found, 1523);
});

test('every number printed in the tables is transcribed, as many times as printed', () => {
  const printed = TABLES.flatMap((t) => t.rows.flatMap((r) => r.slice(1).map((s) => s.split(' ').at(-1)!))).sort();
  const transcribed = CELLS.map((c) => (c.method === 'order' ? c.text : c.value)).sort();
  assert.deepEqual(transcribed, printed);
});

test('per family: the cells of each table kind, and the models mapped to cards reprobe has', () => {
  const count = (f: string) => CELLS.filter((c) => c.family === f).length;
  // 6 probe tables: 5 × 13 models × 4 columns + Flowers 13 × 2; fine-tuning: (PatternNet, ISIC) 11 × 9, (DTD, UCM, FGVC) 11 × 8, Flowers 11 × 5.
  assert.deepEqual([count('probe'), count('finetune')], [5 * 52 + 26, 2 * 99 + 3 * 88 + 55]);
  // WILDS: 2 × 9 models × 12 probe columns; fine-tuning 2 × 9 × (14 + 2 + 7); clustering 10 columns × 9 ranks.
  assert.deepEqual([count('drift-probe'), count('drift-finetune'), count('cluster')], [2 * 108, 2 * 9 * 23, 90]);
  for (const c of CELLS) assert.ok(findCard(c.model), `${c.study_model} → ${c.model}: no such card`);
  const chance = new Map(CELLS.map((c) => [c.dataset, c.classes]));
  // The split tables' "Number of labels".
  assert.deepEqual(Object.fromEntries(chance), { 'fgvc-aircraft': 100, isic: 2, dtd: 47, flowers102: 102, ucmerced: 21, patternnet: 38, iwildcam: 87, fmow: 62 });
});

test('a bad published file is one line naming the row and field', () => {
  assert.throws(() => parsePublished('table,family\nx,y\n', 'f.csv'), /f\.csv: row 1: row: .*Columns: table, family/);
  const head = 'table,family,row,dataset,study_dataset,model,study_model,method,shots,set,metric,classes,kind,value,text';
  assert.throws(() => parsePublished(`${head}\nt,probe,0,d,D,m,M,knn,10,test,accuracy,2,measured,abc,\n`, 'f.csv'), /row 1: value "abc" is not a number/);
});
