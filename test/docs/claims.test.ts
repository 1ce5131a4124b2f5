import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

/**
 * docs/claims.md ties every README sentence that claims equality, bit identity, a bound or "tested" to what backs it.
 * A sentence is a claim when it matches CLAIM; it is covered when it contains the quoted phrase of an entry.
 */
const root = join(import.meta.dirname, '..', '..');
const CLAIM = /bit for bit|bit-for-bit|bit.identi|identical|\bequals?\b|\btested\b|\bwithin \d|\bat most\b|≤|to 1e-\d|exactly|the same (?:outputs|results|numbers|matrix|record)|every CPU|never a higher|no worse|\bmatch(?:es)?\b|agree with/i;

const squash = (s: string) => s.replace(/\s+/g, ' ').trim();

/** The README's prose (code blocks left out) as sentences; table cells count as sentences too. */
function readmeSentences(markdown: string): string[] {
  const prose = markdown.replace(/```[\s\S]*?```/g, '');
  return prose
    .split(/\n\s*\n/)
    .map(squash)
    .flatMap((p) => p.split(/(?<=[.!?;])\s+(?=[A-Z`(])|\s\|\s/));
}

interface Entry {
  phrase: string;
  /** Backing files, each with an optional test title fragment. */
  refs: { path: string; title?: string }[];
  kind: 'test' | 'manual' | 'not a claim';
  line: number;
}

/** Table rows `| "phrase" | backing |` of docs/claims.md; the section heading says what kind they are. */
function claimEntries(markdown: string): Entry[] {
  const out: Entry[] = [];
  let kind: Entry['kind'] = 'test';
  markdown.split('\n').forEach((line, i) => {
    if (/^## .*by hand/i.test(line)) kind = 'manual';
    else if (/^## .*not claims/i.test(line)) kind = 'not a claim';
    else if (/^## /.test(line)) kind = 'test';
    const row = /^\|\s*"([^"]+)"\s*\|(.*)\|\s*$/.exec(line);
    if (!row) return;
    const refs = [...row[2].matchAll(/`([^`]+)`(?:\s+"([^"]+)")?/g)].map((m) => ({ path: m[1], title: m[2] }));
    out.push({ phrase: squash(row[1]), refs, kind, line: i + 1 });
  });
  return out;
}

const readme = readFileSync(join(root, 'README.md'), 'utf8');
const entries = claimEntries(readFileSync(join(root, 'docs', 'claims.md'), 'utf8'));

test('every README sentence that claims equality, bit identity, a bound or "tested" has an entry in docs/claims.md', () => {
  const missing = readmeSentences(readme).filter((s) => CLAIM.test(s) && !entries.some((e) => s.includes(e.phrase)));
  assert.deepEqual(missing, [], `add these to docs/claims.md (a quoted phrase of the sentence and the test that backs it):\n${missing.join('\n')}`);
});

test('every entry quotes the README as it is and names files that exist, test titles that exist in them', () => {
  const text = squash(readme);
  for (const e of entries) {
    assert.ok(text.includes(e.phrase), `docs/claims.md line ${e.line}: "${e.phrase}" is not in the README any more`);
    if (e.kind === 'not a claim') continue;
    assert.ok(e.refs.length > 0, `docs/claims.md line ${e.line}: no backing file named`);
    for (const r of e.refs) {
      assert.ok(existsSync(join(root, r.path)), `docs/claims.md line ${e.line}: ${r.path} does not exist`);
      if (e.kind === 'test') assert.match(r.path, /^test\/.*\.test\.ts$/, `docs/claims.md line ${e.line}: ${r.path} is not a test file (put checks run by hand under their own heading)`);
      if (r.title) assert.ok(readFileSync(join(root, r.path), 'utf8').includes(r.title), `docs/claims.md line ${e.line}: no "${r.title}" in ${r.path}`);
    }
  }
});

test('the claim finder sees a claim in a sentence and the entry covering it (a hand-made README)', () => {
  const md = 'Intro text. It equals the reference bit for bit (tested).\n\nNothing here.\n\n```\nequal in code\n```';
  const hits = readmeSentences(md).filter((s) => CLAIM.test(s));
  assert.deepEqual(hits, ['It equals the reference bit for bit (tested).']);
  const doc = '## Backed by tests\n| "equals the reference" | `test/docs/claims.test.ts` "the claim finder" |\n## Not claims\n| "Nothing" | wording |';
  assert.deepEqual(claimEntries(doc).map((e) => [e.phrase, e.kind, e.refs.length]), [['equals the reference', 'test', 1], ['Nothing', 'not a claim', 0]]);
});
