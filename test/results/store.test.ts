import assert from 'node:assert/strict';
import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ReprobeError } from '../../src/errors.ts';
import type { CellRecord } from '../../src/results/record.ts';
import { appendRecords, ensureResultsDir } from '../../src/results/store.ts';
import { tempDir } from '../helpers.ts';

const record = (value: number) => ({ method: 'knn', value }) as unknown as CellRecord;

test('a torn last line (a crash, a full disk) is moved aside, not glued to the next record', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'probe.jsonl'), '{"method":"lr","value":0.5}\n{"method":"knn","val');
  const out = await appendRecords(dir, [record(0.25), record(0.75)], 'probe.jsonl');
  const lines = readFileSync(out.path, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { value: number });
  assert.deepEqual(lines.map((l) => l.value), [0.5, 0.25, 0.75]);
  assert.ok(out.isolated && existsSync(out.isolated));
  assert.equal(readFileSync(out.isolated, 'utf8'), '{"method":"knn","val');
  // A whole file is left alone.
  assert.equal((await appendRecords(dir, [record(1)], 'probe.jsonl')).isolated, undefined);
});

test('a full disk appends nothing and is one clear error', { skip: existsSync('/dev/full') ? false : 'needs /dev/full' }, async () => {
  const dir = tempDir();
  symlinkSync('/dev/full', join(dir, 'probe.jsonl'));
  await assert.rejects(appendRecords(dir, [record(0.5)], 'probe.jsonl'), (e: unknown) => e instanceof ReprobeError && /ENOSPC: disk full.*nothing was appended/.test(e.message));
});

test('a results folder that cannot be a folder is one clear error before any work', async () => {
  const file = join(tempDir(), 'a-file');
  writeFileSync(file, 'x');
  await assert.rejects(ensureResultsDir(join(file, 'results')), (e: unknown) => e instanceof ReprobeError && /Cannot write results in .* \((ENOTDIR|EEXIST)\)/.test(e.message));
});
