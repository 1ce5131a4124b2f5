import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newestConfigs } from '../../src/report/newest-config.ts';
import { fixtureRecord } from './fixture-store.ts';

test('zero-shot at two shot levels is one table cell: the newest level is shown and the note names shots, not "nothing"', () => {
  const at = (shots: number, t: number) => fixtureRecord({ method: 'zeroshot', backbone: 'clip', dataset: 'd', shots, value: 0.5, config_id: `c${shots}` }, t);
  const { records, notes } = newestConfigs([at(1, 1), at(10, 2)]);
  assert.deepEqual(records.map((r) => r.shots), [10]);
  assert.equal(notes.length, 1);
  assert.match(notes[0], /1 record\(s\) of 1 other configuration\(s\) \(config_id c1; shown: c10\), differing in shots 1 \(shown: 10\)/);
});

