import assert from 'node:assert/strict';
import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ReprobeError } from '../../src/errors.ts';
import type { CellRecord } from '../../src/results/record.ts';
import { appendRecords, appendWhole, ensureResultsDir } from '../../src/results/store.ts';
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
  // A whole record without its newline is kept, and the line ended.
  writeFileSync(out.path, readFileSync(out.path, 'utf8') + '{"value":9}');
  const kept = await appendRecords(dir, [record(3)], 'probe.jsonl');
  assert.equal(kept.isolated, undefined);
  assert.deepEqual(readFileSync(kept.path, 'utf8').trimEnd().split('\n').map((l) => (JSON.parse(l) as { value: number }).value), [0.5, 0.25, 0.75, 9, 3]);
  // A whole file is left alone.
  assert.equal((await appendRecords(dir, [record(1)], 'probe.jsonl')).isolated, undefined);
});

test('a torn line longer than any read block is moved aside whole', async () => {
  const dir = tempDir();
  const long = '{"method":"knn","note":"' + 'x'.repeat(3 << 20);
  writeFileSync(join(dir, 'probe.jsonl'), '{"value":1}\n' + long);
  const out = await appendRecords(dir, [record(2)], 'probe.jsonl');
  assert.deepEqual(readFileSync(out.path, 'utf8').trimEnd().split('\n').map((l) => (JSON.parse(l) as { value: number }).value), [1, 2]);
  assert.equal(readFileSync(out.isolated!, 'utf8'), long);
});

test('a write that fails half way is cut back to where it started: whole lines or nothing', async () => {
  const file = { size: 100, cutTo: -1, synced: false };
  const fh = {
    stat: async () => ({ size: file.size }),
    async write(_: Buffer, __: number, length: number) {
      if (file.size > 100) throw Object.assign(new Error('no space'), { code: 'ENOSPC' });
      const n = Math.min(length, 7); // a short write, then the disk is full
      file.size += n;
      return { bytesWritten: n };
    },
    sync: async () => void (file.synced = true),
    truncate: async (len: number) => void ((file.cutTo = len), (file.size = len)),
  };
  await assert.rejects(appendWhole(fh, Buffer.from('{"value":1}\n{"value":2}\n')), /no space/);
  assert.deepEqual([file.cutTo, file.size, file.synced], [100, 100, false]);
  const ok = { ...fh, write: async (_: Buffer, __: number, length: number) => ({ bytesWritten: Math.min(length, 5) }) };
  await appendWhole(ok, Buffer.from('{"value":1}\n'));
});

test('a full disk appends nothing and is one clear error', { skip: existsSync('/dev/full') ? false : 'needs /dev/full' }, async () => {
  const dir = tempDir();
  symlinkSync('/dev/full', join(dir, 'probe.jsonl'));
  await assert.rejects(appendRecords(dir, [record(0.5)], 'probe.jsonl'), (e: unknown) => e instanceof ReprobeError && /nothing was appended \(ENOSPC: disk full\)/.test(e.message));
});

test('a results folder that cannot be a folder is one clear error before any work', async () => {
  const file = join(tempDir(), 'a-file');
  writeFileSync(file, 'x');
  await assert.rejects(ensureResultsDir(join(file, 'results')), (e: unknown) => e instanceof ReprobeError && /Cannot write results in .*nothing was appended \((ENOTDIR|EEXIST)\)/.test(e.message));
});
