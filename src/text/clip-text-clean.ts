import { HTML5_ENTITIES, HTML5_LEGACY } from './html-entities.ts';

/**
 * CLIP's text cleaning (OpenAI clip/simple_tokenizer.py): `whitespace_clean(basic_clean(text)).lower()`, where
 * basic_clean = ftfy.fix_text, then Python's html.unescape twice, then str.strip(), and whitespace_clean collapses
 * runs of `\s` (Python `regex` module) to one space and strips again.
 *
 * ftfy is not available to reprobe, so `fixText` is the part of ftfy 6.x's default `fix_text` that changes ordinary
 * text, with ftfy's order, per-line segments and fixed-point loop: `unescape_html` (ftfy's strict version: entities
 * ending in ";" and all-caps ones such as `&EACUTE;`; off from the first line that contains "<" on), `fix_c1_controls`
 * (U+0080..U+009F read as windows-1252), `fix_latin_ligatures`, `fix_character_width` (full-width and half-width forms
 * and U+3000 → their NFKC forms), `uncurl_quotes`, `fix_line_breaks`, `fix_surrogates` (lone surrogates → U+FFFD),
 * `remove_terminal_escapes`, `remove_control_chars`, then NFC. Left out: `fix_encoding`, ftfy's mojibake detection
 * and repair (e.g. "cafÃ©" → "café"); such text is tokenized as it is.
 */

/** Python's `str.isspace()` characters (what `str.strip()` removes). */
const PY_SPACE = '\\t-\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
/** `\s` of Python's `regex` module: isspace() without U+001C..U+001F (and, unlike JavaScript's `\s`, no U+FEFF). */
export const REGEX_SPACE = '\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

const STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, 'gu');
const SPACES = new RegExp(`[${REGEX_SPACE}]+`, 'gu');
const pyStrip = (s: string) => s.replace(STRIP, '');

/** windows-1252 for bytes 0x80..0x9F; the five it leaves undefined stay as they are (ftfy's sloppy-windows-1252). */
const WIN1252_C1 = '€\x81‚ƒ„…†‡ˆ‰Š‹Œ\x8dŽ\x8f\x90‘’“”•–—˜™š›œ\x9džŸ';

// ------------------------------------------------------------------ Python's html.unescape

const NAMED = new Map<string, string>(Object.entries(HTML5_ENTITIES));
for (const n of HTML5_LEGACY) NAMED.set(n, HTML5_ENTITIES[`${n};`]);
const CHARREF = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu;

/** Code points html.unescape drops: C0/C1 controls (but tab, LF, FF, CR), noncharacters. */
const droppedCodepoint = (n: number) =>
  (n >= 0x1 && n <= 0x8) || n === 0xb || (n >= 0xe && n <= 0x1f) || (n >= 0x7f && n <= 0x9f) || (n >= 0xfdd0 && n <= 0xfdef) || (n & 0xfffe) === 0xfffe;

function replaceCharref(_: string, s: string): string {
  if (s[0] === '#') {
    const hex = s[1] === 'x' || s[1] === 'X';
    const num = parseInt(s.slice(hex ? 2 : 1).replace(/;$/, ''), hex ? 16 : 10);
    if (num === 0) return '\ufffd';
    if (num === 0x0d) return '\r';
    if (num >= 0x80 && num <= 0x9f) return WIN1252_C1[num - 0x80];
    if ((num >= 0xd800 && num <= 0xdfff) || num > 0x10ffff) return '\ufffd';
    return droppedCodepoint(num) ? '' : String.fromCodePoint(num);
  }
  const whole = NAMED.get(s);
  if (whole !== undefined) return whole;
  // The longest name that starts the reference, as the HTML standard reads `&notit;` (¬it;).
  for (let x = s.length - 1; x > 1; x--) {
    const v = NAMED.get(s.slice(0, x));
    if (v !== undefined) return v + s.slice(x);
  }
  return `&${s}`;
}

/** Python's `html.unescape`: named (HTML5, with the legacy ones that need no ";") and numeric references. */
export function htmlUnescape(s: string): string {
  return s.includes('&') ? s.replace(CHARREF, replaceCharref) : s;
}

