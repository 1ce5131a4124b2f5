/**
 * Writes test/fixtures/tokenizer/clip-ids.json: a few hundred strings and the ids OpenAI CLIP's tokenizer gives them
 * (tools/clip_tokenizer_reference.py, an independent Python implementation of clip/simple_tokenizer.py with the ftfy
 * subset; Debian python3 with python3-regex), on the real files in ../shared/models/clip-vit-b32-tokenizer/.
 * The Python side also checks vocab.json against the encoder it builds from merges.txt, merges.txt against OpenAI's
 * bpe_simple_vocab_16e6.txt, and "a photo of a cat." → 49406 320 1125 539 320 2368 269 49407.
 * Rerun when the cases change:   apt-get install -y python3-regex && node --import tsx tools/make-tokenizer-fixture.ts
 * With --entities it (re)writes src/text/html-entities.ts from Python's html.entities.html5 instead.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { seeded } from '../src/util/rng.ts';

const root = join(import.meta.dirname, '..');
const python = process.env.REPROBE_PYTHON ?? '/usr/bin/python3';
const shared = join(root, '..', 'shared', 'models', 'clip-vit-b32-tokenizer');

const CLASSES = [
  // UC Merced, DTD (subset), Flowers-102, FGVC-Aircraft and everyday classes, as they appear in class-name files.
  'agricultural', 'airplane', 'baseball diamond', 'beach', 'buildings', 'chaparral', 'dense residential', 'forest', 'freeway',
  'golf course', 'harbor', 'intersection', 'medium residential', 'mobile home park', 'overpass', 'parking lot', 'river', 'runway',
  'sparse residential', 'storage tanks', 'tennis court', 'banded', 'blotchy', 'braided', 'bubbly', 'bumpy', 'chequered', 'cobwebbed',
  'cracked', 'crosshatched', 'crystalline', 'pink primrose', "colt's foot", 'bird of paradise', 'sweet william', "love in the mist",
  'globe-flower', 'cape flower', 'great masterwort', 'Boeing 737-800', 'A320', 'DC-10', 'Cessna 172', 'F-16A/B', 'Tu-154',
  'melanoma', 'nevus', 'Golden Retriever', 'tabby cat', 'T-shirt', 'hot-air balloon', 'jack-o\'-lantern', 'crème brûlée',
];
const TEMPLATES = [
  'a photo of a {}.', 'a satellite photo of {}.', 'a centered satellite photo of {}.', 'a photo of a {}, a type of flower.',
  'a photo of a {} texture.', 'itap of a {}.', 'a bad photo of the {}.', 'a origami {}.', 'a photo of the large {}.',
  '{} in a video game.', 'art of the {}.', 'A PHOTO OF THE SMALL {}!',
];
const SPECIAL = [
  'a photo of a cat.', '', ' ', '   leading and trailing   ', 'multiple     spaces\tand\ttabs', 'line one\nline two\r\nline three\rfour',
  'Hello, World!!! ...?', 'e-mail: someone@example.com; url: https://example.org/a_b?c=1&d=2', '(parentheses) [brackets] {braces} <angles>',
  'numbers 0 1 2 3 42 1999 3.14159 1,000,000 -7 +8 50% $20 €30 £4', 'dates 2024-01-31 12:30:59', 'room 101b, 3rd floor, 2x zoom',
  "it's a cat's toy; they're here, we've gone, I'm sure, you'll see, he'd know", "don't can't won't shouldn't y'all o'clock",
  "IT'S LOUD, THEY'RE HERE", "rock 'n' roll", 'quotes "double" and \'single\'', '“curly double” and ‘curly single’ and it’s and ‛odd‟',
  'modifier ʼ apostrophe', 'café naïve résumé Ångström Zürich façade São Paulo', 'Ελληνικά γράμματα ΟΔΟΣ', 'Русский текст',
  'العربية', 'עברית', 'हिन्दी', 'ไทย', '日本語のテキスト', '中文文本，标点。', '한국어 텍스트', 'emoji 😀🎉👍🏽 ❤️ 🇫🇷 👨‍👩‍👧',
  'ﬁsh and ﬂowers, oﬀ the ﬃeld; ﬆop; Ĳsselmeer ĳs', 'ǆungla Ǉubljana ǋivo ŉ', 'ＦＵＬＬ　ＷＩＤＴＨ　ｔｅｘｔ　１２３！', 'ｶﾀｶﾅ ﾊﾞｯｸ',
  'fish &amp; chips', '&lt;b&gt;bold&lt;/b&gt;', 'AT&amp;T', '&amp;amp;amp;amp; nested', '&quot;quoted&quot; &apos;x&apos;', '&copy; 2024 &reg; &trade;',
  '&eacute;t&eacute; &EACUTE;T&EACUTE; &Eacute;', '&#39;numeric&#39; &#x27;hex&#x27; &#8217;s &#x1F600; &#128512;', '&nbsp;non&nbsp;breaking&nbsp;',
  'not an entity: &foo; & ; &#; &#x;', 'AT&T and Q&A', '&notit; &amp &ampfoo &lt3', '<b>html</b> &amp; more', 'x &ldquo;quoted&rdquo; y',
  '&#0; &#13; &#128; &#150; &#x80; &#1114112; &#55296;', 'one line &amp;\n<tag> &amp; two\n&amp; three',
  '<|startoftext|>', '<|endoftext|>', 'a <|startoftext|> b <|endoftext|> c', '<|STARTOFTEXT|>', '<|endoftext|><|endoftext|>', '<|startoftext', '|endoftext|>',
  '&lt;|endoftext|&gt;', 'control\x00chars\x07here\x1b[31mred\x1b[0m', 'bom\ufeffinside', 'zero\u200bwidth space', 'nbsp\u00a0and\u2003em\u3000ideographic',
  'line\u2028separator\u2029paragraph', 'C1 It\x92s and \x85', 'e\u0301 composed vs é', 'A\u030a vs Å', 'ſ long s and \u0345 ypogegrammeni', "'ſ", 'İstanbul',
  'straße STRASSE', 'ﬅ ligature', 'tab\tinside', 'under_score and dash-es and slash/es', '....!!!???', '#hashtag @mention', 'CamelCaseWords',
  'x86_64 3D 4K 1080p', '½ ¼ ² ³ Ⅻ ⅻ ① ٣ ४', 'kelvin K', 'ℌ𝔢𝔩𝔩𝔬 𝐛𝐨𝐥𝐝', 'tag \u{E0041}chars', 'surrogate pair 𝄞 music',
];

/** Seeded random strings over the characters the cleaning and the pre-split care about. */
function randomTexts(n: number): string[] {
  const rng = seeded(17);
  const atoms = [
    'a', 'photo', 'of', 'cat', 'the', ' ', ' ', '  ', '\t', '\n', '.', ',', '!', '?', "'", "'s", "'ll", '’', '“', '-', '_', '1', '23', '&amp;', '&lt;',
    '&#39;', '<', '>', '|', 'é', 'ü', 'Ö', 'ß', 'ﬁ', 'Ａ', '　', '日本', '😀', '👍🏽', '🇯🇵', '<|endoftext|>', 'X', 'Y', 'ab', 'qu', 'zz', 'ing', 'tion',
  ];
  return Array.from({ length: n }, () => Array.from({ length: 1 + Math.floor(rng() * 14) }, () => atoms[Math.floor(rng() * atoms.length)]).join(''));
}

