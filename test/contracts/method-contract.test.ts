/**
 * The method contract end to end: a method is its folder (the object below) and one registry line, and the report
 * shows it from its records alone; report/ names no method.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { getMethod, METHODS, presentationOf } from '../../src/jobs/methods.ts';
import { runCells } from '../../src/jobs/run-cells.ts';
import type { FeaturesMethod, Method } from '../../src/method/contract.ts';
import { CLASSIFICATION_FIELDS } from '../../src/method/record-fields.ts';
import { writeReport } from '../../src/report/write-report.ts';
import { parseRecordLine } from '../../src/results/record-schema.ts';
import { z } from 'zod';
import { createRequire } from 'node:module';
import type { Argv } from 'yargs';
import { COMMANDS, methodCommands } from '../../src/cli/commands.ts';
import { pickOptions } from '../../src/util/options.ts';
import { catsAndDogs, tempDir } from '../helpers.ts';
import { fixtureRecord, writeFixtureStore } from '../report/fixture-store.ts';

const NCM_OPTIONS = { ncmShrink: z.number().min(0).max(1).default(0) };

/** A toy method as a new folder would hold it: nearest class mean on the features, shown as `ncm`, before kNN, run by its own command. */
const nearestMean: FeaturesMethod = {
  name: 'nearest-mean',
  task: 'probe',
  command: 'nearest-mean',
  needs: 'features',
  summary: 'the class whose mean training feature is nearest (squared Euclidean)',
  options: NCM_OPTIONS,
  flags: { ncmShrink: { flag: 'ncm-shrink', cli: 'number', describe: 'share of the overall mean mixed into each class mean' } },
  presentation: { column: 'ncm', order: 15, family: 'classification', shots: true },
  // Its record fields: the shared accuracy (declared once in src/method/) and its own.
  recordFields: { accuracy: CLASSIFICATION_FIELDS.accuracy, n_means: z.number().int().positive().describe('class means compared') },
  async run(cell, options) {
    const { ncmShrink } = pickOptions(NCM_OPTIONS, options);
    const { x, y } = cell.train;
    const K = cell.dataset.classes.length;
    const means = Array.from({ length: K }, () => new Float64Array(x.cols));
    const counts = new Array<number>(K).fill(0);
    for (let i = 0; i < x.rows; i++) {
      counts[y[i]]++;
      for (let j = 0; j < x.cols; j++) means[y[i]][j] += x.data[i * x.cols + j];
    }
    const overall = Array.from({ length: x.cols }, (_, j) => means.reduce((a, m) => a + m[j], 0) / Math.max(1, x.rows));
    means.forEach((m, k) => m.forEach((v, j) => (m[j] = (1 - ncmShrink) * (v / Math.max(1, counts[k])) + ncmShrink * overall[j])));
    return cell.tests.map(({ name, part }) => {
      let right = 0;
      for (let i = 0; i < part.x.rows; i++) {
        const d = means.map((m) => m.reduce((a, v, j) => a + (part.x.data[i * part.x.cols + j] - v) ** 2, 0));
        if (d.indexOf(Math.min(...d)) === part.y[i]) right++;
      }
      return { eval_split: name, metric: 'accuracy', value: right / part.x.rows, fit_seconds: 0, fields: { accuracy: right / part.x.rows, n_means: K } };
    });
  },
};

test('a new method is its folder and one registry line: the runner records its presentation and the report gives it its own column, in its order', async () => {
  const registry = METHODS as Map<string, Method>;
  registry.set(nearestMean.name, nearestMean); // the one registry line
  try {
    process.env.REPROBE_HOME = tempDir();
    const results = tempDir();
    const data = await catsAndDogs(join(tempDir(), 'pets'), 4);
    const job = { backbones: ['mobilenet-v2'], dataset: `folder:${data}`, split: { protocol: 'shots' as const, shots: 2, valPerClass: 1, seed: 0 }, open: { runtime: 'auto' as const, threads: 1 }, batchSize: 8, cache: true, resultsDir: results };
    const out = await runCells({ ...job, methods: [getMethod('knn'), getMethod('nearest-mean')], options: { knnK: [1], knnVote: 'weighted', ncmShrink: 0 } });
    const toy = out.records.find((r) => r.method === 'nearest-mean')!;
    assert.deepEqual(toy.presentation, nearestMean.presentation, 'the record carries its method’s presentation');
    assert.equal(toy.n_means, 2, 'its declared field is written');
    const { markdown } = await writeReport(results, ['md'], join(results, 'report'), undefined, { presentationOf });
    const header = markdown.split('\n').find((l) => l.startsWith('| model |'));
    // Its declared stem and order (15: before kNN's 20), not its name at the end of the row.
    assert.match(header ?? '', /^\| model \| ncm_2 \| knn_2 \| performance order \|/, markdown);
  } finally {
    registry.delete(nearestMean.name);
  }
});

