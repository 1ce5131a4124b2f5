import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../helpers.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'reprobe.mjs');

test('cluster end to end on real digits: UMAP + k-means and the k-means baseline, ranked by ARI, one record each', () => {
  const results = tempDir();
  const r = spawnSync(process.execPath, [bin, 'cluster', '-b', 'mobilenet-v2', '-d', 'mnist', '--shots', '3', '--test-per-class', '12', '--neighbors', '500', '--results-dir', results], {
    encoding: 'utf8',
    env: { ...process.env, REPROBE_HOME: tempDir() },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /backbone\s+method\s+set\s+ari\s+nmi/);
  assert.match(r.stdout, /mnist\n-+\nmobilenet-v2 \d\.\d{3}/);
  // 160 points cannot have 500 neighbours: clamped, with a warning on stderr and a note in the record.
  assert.match(r.stderr, /warning: mobilenet-v2 cluster \(all\): neighbors clamped to 159/);
  const recs = readFileSync(join(results, 'cluster.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(recs.map((x) => x.method), ['cluster', 'kmeans']);
  for (const x of recs) {
    assert.equal(x.task, 'cluster');
    assert.equal(x.metric, 'ari');
    assert.equal(x.n_points, 10 * (3 + 1 + 12));
    assert.ok((x.value as number) > 0.1, `ARI ${x.value} above chance`);
    if (x.method === 'cluster') assert.equal(x.umap_neighbors, 159);
  }
});