// ------------------------------------------------------------------ the ftfy subset

/** ftfy's HTML_ENTITIES: `&name;` for HTML5 names ending in ";", plus the all-caps form of all-lowercase names. */
const FTFY_ENTITIES = new Map<string, string>();
for (const [name, char] of Object.entries(HTML5_ENTITIES)) {
  FTFY_ENTITIES.set(`&${name}`, char);
  const upper = `&${name.toUpperCase()}`;
  if (name === name.toLowerCase() && htmlUnescape(upper) === upper) FTFY_ENTITIES.set(upper, char.toUpperCase());
}
const FTFY_ENTITY = /&#?[0-9A-Za-z]{1,24};/g;

function ftfyUnescape(text: string): string {
  return text.replace(FTFY_ENTITY, (m) => {
    const known = FTFY_ENTITIES.get(m);
    if (known !== undefined) return known;
    if (!m.startsWith('&#')) return m;
    const u = htmlUnescape(m);
    return u.includes(';') ? m : u;
  });
}

const LIGATURES: Readonly<Record<string, string>> = {
  Ĳ: 'IJ', ĳ: 'ij', ŉ: 'ʼn', Ǳ: 'DZ', ǲ: 'Dz', ǳ: 'dz', Ǆ: 'DŽ', ǅ: 'Dž', ǆ: 'dž', Ǉ: 'LJ', ǈ: 'Lj', ǉ: 'lj', Ǌ: 'NJ', ǋ: 'Nj', ǌ: 'nj',
  ﬀ: 'ff', ﬁ: 'fi', ﬂ: 'fl', ﬃ: 'ffi', ﬄ: 'ffl', ﬅ: 'ſt', ﬆ: 'st',
};
const LIGATURE = new RegExp(`[${Object.keys(LIGATURES).join('')}]`, 'g');

/** ftfy's fixers after unescape_html, in its order. */
const FIXERS: readonly ((t: string) => string)[] = [
  (t) => t.replace(/[\x80-\x9f]/g, (c) => WIN1252_C1[c.charCodeAt(0) - 0x80]), // fix_c1_controls
  (t) => t.replace(LIGATURE, (c) => LIGATURES[c]), // fix_latin_ligatures
  (t) => t.replace(/[\u3000\uff01-\uffef]/g, (c) => (c === '\u3000' ? ' ' : c.normalize('NFKC'))), // fix_character_width
  (t) => t.replace(/[\u201c-\u201f]/g, '"').replace(/[\u02bc\u2018-\u201b]/g, "'"), // uncurl_quotes
  (t) => t.replace(/\r\n/g, '\n').replace(/[\r\u2028\u2029\x85]/g, '\n'), // fix_line_breaks
  (t) => t.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'), // fix_surrogates
  (t) => t.replace(/\x1b\[((?:\p{Nd}|;)*)([a-zA-Z])/gu, ''), // remove_terminal_escapes (Python's \d is any Nd digit)
  (t) => t.replace(/[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]/g, ''), // remove_control_chars
];

function fixSegment(text: string, unescape: boolean): string {
  for (;;) {
    const orig = text;
    if (unescape) text = ftfyUnescape(text);
    for (const fix of FIXERS) text = fix(text);
    text = text.normalize('NFC');
    if (text === orig) return text;
  }
}

/** The ftfy 6.x `fix_text` subset above: line by line, HTML unescaping off from the first line with "<" on. */
export function fixText(text: string): string {
  let out = '';
  let unescape = true;
  for (let pos = 0; pos < text.length; ) {
    const brk = text.indexOf('\n', pos) + 1 || text.length;
    const segment = text.slice(pos, brk);
    if (segment.includes('<')) unescape = false;
    out += fixSegment(segment, unescape);
    pos = brk;
  }
  return out;
}

/** CLIP's cleaning: ftfy subset → html.unescape twice → strip → whitespace runs to one space → strip → lower-case. */
export function cleanText(text: string): string {
  const basic = pyStrip(htmlUnescape(htmlUnescape(fixText(text))));
  return pyStrip(basic.replace(SPACES, ' ')).toLowerCase();
}
