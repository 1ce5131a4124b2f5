import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../helpers.ts';
import { startHub } from '../fixtures/loopback-hub.ts';
import { fixtureFor } from '../fixtures/card-fixtures.ts';
import { referenceByteSymbols, TINY_MERGES, tinyVocab, writeTinyTokenizer } from '../fixtures/tiny-tokenizer.ts';

const { bytesToUnicode, clipTokenizer } = await import('../../src/text/clip-tokenizer.ts');
const { cleanText, fixText, htmlUnescape } = await import('../../src/text/clip-text-clean.ts');
const { openTokenizer, parseMerges, readTokenizer, tokenizerDir } = await import('../../src/backbones/tokenizer-files.ts');
const { STUDY_CARDS } = await import('../../src/backbones/cards/study.ts');
const { resolveCard } = await import('../../src/backbones/registry.ts');
const { BackboneError, ConfigError } = await import('../../src/errors.ts');

const shared = join(import.meta.dirname, '..', '..', '..', 'shared', 'models', 'clip-vit-b32-tokenizer');
const real = existsSync(join(shared, 'vocab.json')) && existsSync(join(shared, 'merges.txt'));
const skipReal = real ? false : 'needs ../shared/models/clip-vit-b32-tokenizer (not on a fresh machine)';
const fixture = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'tokenizer', 'clip-ids.json'), 'utf8')) as { cases: { text: string; ids: number[] }[] };

test('every fixture string gives the reference ids (tools/clip_tokenizer_reference.py) on the real CLIP files', { skip: skipReal }, () => {
  const tok = readTokenizer({ vocab: join(shared, 'vocab.json'), merges: join(shared, 'merges.txt') });
  assert.deepEqual([tok.sot, tok.eot, tok.contextLength], [49406, 49407, 77]);
  assert.deepEqual(tok.encode('a photo of a cat.'), [49406, 320, 1125, 539, 320, 2368, 269, 49407]);
  assert.ok(fixture.cases.length >= 300, `${fixture.cases.length} cases`);
  const wrong = fixture.cases.filter((c) => JSON.stringify(tok.encode(c.text)) !== JSON.stringify(c.ids));
  assert.deepEqual(wrong.map((c) => c.text), []);
  // The generated tiny vocab's byte symbols have the real vocab's ids: the test vocab is built as CLIP's is.
  const vocab = JSON.parse(readFileSync(join(shared, 'vocab.json'), 'utf8')) as Record<string, number>;
  for (const [sym, id] of Object.entries(tinyVocab()).slice(0, 512)) assert.equal(vocab[sym], id, sym);
});

test('bytes_to_unicode: printable Latin-1 bytes are themselves, the other 68 map to U+0100.. in byte order', () => {
  const table = bytesToUnicode();
  assert.deepEqual(table, referenceByteSymbols());
  assert.equal(new Set(table).size, 256);
  assert.deepEqual([0x61, 0x21, 0xa9, 0xff].map((b) => table[b]), ['a', '!', '©', 'ÿ']);
  // Byte 0 is the first unprintable one; space (32) the 33rd; 0x7F, 0x80, 0x9F, 0xA0 and the soft hyphen 0xAD follow.
  assert.deepEqual([0x00, 0x20, 0x7f, 0x80, 0x9f, 0xa0, 0xad].map((b) => table[b].codePointAt(0)), [0x100, 0x120, 0x121, 0x122, 0x141, 0x142, 0x143]);
});

// The tiny vocab: `v('cat</w>')` is the id of a symbol, ids in the reference's order (tiny-tokenizer.ts).
const V = tinyVocab();
const v = (...syms: string[]) => syms.map((s) => {
  assert.ok(s in V, `no symbol ${s}`);
  return V[s];
});
const tiny = clipTokenizer(V, TINY_MERGES);
const SOT = V['<|startoftext|>'];
const EOT = V['<|endoftext|>'];
const body = (text: string, opt = {}) => tiny.encode(text, opt).slice(1, -1);

test('start and end ids come from the vocab; "a" is id 64 and "a</w>" 320, as in CLIP', () => {
  assert.deepEqual([tiny.sot, tiny.eot], [SOT, EOT]);
  assert.deepEqual([SOT, EOT], [512 + TINY_MERGES.length, 513 + TINY_MERGES.length]);
  assert.deepEqual(v('a', 'a</w>'), [64, 320]);
  assert.deepEqual(tiny.encode(''), [SOT, EOT]);
  assert.match(tiny.id, /^clip-bpe:[0-9a-f]{16}$/);
});

