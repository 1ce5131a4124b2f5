/**
 * Transcribes the result tables of the study (configs/published/study-001-results.txt, lines 115-422 of
 * shared/study/001_4f47f0629bfc559a.txt verbatim) into configs/published/study-001.csv: one row per published cell,
 * the study's names kept beside reprobe's ids. test/report/published-tables.test.ts re-reads the text and finds
 * every number. Run: node --import tsx tools/transcribe-study.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const DIR = join(import.meta.dirname, '..', 'configs', 'published');
const SOURCE = 'shared/study/001_4f47f0629bfc559a.txt (sha256 f914d547642b1a7419cfdceeb0feb37f2500811264df9ea25e924a7d30b11fd5)';

/** The study's dataset names → reprobe's dataset ids and class counts (the study's split tables, "Number of labels"). */
const DATASETS: Record<string, [string, number]> = {
  Dataset_FGVCAircraft: ['fgvc-aircraft', 100],
  ISIC: ['isic', 2],
  Dataset_DTD: ['dtd', 47],
  Dataset_Flowers102: ['flowers102', 102],
  UCMerced_Dataset: ['ucmerced', 21],
  PatternNet_Dataset: ['patternnet', 38],
  IWildCamDataset: ['iwildcam', 87],
  FMoWDataset: ['fmow', 62],
};
/** The study's model names → reprobe's study cards (DINO: ViT-B/16, the "82.8 (B)" of its model table). */
const MODELS: Record<string, string> = {
  CLIP: 'clip-vit-b32',
  DINO: 'dino-vitb16',
  vit_b_16: 'vit-b16',
  vit_b_32: 'vit-b32',
  vit_l_16: 'vit-l16',
  vit_l_32: 'vit-l32',
  convnext_tiny: 'convnext-tiny',
  convnext_base: 'convnext-base',
  efficientnet_b2: 'efficientnet-b2',
  efficientnet_b6: 'efficientnet-b6',
  Beit: 'beit-base',
  ViTMAE: 'mae-base',
  data2vec: 'data2vec-base',
};
/** The text's paragraphs that open each family of tables. */
const FAMILIES: [string, string][] = [
  ['Result for classification experiment on general dataset', 'probe'],
  ['The result for fine tuning and comparation', 'finetune'],
  ['Result for classification experiment on Data Drift dataset', 'drift-probe'],
  ['For fine tuning the result is shown as below', 'drift-finetune'],
  ['Result for clustering experiment', 'cluster'],
];

interface Row {
  table: string;
  family: string;
  row: number;
  dataset: string;
  study_dataset: string;
  model: string;
  study_model: string;
  method: string;
  shots: number;
  set: string;
  metric: string;
  classes: number;
  kind: 'measured' | 'derived';
  value: string;
  text: string;
}

/** A column header → method, shots, set and kind: `knn_10`, `10`, `10 ood`, `knn_10_id`, `lr_acc_diff_100`, `10 diff`, `Best OOD performance`. */
function column(name: string, wilds: boolean): Pick<Row, 'method' | 'shots' | 'set' | 'kind'> {
  const plain = wilds ? 'ood_test' : 'test';
  if (name === 'performance order') return { method: 'order', shots: 0, set: plain, kind: 'derived' };
  if (/^Best( OOD)? performance$/.test(name)) return { method: 'best', shots: 0, set: plain, kind: 'derived' };
  let m = /^(knn|lr)_acc_diff_(\d+)$/.exec(name) ?? /^()(\d+) diff$/.exec(name);
  if (m) return { method: m[1] || 'finetune', shots: Number(m[2]), set: 'id_minus_ood', kind: 'derived' };
  m = /^(?:(knn|lr)_)?(\d+)(?:[_ ](id|ood))?$/.exec(name);
  if (!m) throw new Error(`unknown column "${name}"`);
  return { method: m[1] ?? 'finetune', shots: Number(m[2]), set: m[3] ? `${m[3]}_test` : 'test', kind: 'measured' };
}

const lines = readFileSync(join(DIR, 'study-001-results.txt'), 'utf8').split('\n');
const cells: Row[] = [];
let family = '';
let heading = '';
let part = 0;
for (let i = 0; i < lines.length; i++) {
  const line = lines[i];
  family = FAMILIES.find(([start]) => line.startsWith(start))?.[1] ?? family;
  if (DATASETS[line.trim()]) [heading, part] = [line.trim(), 0];
  if (!family || !/^\S.* \|/.test(line) || !lines[i + 1]?.startsWith('---|')) continue;
  const header = line.split(' | ').map((c) => c.replace(/ \|$/, '').trim());
  const body: string[][] = [];
  for (let j = i + 2; lines[j]?.includes(' | ') && !lines[j + 1]?.startsWith('---|'); j++) body.push(lines[j].split(' | ').map((c) => c.replace(/ \|$/, '').trim()));
  if (family === 'cluster') {
    // Columns are datasets (WILDS: one per test set), rows ranks; a cell is "model ARI".
    header.slice(0, -1).forEach((col, c) => {
      const [name, set] = col.split(' ');
      const [dataset, classes] = DATASETS[name];
      body.forEach((r, rank) => {
        const [model, value] = r[c + 1].split(' ');
        const s = set ? `${set.toLowerCase()}_test` : 'all';
        cells.push({ table: `cluster/${col}`, family, row: rank, dataset, study_dataset: name, model: MODELS[model], study_model: model, method: 'cluster', shots: 0, set: s, metric: 'ari', classes, kind: 'measured', value, text: '' });
      });
    });
  } else {
    const [dataset, classes] = DATASETS[heading];
    const wilds = family.startsWith('drift');
    // The WILDS fine-tuning table comes in three parts under one heading: values, best and order, differences.
    const table = `${family}${['', '-best', '-diff'][part++]}/${heading}`;
    body.forEach((r, row) =>
      header.slice(1).forEach((col, c) => {
        const k = column(col, wilds);
        const v = r[c + 1];
        const order = k.method === 'order';
        cells.push({ table, family, row, dataset, study_dataset: heading, model: MODELS[r[0]], study_model: r[0], ...k, metric: 'accuracy', classes, value: order ? '' : v, text: order ? v : '' });
      }),
    );
  }
}
const keys: (keyof Row)[] = ['table', 'family', 'row', 'dataset', 'study_dataset', 'model', 'study_model', 'method', 'shots', 'set', 'metric', 'classes', 'kind', 'value', 'text'];
for (const c of cells) for (const k of keys) if (c[k] === undefined) throw new Error(`${c.table} row ${c.row}: no ${k}`);
const csv = [`# The published cells of ${SOURCE}, transcribed by tools/transcribe-study.ts; values as printed.`, keys.join(','), ...cells.map((c) => keys.map((k) => String(c[k])).join(','))].join('\n') + '\n';
writeFileSync(join(DIR, 'study-001.csv'), csv);
const count = new Map<string, number>();
for (const c of cells) count.set(c.family, (count.get(c.family) ?? 0) + 1);
process.stdout.write(`${cells.length} cells: ${[...count].map(([f, n]) => `${f} ${n}`).join(', ')}\n`);