test('a method whose command has no file of its own gets one from its options: its flags in --help, its records and column printed', async () => {
  const yargs = createRequire(import.meta.url)('yargs/yargs') as (args: string[]) => Argv;
  const commands = methodCommands([...METHODS.values(), nearestMean]);
  assert.deepEqual(commands.map((c) => c.name), ['probe', 'finetune', 'cluster', 'zeroshot', 'nearest-mean']);
  assert.deepEqual(commands.slice(0, 4), COMMANDS.slice(0, 4), 'the registry names the bespoke method commands, in its order');
  const command = commands.at(-1)!;
  const help = await new Promise<string>((resolve, reject) => command.register(yargs([]).wrap(null)).exitProcess(false).parse(['nearest-mean', '--help'], {}, (err, _argv, output) => (err ? reject(err) : resolve(output))));
  assert.match(help, /--ncm-shrink +share of the overall mean mixed into each class mean \[default: 0\]/);
  process.env.REPROBE_HOME = tempDir();
  const data = await catsAndDogs(join(tempDir(), 'pets'), 8);
  const results = tempDir();
  const args = ['nearest-mean', '-b', 'mobilenet-v2', '-d', `folder:${data}`, '-k', '2', '--val-per-class', '1', '--ncm-shrink', '1', '--results-dir', results];
  const printed: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string) => printed.push(String(chunk)) > 0) as typeof process.stdout.write;
  try {
    await command.register(yargs(args)).strict().parseAsync(args);
  } finally {
    process.stdout.write = write;
  }
  const text = printed.join('');
  // With the means shrunk all the way every class is as near: the first class wins, half of the 5 + 5 test images
  // (unshrunk, the red and the blue class are told apart: 1.0000).
  assert.match(text, /mobilenet-v2 +nearest-mean +test +accuracy +0\.5000/, text);
  assert.match(text, /^model +ncm_2\n/m, text);
  assert.match(readFileSync(join(results, 'nearest-mean.jsonl'), 'utf8'), /"method":"nearest-mean"/, 'its view, named for its command');
});

test('records written before they carried a presentation get their method’s when read: the same report', async () => {
  const [withIt, without] = [tempDir(), tempDir()];
  await writeFixtureStore(withIt);
  await writeFixtureStore(without);
  for (const f of readdirSync(join(without, 'records'))) {
    const path = join(without, 'records', f);
    const lines = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(lines.every((l) => l.presentation), `${f}: the fixture writes presentations`);
    writeFileSync(path, lines.map(({ presentation: _, ...r }) => JSON.stringify(r)).join('\n') + '\n');
  }
  const md = async (dir: string) => (await writeReport(dir, ['md'], join(dir, 'report'), undefined, { presentationOf, galleries: false })).markdown.split(dir).join('<results>');
  const a = await md(withIt);
  assert.match(a, /\| ft_10 \| knn_10 \| knn_100 \| lr_10 \| lr_100 \|/, 'fine-tuning shown as ft, first');
  assert.equal(await md(without), a);
});

test('a record whose presentation does not fit its schema is refused by field', () => {
  const good = { ...fixtureRecord({ dataset: 'mnist', backbone: 'b', method: 'knn', shots: 2, value: 0.5 }, 0), cell_id: 'c' };
  assert.ok('record' in parseRecordLine(JSON.stringify(good)));
  const got = parseRecordLine(JSON.stringify({ ...good, presentation: { ...good.presentation, family: 'regression' } }));
  assert.ok('error' in got && got.error.startsWith('presentation.family'), JSON.stringify(got));
});

test('a method returning a field its recordFields do not declare, or of another type, is refused when the record is written, by method and field', async () => {
  process.env.REPROBE_HOME = tempDir();
  const data = await catsAndDogs(join(tempDir(), 'pets'), 4);
  const run = async (fields: Record<string, unknown>) => {
    const toy: FeaturesMethod = { ...nearestMean, async run(cell, options) {
      const [first, ...rest] = await nearestMean.run(cell, options);
      return [{ ...first, fields: { ...first.fields, ...fields } }, ...rest];
    } };
    const results = tempDir();
    const job = { backbones: ['mobilenet-v2'], dataset: `folder:${data}`, split: { protocol: 'shots' as const, shots: 2, valPerClass: 1, seed: 0 }, open: { runtime: 'auto' as const, threads: 1 }, batchSize: 8, cache: true, resultsDir: results };
    await runCells({ ...job, methods: [toy], options: { ncmShrink: 0 } });
    return readdirSync(join(results, 'records'));
  };
  assert.equal((await run({})).length, 1, 'as declared: written');
  await assert.rejects(run({ ncm_distance: 'euclidean' }), /^Error: method nearest-mean returns record fields that do not fit its recordFields: ncm_distance: not declared/);
  await assert.rejects(run({ n_means: '2' }), /^Error: method nearest-mean returns record fields that do not fit its recordFields: n_means: .*number/);
  await assert.rejects(run({ accuracy: undefined }), /nearest-mean .*accuracy: /, 'a declared field left out');
  // Reading stays lenient: a store written with a field since dropped still reads.
  const old = { ...fixtureRecord({ dataset: 'mnist', backbone: 'b', method: 'knn', shots: 2, value: 0.5 }, 0), cell_id: 'c', dropped_field: 1 };
  assert.ok('record' in parseRecordLine(JSON.stringify(old)));
});

test('report/ names no method: no registered method name or column stem in its code (comments aside)', () => {
  const names = [...METHODS.values()].flatMap((m) => [m.name, m.presentation.column, ...(m.presentation.printed ? [m.presentation.printed] : [])]);
  // The clustering table keeps its CSV name from before (cluster_ranking.csv), its module name, and English.
  const allowed = [/'cluster_ranking'/g, /\.\/cluster-ranking\.ts/g, /cluster assignments/g];
  const dir = join(import.meta.dirname, '..', '..', 'src', 'report');
  const found: string[] = [];
  for (const f of readdirSync(dir)) {
    let code = readFileSync(join(dir, f), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
    for (const a of allowed) code = code.replace(a, '');
    for (const n of new Set(names)) {
      const m = new RegExp(`(?<![A-Za-z0-9])${n.replace(/[-]/g, '\\-')}(?![A-Za-z0-9])`).exec(code);
      if (m) found.push(`${f}: ${n} in …${code.slice(Math.max(0, m.index - 30), m.index + 30).replace(/\s+/g, ' ')}…`);
    }
  }
  assert.deepEqual(found, []);
});