test('BPE merges by rank, every non-overlapping pair left to right, with "</w>" on the last symbol', () => {
  assert.deepEqual(body('hello'), v('hello</w>')); // h e → he, l l → ll, he ll → hell, hell o</w>
  // "hello" inside a word is not the word's end: "hell o" is no merge, so the first one stops at hell + o.
  assert.deepEqual(body('hellohello'), v('hell', 'o', 'hello</w>'));
  // c a (rank 4) comes before a t</w> (rank 6): cat → ca t</w> → cat</w>; without the c, a t</w> merges.
  assert.deepEqual(body('cat'), v('cat</w>'));
  assert.deepEqual(body('bat'), v('b', 'at</w>'));
  assert.deepEqual(body('lll'), v('ll', 'l</w>'));
  assert.deepEqual(body('a photo of cats'), v('a</w>', 'photo</w>', 'of</w>', 'ca', 't', 's</w>'));
  assert.deepEqual(body('HeLLo'), v('hello</w>')); // lower-cased first
});

test('characters no merge covers fall back to their UTF-8 byte symbols', () => {
  assert.deepEqual(body('é'), v('Ã', '©</w>')); // C3 A9
  assert.deepEqual(body('😀'), v('ð', 'Ł', 'ĺ', 'Ģ</w>')); // F0 9F 98 80
  assert.deepEqual(body('日'), v('æ', 'Ĺ', '¥</w>')); // E6 97 A5
  assert.deepEqual(body('x'), v('x</w>'));
});

test('the pre-split: contractions, letter runs, one digit at a time, punctuation runs; spaces separate', () => {
  assert.deepEqual(body("cat's"), v('cat</w>', "'s</w>"));
  assert.deepEqual(body("cat'S"), v('cat</w>', "'s</w>")); // IGNORECASE, on lower-cased text
  assert.deepEqual(body('42!!'), v('4</w>', '2</w>', '!', '!</w>'));
  assert.deepEqual(body('a-b'), v('a</w>', '-</w>', 'b</w>'));
  assert.deepEqual(body('ab12'), v('a', 'b</w>', '1</w>', '2</w>'));
  assert.deepEqual(body('a\u0345b'), v('a</w>', 'b</w>')); // U+0345 case-folds to ι: no branch of the reference's regex takes it
});

test('special-token text: the literal tokens are the special ids wherever they appear; fragments are plain text', () => {
  assert.deepEqual(tiny.encode('a<|endoftext|>b'), [SOT, ...v('a</w>'), EOT, ...v('b</w>'), EOT]);
  assert.deepEqual(tiny.encode('<|STARTOFTEXT|>'), [SOT, SOT, EOT]);
  assert.deepEqual(tiny.encode('&lt;|endoftext|&gt;'), [SOT, EOT, EOT]); // unescaped first
  assert.deepEqual(body('<|endoftext'), v('<', '|</w>', 'e', 'n', 'd', 'o', 'f', 't', 'e', 'x', 't</w>'));
  // Still so after more distinct words than the BPE cache holds (it starts over).
  const words = Array.from({ length: 50_001 }, (_, i) => i.toString(26).replace(/\d/g, (d) => 'qrstuvwxyz'[Number(d)]));
  assert.ok(tiny.encode(words.join(' '), { contextLength: 1e6 }).length > words.length);
  assert.deepEqual(tiny.encode('<|endoftext|> cat'), [SOT, EOT, ...v('cat</w>'), EOT]);
});

test('truncation keeps the end token last (clip.tokenize(truncate=True)); truncate: false refuses', () => {
  assert.deepEqual(tiny.encode('a b c', { contextLength: 5 }), [SOT, ...v('a</w>', 'b</w>', 'c</w>'), EOT]);
  assert.deepEqual(tiny.encode('a b c d', { contextLength: 5 }), [SOT, ...v('a</w>', 'b</w>', 'c</w>'), EOT]);
  assert.deepEqual(tiny.encode('a b c d', { contextLength: 2 }), [SOT, EOT]);
  const long = tiny.encode(Array(100).fill('a').join(' '));
  assert.equal(long.length, 77);
  assert.deepEqual([long[0], long[75], long[76]], [SOT, 320, EOT]);
  assert.throws(() => tiny.encode('a b c d', { contextLength: 5, truncate: false }), (e) => e instanceof ConfigError && /6 tokens, more than the context of 5/.test(e.message));
  assert.throws(() => tiny.encode('a', { contextLength: 0 }), ConfigError);
});