function cases(): string[] {
  const templated = CLASSES.flatMap((c, i) => [TEMPLATES[i % TEMPLATES.length], TEMPLATES[(i * 5 + 3) % TEMPLATES.length]].map((t) => t.replace('{}', c)));
  const words = (k: number) => Array.from({ length: k }, () => 'a').join(' ');
  const long = [
    words(74), words(75), words(76), words(200),
    'a photo of a ' + Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ') + '.',
    'A long caption: ' + 'the quick brown fox jumps over the lazy dog, '.repeat(8),
    '😀'.repeat(40), '日本語'.repeat(30), '&amp;'.repeat(90),
  ];
  return [...SPECIAL, ...templated, ...long, ...randomTexts(180)];
}

function entities(): void {
  const py = 'import html.entities as h, json; t = h.html5; print(json.dumps({"named": {k: v for k, v in t.items() if k.endswith(";")}, "legacy": sorted(k for k in t if not k.endswith(";"))}))';
  const { named, legacy } = JSON.parse(execFileSync(python, ['-c', py], { encoding: 'utf8' })) as { named: Record<string, string>; legacy: string[] };
  const esc = (s: string) => JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const entries = Object.entries(named).map(([k, v]) => `${esc(k)}: ${esc(v)}`);
  const lines = Array.from({ length: Math.ceil(entries.length / 8) }, (_, i) => `  ${entries.slice(i * 8, i * 8 + 8).join(', ')},`);
  const out = [
    '// Generated by `node --import tsx tools/make-tokenizer-fixture.ts --entities` from Python\'s html.entities.html5; do not edit.',
    '',
    '/** HTML5 named character references ending in ";" (name without "&" → text), as Python\'s html.entities.html5 has them. */',
    'export const HTML5_ENTITIES: Readonly<Record<string, string>> = {',
    ...lines,
    '};',
    '',
    '/** The legacy names that html.unescape also reads without ";" (same text as with it). */',
    `export const HTML5_LEGACY: readonly string[] = ${esc(legacy.join(' '))}.split(' ');`,
    '',
  ];
  writeFileSync(join(root, 'src', 'text', 'html-entities.ts'), out.join('\n'));
  console.log(`wrote src/text/html-entities.ts (${entries.length} names, ${legacy.length} legacy)`);
}

