import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { referenceDocs } from '../../scripts/reference-docs.ts';
import { CARDS } from '../../src/backbones/cards/index.ts';
import { DATASETS } from '../../src/data/registry.ts';
import { METHODS } from '../../src/jobs/methods.ts';
import { RecordSchema } from '../../src/results/record-schema.ts';

const docs = join(import.meta.dirname, '..', '..', 'docs');
const pages = await referenceDocs();

for (const [file, text] of Object.entries(pages)) {
  test(`docs/${file} is what the registries generate (npm run docs)`, () => {
    const committed = readFileSync(join(docs, file), 'utf8');
    assert.ok(committed === text, `docs/${file} is stale: run \`npm run docs\` and commit it`);
  });
}

test('the reference pages name every backbone, dataset and method of the registries', () => {
  for (const c of CARDS) assert.ok(pages['backbones.md'].includes(`| \`${c.id}\``), c.id);
  for (const name of DATASETS.keys()) assert.match(pages['datasets.md'], new RegExp(`\\| \`${name}(:[^\`]*)?\` \\|`), name);
  for (const name of METHODS.keys()) assert.ok(pages['methods.md'].includes(`\n## ${name}\n`), name);
  assert.ok(pages['cli.md'].includes('## reprobe probe\n'));
  for (const field of Object.keys(RecordSchema.shape)) assert.match(pages['results.md'], new RegExp(`\\| \`${field}\` \\| [^|]+ \\| [^|\\s]`), `results.md: ${field} with a type and a meaning`);
});

test("results.md has a table of each method's own record fields, every field with a type and a meaning", () => {
  const page = pages['results.md'];
  for (const m of METHODS.values()) {
    const start = page.indexOf(`\n### ${m.name}\n`);
    assert.ok(start > page.indexOf('## Fields of each method'), `results.md: a section for ${m.name}`);
    const section = page.slice(start + 1).split('\n### ')[0];
    for (const field of Object.keys(m.recordFields)) assert.match(section, new RegExp(`\\| \`${field}\` \\| [^|]+ \\| [^|\\s]`), `results.md, ${m.name}: ${field} with a type and a meaning`);
  }
});

test('every page in docs/ is linked from the README', () => {
  const readme = readFileSync(join(docs, '..', 'README.md'), 'utf8');
  const files = readdirSync(docs).filter((f) => f.endsWith('.md'));
  assert.ok(files.length >= Object.keys(pages).length + 2);
  for (const file of files) assert.ok(readme.includes(`](docs/${file})`), `README links docs/${file}`);
});