test('cleaning: ftfy subset, html.unescape twice, whitespace, lower-case (expected values from the Python reference)', () => {
  const cases: [string, string][] = [
    ['  Hello\tWORLD \n', 'hello world'],
    ['“curly” ‘quotes’ it’s ʼtwas', `"curly" 'quotes' it's 'twas`], // uncurl_quotes
    ['ﬁsh ﬂower Ĳssel ŉ', "fish flower ijssel 'n"], // fix_latin_ligatures (ŉ → ʼn → 'n)
    ['ＦＵＬＬ　ｗｉｄｔｈ１２！', 'full width12!'], // fix_character_width
    ['ｶﾞ', 'ガ'], // half-width kana + voiced mark → NFC-composed
    ['e\u0301', 'é'], // NFC
    ['fish &amp; chips', 'fish & chips'],
    ['&amp;amp;amp;amp;', '&'], // ftfy unescapes until nothing changes
    ['<b>&amp;amp;amp;</b>', '<b>&amp;</b>'], // a "<" turns ftfy's unescaping off: html.unescape twice only
    ['x &amp;amp;amp;\n<b>\n&amp;amp;amp;', 'x & <b> &amp;'], // ... from that line on
    ['&EACUTE;T&EACUTE;', 'été'], // ftfy's all-caps entities
    ['&ldquo;x&rdquo;', '"x"'],
    ['<i>&ldquo;x&rdquo;</i>', '<i>“x”</i>'], // unescaped after ftfy: stays curly
    ['&notit; &amp', '¬it; &'], // html.unescape's longest-prefix and no-semicolon rules
    ['&#x1F600;&#128;&#0;', '😀€\ufffd'],
    ['a\x00b\x07c\ufeffd\u2060e', 'abcd\u2060e'], // remove_control_chars (U+2060 is not one)
    ['\x1b[31mred\x1b[0m', 'red'], // remove_terminal_escapes
    ['It\x92s', "it's"], // fix_c1_controls, then uncurl
    ['a\u2028b\r\nc\x85d', 'a b c…d'], // line breaks; U+0085 is windows-1252's ellipsis first
    ['\u3000 x \u00a0', 'x'],
    ['\x1c x', 'x'],
    ['ΟΔΟΣ ΟΔΟΣ.', 'οδος οδος.'], // final sigma
    ['İ', 'i\u0307'],
  ];
  for (const [input, want] of cases) assert.equal(cleanText(input), want, JSON.stringify(input));
  assert.equal(fixText('line\r\n<b>&amp;</b>'), 'line\n<b>&amp;</b>');
  assert.equal(htmlUnescape('&amp;amp; &#x27; &#39 &lt3 &#1114112;'), "&amp; ' ' <3 \ufffd");
});

test('merges.txt: the #version header, CRLF and blank lines are dropped; at most 48,894 merges are read', () => {
  assert.deepEqual(parseMerges('#version: 0.2\r\nh e\r\n\r\nl l\r\n'), ['h e', 'l l']);
  assert.deepEqual(parseMerges('h e\nl l'), ['h e', 'l l']); // OpenAI's own file has no header
  assert.equal(parseMerges(Array(50000).fill('a b').join('\n')).length, 48894);
});

