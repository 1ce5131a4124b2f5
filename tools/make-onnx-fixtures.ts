/**
 * Writes the tiny ONNX fixtures (test/fixtures/onnx-fixtures.ts) to a folder, in the Hugging Face layout of each
 * study card (<repo>/<file>), so a local HTTP server can play the hub:
 *   node --import tsx tools/make-onnx-fixtures.ts out/   then   HF_ENDPOINT=http://127.0.0.1:8000 reprobe models pull dino
 * The hub's /resolve/<rev>/ path segment is the server's job; the tests use test/fixtures/loopback-hub.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { STUDY_CARDS } from '../src/backbones/cards/study.ts';
import { fixtureFor } from '../test/fixtures/card-fixtures.ts';

const out = process.argv[2];
if (!out) {
  console.error('usage: node --import tsx tools/make-onnx-fixtures.ts <out-dir>');
  process.exit(2);
}
for (const card of STUDY_CARDS)
  for (const [path, bytes] of Object.entries(fixtureFor(card))) {
    const p = join(out, path);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, bytes);
    console.log(`${card.id.padEnd(16)} ${p} (${bytes.length} bytes)`);
  }
