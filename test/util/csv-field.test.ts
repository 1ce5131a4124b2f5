import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tableCsv } from '../../src/report/csv.ts';
import { predictionsCsv } from '../../src/results/predictions.ts';
import { embeddingCsv } from '../../src/cluster/scatter.ts';
import { csvField } from '../../src/util/csv-field.ts';
import { tempDir } from '../helpers.ts';

const python = join(import.meta.dirname, '..', '..', '.venv-ref', 'bin', 'python');
const evil = ['=HYPERLINK("http://x","y")', '+1+2', '-2+3', '@SUM(A1)', '\tcmd', '\rcmd', 'plain, "quoted"'];

test('CSV fields a spreadsheet would run as formulas get a leading quote (OWASP); plain numbers stay numbers (hand-written expectations)', () => {
  assert.deepEqual(evil.map(csvField), ['"\'=HYPERLINK(""http://x"",""y"")"', "'+1+2", "'-2+3", "'@SUM(A1)", "'\tcmd", '"\'\rcmd"', '"plain, ""quoted"""']);
  assert.deepEqual(['-0.5', '+3', '1e-3', '-.25', 'cat'].map(csvField), ['-0.5', '+3', '1e-3', '-.25', 'cat']);
});

test('every CSV reprobe writes (report tables, predictions, embeddings) neutralises formulas in names, and pandas reads the numbers as numbers', (t) => {
  const classes = ['=cmd|calc', '@x', 'ok'];
  const table = tableCsv({ name: 't', title: 't', columns: [{ name: 'model' }, { name: 'acc', best: 'max' }], rows: [['-evil', { mean: 0.5, std: null, n: 1 }], ['ok', { mean: -0.25, std: null, n: 1 }]] });
  const preds = predictionsCsv({ kind: 'classes', ids: ['+id.png', 'b.png'], classes, truth: [0, 1], pred: [1, 2], k: 1, top_classes: [1, 2], top_scores: [0.9, -0.5] } as unknown as Parameters<typeof predictionsCsv>[0]);
  const emb = embeddingCsv([[-1.5, 2], [3, -4]], [0, 1], classes);
  for (const csv of [table, preds, emb]) for (const line of csv.split('\n')) for (const f of line.split(',')) assert.doesNotMatch(f, /^"?[=+@\t\r]/, `${line}`);
  if (!existsSync(python)) return t.skip('no .venv-ref (tools/make-venv.sh)');
  const dir = tempDir();
  const files = { table, preds, emb };
  for (const [k, v] of Object.entries(files)) writeFileSync(join(dir, `${k}.csv`), v);
  const script = `import pandas as pd, json, sys
out = {}
for k in ${JSON.stringify(Object.keys(files))}:
    df = pd.read_csv(sys.argv[1] + '/' + k + '.csv', keep_default_na=False)
    out[k] = {c: [v if isinstance(v, str) else float(v) for v in df[c].tolist()] for c in df.columns}
    out[k]['_dtypes'] = {c: str(df[c].dtype) for c in df.columns}
print(json.dumps(out))`;
  const r = spawnSync(python, ['-c', script, dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout) as Record<string, Record<string, unknown>>;
  assert.deepEqual(got.table.model, ["'-evil", 'ok']);
  assert.deepEqual(got.table.acc, [0.5, -0.25]);
  assert.deepEqual(got.preds.id, ["'+id.png", 'b.png']);
  assert.deepEqual(got.preds.true, ["'=cmd|calc", "'@x"]);
  assert.deepEqual(got.preds.top1_score, [0.9, -0.5]);
  assert.equal((got.preds._dtypes as Record<string, string>).top1_score, 'float64');
  assert.deepEqual(got.emb.umap1, [-1.5, 3]);
  assert.deepEqual(got.emb.class, ["'=cmd|calc", "'@x"]);
});