test('files: a folder is read; missing, malformed or inconsistent files are one line each', () => {
  const dir = writeTinyTokenizer(tempDir());
  const tok = readTokenizer(tokenizerDir(dir), { contextLength: 9 });
  assert.deepEqual(tok.encode('a photo of a cat'), [SOT, ...v('a</w>', 'photo</w>', 'of</w>', 'a</w>', 'cat</w>'), EOT]);
  assert.equal(tok.contextLength, 9);
  const oneLine = (cls: typeof ConfigError, re: RegExp) => (e: unknown) => e instanceof cls && re.test(e.message) && !e.message.includes('\n');
  assert.throws(() => tokenizerDir(join(dir, 'nope')), oneLine(ConfigError, /tokenizer folder .*nope" does not exist/));
  const half = tempDir();
  writeFileSync(join(half, 'vocab.json'), '{}');
  assert.throws(() => tokenizerDir(half), oneLine(ConfigError, /has no merges\.txt; it needs vocab\.json and merges\.txt/));
  const bad = writeTinyTokenizer(tempDir());
  writeFileSync(join(bad, 'vocab.json'), '{"a": 1,');
  assert.throws(() => readTokenizer(tokenizerDir(bad)), oneLine(BackboneError, /vocab\.json is not JSON/));
  writeFileSync(join(bad, 'vocab.json'), JSON.stringify({ ...V, 'Ġ</w>': undefined }));
  assert.throws(() => readTokenizer(tokenizerDir(bad)), oneLine(BackboneError, /has no entry "Ġ<\/w>"/));
  writeFileSync(join(bad, 'vocab.json'), JSON.stringify(V));
  writeFileSync(join(bad, 'merges.txt'), '#version: 0.2\nh e\nq z\n');
  assert.throws(() => readTokenizer(tokenizerDir(bad)), oneLine(BackboneError, /merge 2 \("q z"\) makes "qz", which the vocab lacks/));
});

test('openTokenizer: --tokenizer folder, the card\'s hub files (pulled once, then cached), and backbones without a text tower', async () => {
  const clip = resolveCard('clip');
  const dir = writeTinyTokenizer(tempDir());
  assert.deepEqual((await openTokenizer(clip, { dir })).encode('cat'), [SOT, ...v('cat</w>'), EOT]);
  await assert.rejects(openTokenizer(resolveCard('mobilenet-v2'), { dir }), (e) => e instanceof ConfigError && /mobilenet-v2 has no text tower/.test(e.message));
  await assert.rejects(openTokenizer(resolveCard('dino')), (e) => e instanceof ConfigError && /dino-vits16 has no text tower/.test(e.message));

  const card = STUDY_CARDS.find((c) => c.id === 'clip-vit-b32')!;
  const hub = await startHub(fixtureFor(card));
  try {
    Object.assign(process.env, { REPROBE_HOME: tempDir(), HF_HUB_CACHE: tempDir(), HF_ENDPOINT: hub.endpoint });
    delete process.env.HF_HUB_OFFLINE;
    const pulled: string[] = [];
    const tok = await openTokenizer(card, { onProgress: (f) => pulled.push(f) });
    assert.deepEqual(tok.encode('hello cat'), [SOT, ...v('hello</w>', 'cat</w>'), EOT]);
    assert.deepEqual([...new Set(pulled)], ['vocab.json', 'merges.txt']);
    assert.ok(hub.log.every((r) => !r.path.endsWith('.onnx')), 'only the tokenizer files are fetched');
    const n = hub.log.length;
    process.env.HF_HUB_OFFLINE = '1';
    assert.deepEqual((await openTokenizer(card)).encode('cat'), [SOT, ...v('cat</w>'), EOT]);
    assert.equal(hub.log.length, n);
  } finally {
    delete process.env.HF_HUB_OFFLINE;
    await hub.close();
  }
});

test('a merges.txt that is not its vocab.json\'s pair (empty, truncated, a symbol the vocab lacks) is one line, not wrong ids', () => {
  const dir = writeTinyTokenizer(tempDir());
  const merges = (lines: string[]) => writeFileSync(join(dir, 'merges.txt'), ['#version: 0.2', ...lines].join('\n') + '\n');
  const refused = (re: RegExp) => assert.throws(() => readTokenizer(tokenizerDir(dir)), (e) => e instanceof BackboneError && re.test(e.message) && !e.message.includes('\n'));
  writeFileSync(join(dir, 'merges.txt'), '');
  refused(/merges\.txt holds 0 merges, but the 527 entries of .*vocab\.json come from 13 /);
  merges(TINY_MERGES.slice(0, 10));
  refused(/merges\.txt holds 10 merges, but the 527 entries .* come from 13 /);
  // Cut at its start: the header gone with the first merge; still counted.
  writeFileSync(join(dir, 'merges.txt'), TINY_MERGES.slice(1).join('\n'));
  refused(/holds 12 merges/);
  // "hello</w>" is in the vocab, but "hel" (no merge makes it) is not.
  merges(TINY_MERGES.map((m) => (m === 'hell o</w>' ? 'hel lo</w>' : m)));
  refused(/merges\.txt: merge 4: the symbol "hel" of merge "hel lo<\/w>" is not in .*vocab\.json/);
  merges(TINY_MERGES);
  assert.ok(readTokenizer(tokenizerDir(dir)), 'the pair itself is read');
});