function fixture(): void {
  try {
    execFileSync(python, ['-c', 'import regex'], { stdio: 'ignore' });
  } catch {
    throw new Error(`${python} cannot import regex: apt-get install -y python3-regex (or set REPROBE_PYTHON to a python that has it)`);
  }
  const texts = cases();
  const job = { merges: join(shared, 'merges.txt'), vocab: join(shared, 'vocab.json'), bpe: join(shared, 'bpe_simple_vocab_16e6.txt'), context_length: 77, texts };
  const out = JSON.parse(execFileSync(python, [join(import.meta.dirname, 'clip_tokenizer_reference.py')], { input: JSON.stringify(job), encoding: 'utf8', maxBuffer: 1 << 26 }));
  for (const c of out.checks as string[]) console.log(`checked: ${c}`);
  crossCheckTokenizerJson();
  const dir = join(root, 'test', 'fixtures', 'tokenizer');
  mkdirSync(dir, { recursive: true });
  const body = (out.cases as { text: string; ids: number[] }[]).map((c) => `  ${JSON.stringify(c)}`).join(',\n');
  const about = `clip.tokenize(text, truncate=True) ids (unpadded) on ../shared/models/clip-vit-b32-tokenizer, by tools/clip_tokenizer_reference.py (Python ${out.python}, regex ${out.regex})`;
  writeFileSync(join(dir, 'clip-ids.json'), `{\n"about": ${JSON.stringify(about)},\n"cases": [\n${body}\n]}\n`);
  console.log(`wrote test/fixtures/tokenizer/clip-ids.json (${texts.length} strings)`);
}

const sameVocab = (a: Record<string, number>, b: Record<string, number>) => Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v);

/** tokenizer.json (the fast tokenizer's file) must hold the same vocab, merges, special ids and pre-split pattern. */
function crossCheckTokenizerJson(): void {
  const t = JSON.parse(readFileSync(join(shared, 'tokenizer.json'), 'utf8'));
  const vocab = JSON.parse(readFileSync(join(shared, 'vocab.json'), 'utf8'));
  const merges = readFileSync(join(shared, 'merges.txt'), 'utf8').split(/\r?\n/).slice(1).filter(Boolean);
  const tm: string[] = t.model.merges.map((m: string | string[]) => (Array.isArray(m) ? m.join(' ') : m));
  const problems = [
    sameVocab(t.model.vocab, vocab) ? '' : 'model.vocab differs from vocab.json',
    tm.join('\n') === merges.join('\n') ? '' : 'model.merges differ from merges.txt',
    t.model.end_of_word_suffix === '</w>' ? '' : 'end_of_word_suffix is not </w>',
    t.added_tokens.map((a: { id: number; content: string }) => `${a.content}=${a.id}`).join(' ') === '<|startoftext|>=49406 <|endoftext|>=49407' ? '' : 'special ids differ',
    t.pre_tokenizer.pretokenizers[0].pattern.Regex === "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+" ? '' : 'the pre-split pattern differs',
  ].filter(Boolean);
  if (problems.length) throw new Error(`tokenizer.json: ${problems.join('; ')}`);
  console.log('checked: tokenizer.json has the same vocab, merges, "</w>", special ids and pre-split pattern');
}

if (process.argv.includes('--entities')) entities();
else fixture();
