/**
 * Contract tests: they loop over every registry (cards, datasets, probes, methods, commands), so a new entry is tested
 * without anyone writing a test for it, and fails here until it states what it must.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { z } from 'zod';
import { CARDS } from '../../src/backbones/cards/index.ts';
import { openBackbone } from '../../src/backbones/registry.ts';
import { featureName, isKerasCard } from '../../src/backbones/types.ts';
import { loadMnist } from '../../src/data/mnist.ts';
import { DATASETS, loadDataset } from '../../src/data/registry.ts';
import { studyTable } from '../../src/data/study-table.ts';
import { ReprobeError } from '../../src/errors.ts';
import { extractFeatures } from '../../src/features/extract.ts';
import { COMMANDS } from '../../src/cli/commands.ts';
import { helpText } from '../../src/cli/main.ts';
import { ClusterJobSchema, FinetuneJobSchema, JOB_DEFAULTS, ProbeJobSchema, ZeroshotJobSchema } from '../../src/jobs/job-schema.ts';
import { METHODS } from '../../src/jobs/methods.ts';
import { accuracy } from '../../src/metrics/classification.ts';
import { PROBES } from '../../src/probes/registry.ts';
import { defaultsOf } from '../../src/util/options.ts';
import { EXPECTED } from '../fixtures/card-expectations.ts';
import { blobs, tempDir } from '../helpers.ts';
import { takeRows } from '../../src/util/matrix.ts';

test('every card states an output, feature size and input size that match its model (stated apart from the card)', () => {
  assert.deepEqual(CARDS.map((c) => c.id).sort(), Object.keys(EXPECTED).sort(), 'every card has an entry in card-expectations.ts and no other');
  for (const card of CARDS) {
    const want = EXPECTED[card.id];
    assert.equal(isKerasCard(card) ? card.tap : card.output.name, want.output, card.id);
    assert.equal(card.featureDim, want.dim, card.id);
    assert.deepEqual([card.input.height, card.input.width], [want.size, want.size], card.id);
    if (card.preprocess.resize === 'shorter') assert.ok((card.preprocess.resizeTo ?? 0) >= want.size, `${card.id}: the crop fits in the resize`);
  }
});

test('every embedded card runs offline and gives the feature size its model has', async () => {
  const digits = (await loadMnist()).samples.slice(0, 2);
  process.env.REPROBE_HOME = tempDir();
  for (const card of CARDS.filter(isKerasCard)) {
    const bb = await openBackbone(card.id, { runtime: 'auto' });
    const f = (await extractFeatures(bb, digits, { batchSize: 2 })).features;
    await bb.dispose();
    assert.deepEqual([f.rows, f.cols], [2, EXPECTED[card.id].dim], card.id);
    assert.equal(featureName(card), EXPECTED[card.id].output);
  }
});

test('every dataset entry describes itself; a missing copy is one clear line naming where it goes', async () => {
  const names = [...DATASETS.keys()];
  assert.equal(new Set(names).size, names.length);
  for (const name of Object.keys(studyTable())) assert.ok(DATASETS.has(name), `the study table's ${name} is registered`);
  const empty = tempDir();
  for (const entry of DATASETS.values()) {
    assert.ok(entry.summary.length > 10, entry.name);
    if (entry.dirs) assert.ok(entry.layout?.includes('<data-root>'), `${entry.name}: its layout says where it goes`);
    for (const d of entry.downloads ?? []) assert.match(d.url, /^https?:\/\//, entry.name);
    if (entry.name === 'mnist') continue;
    const spec = entry.arg ? `${entry.name}:${join(empty, 'missing')}` : entry.name;
    await assert.rejects(loadDataset(spec, empty), (e: unknown) => e instanceof ReprobeError && !e.message.includes('\n'), entry.name);
  }
});

test('every method owns its options: defaults parse, each option has one flag, flags and keys are unique across the jobs (or one shared schema)', () => {
  const jobs = { ...ProbeJobSchema.shape, ...FinetuneJobSchema.shape, ...ClusterJobSchema.shape, ...ZeroshotJobSchema.shape };
  const defaults: Record<string, unknown> = { ...JOB_DEFAULTS, ...FinetuneJobSchema.parse({}), ...ClusterJobSchema.parse({}), ...ZeroshotJobSchema.parse({}) };
  const base = Object.keys(jobs).filter((k) => ![...METHODS.values()].some((m) => k in m.options));
  const seenKeys = new Set(base);
  const seenFlags = new Set<string>();
  const owners = new Map<string, { schema: unknown; flag: unknown }>();
  for (const m of METHODS.values()) {
    assert.deepEqual(Object.keys(m.flags).sort(), Object.keys(m.options).sort(), `${m.name}: a flag per option`);
    for (const [key, f] of Object.entries(m.flags)) {
      // Two methods may take one option only as the very same schema and flag (cluster and its k-means baseline).
      const shared = owners.get(key);
      if (shared) {
        assert.ok(shared.schema === m.options[key] && shared.flag === f, `${m.name}: option ${key} is taken`);
        continue;
      }
      owners.set(key, { schema: m.options[key], flag: f });
      assert.ok(!seenKeys.has(key), `${m.name}: option ${key} is taken`);
      assert.ok(!seenFlags.has(f.flag), `${m.name}: flag --${f.flag} is taken`);
      seenKeys.add(key);
      seenFlags.add(f.flag);
      assert.deepEqual(defaults[key], z.object(m.options).parse({})[key], `${m.name}: the job's default is the method's`);
    }
  }
  for (const p of PROBES.values()) assert.ok(METHODS.has(p.name), `probe ${p.name} is a method`);
});

test('every probe separates generated classes with its defaults, deterministically, with or without a val split', async () => {
  const { x, y } = blobs(4, 30, 16, 9);
  const rows = (from: number, to: number) => [...Array(120).keys()].filter((i) => i % 30 >= from && i % 30 < to);
  const part = (idx: number[]) => ({ x: takeRows(x, idx), y: Int32Array.from(idx, (i) => y[i]) });
  const [tr, va, te] = [part(rows(0, 15)), part(rows(15, 20)), part(rows(20, 30))];
  for (const p of PROBES.values()) {
    const input = { train: tr.x, trainLabels: tr.y, val: va.x, valLabels: va.y, test: te.x, testLabels: te.y, numClasses: 4 };
    const a = await p.run(input, defaultsOf(p.options));
    const b = await p.run(input, defaultsOf(p.options));
    assert.equal(a.testPred.length, te.y.length, p.name);
    assert.equal(a.testScores.length, te.y.length * 4, p.name);
    assert.deepEqual(a.testPred, b.testPred, `${p.name}: deterministic`);
    assert.ok(accuracy(te.y, a.testPred) > 0.9, `${p.name}: accuracy ${accuracy(te.y, a.testPred)}`);
    const noVal = await p.run({ ...input, val: takeRows(x, []), valLabels: new Int32Array(0) }, defaultsOf(p.options));
    assert.ok(Number.isNaN(noVal.valAccuracy), `${p.name}: no val accuracy without val`);
  }
});

test('every command has help with examples', async () => {
  // In this process (the CLI's --help is this text: bundle.test.ts, help-wrap.test.ts): a CLI start per command cost ~1 CPU s.
  for (const c of COMMANDS) assert.match(await helpText([c.name], null), /Examples:/, c.name);
});
