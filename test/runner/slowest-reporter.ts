/**
 * node:test reporter (npm test passes it bundled, beside the spec reporter): prints the 10 slowest tests when the run
 * ends and keeps each file's time for the next run's order. Test files run as bundles; REPROBE_TEST_SOURCES names a
 * JSON map from each bundle to its test file, so the report names the test files.
 */
import { readFileSync } from 'node:fs';
import { Slowest, type TestDone } from './slowest.ts';

export default async function* slowestReporter(source: AsyncIterable<{ type: string; data: TestDone }>): AsyncGenerator<string> {
  const map = process.env.REPROBE_TEST_SOURCES ? (JSON.parse(readFileSync(process.env.REPROBE_TEST_SOURCES, 'utf8')) as Record<string, string>) : {};
  const slowest = new Slowest(process.cwd());
  for await (const e of source) if (e.type === 'test:pass' || e.type === 'test:fail') slowest.add({ ...e.data, file: e.data.file && (map[e.data.file] ?? e.data.file) });
  yield slowest.report(Number(process.env.REPROBE_TEST_CONCURRENCY) || 1);
}
