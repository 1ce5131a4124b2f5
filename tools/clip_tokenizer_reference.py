#!/usr/bin/env python3
"""OpenAI CLIP's tokenizer (clip/simple_tokenizer.py + clip.tokenize) for tools/make-tokenizer-fixture.ts.

Tooling only: Debian's python3 with python3-regex (`apt-get install -y python3-regex`); no torch, no ftfy. It is
written from the reference, independently of src/text/clip-tokenizer.ts, and builds the encoder the reference
way: 256 byte symbols, the same with "</w>", one entry per merge, then <|startoftext|> and <|endoftext|>, from the
merges alone; the Hugging Face vocab.json must equal that encoder (checked).

ftfy is not installable here, so `fix_text` below is the part of ftfy 6.x's default `fix_text` that changes
ordinary text, in ftfy's order and with its fixed-point loop, per line: unescape_html (only for lines while no "<"
was seen), fix_c1_controls, fix_latin_ligatures, fix_character_width, uncurl_quotes, fix_line_breaks, fix_surrogates,
remove_terminal_escapes, remove_control_chars, then NFC. Left out: fix_encoding (mojibake detection and repair:
restore_byte_a0, replace_lossy_sequences, decode_inconsistent_utf8); the fixture's strings carry no mojibake.

Reads {"merges": path, "vocab": path, "bpe": path (optional, OpenAI's headerless bpe_simple_vocab_16e6.txt),
"context_length": 77, "texts": [...]} on stdin; prints {"regex": version, "checks": [...], "cases": [{"text", "ids"}]}.
"""
import html
import html.entities
import itertools
import json
import sys
import unicodedata

import regex as re

# ---------------------------------------------------------------- ftfy subset (ftfy/chardata.py, ftfy/fixes.py)

SINGLE_QUOTE_RE = re.compile("[\u02bc\u2018-\u201b]")
DOUBLE_QUOTE_RE = re.compile("[\u201c-\u201f]")
HTML_ENTITY_RE = re.compile(r"&#?[0-9A-Za-z]{1,24};")
C1_CONTROL_RE = re.compile(r"[\x80-\x9f]")
ANSI_RE = re.compile("\033\\[((?:\\d|;)*)([a-zA-Z])")
SURROGATE_RE = re.compile("[\ud800-\udfff]")
SURROGATE_PAIR_RE = re.compile("[\ud800-\udbff][\udc00-\udfff]")


def _html_entities():
    entities = {}
    for name, char in html.entities.html5.items():
        if name.endswith(";"):
            entities["&" + name] = char
            if name == name.lower():
                upper = "&" + name.upper()
                if html.unescape(upper) == upper:
                    entities[upper] = char.upper()
    return entities


HTML_ENTITIES = _html_entities()
LIGATURES = {
    ord("Ĳ"): "IJ", ord("ĳ"): "ij", ord("ŉ"): "ʼn", ord("Ǳ"): "DZ", ord("ǲ"): "Dz", ord("ǳ"): "dz",
    ord("Ǆ"): "DŽ", ord("ǅ"): "Dž", ord("ǆ"): "dž", ord("Ǉ"): "LJ", ord("ǈ"): "Lj", ord("ǉ"): "lj",
    ord("Ǌ"): "NJ", ord("ǋ"): "Nj", ord("ǌ"): "nj", ord("ﬀ"): "ff", ord("ﬁ"): "fi", ord("ﬂ"): "fl",
    ord("ﬃ"): "ffi", ord("ﬄ"): "ffl", ord("ﬅ"): "ſt", ord("ﬆ"): "st",
}
WIDTH_MAP = {0x3000: " "}
for _i in range(0xFF01, 0xFFF0):
    _alt = unicodedata.normalize("NFKC", chr(_i))
    if _alt != chr(_i):
        WIDTH_MAP[_i] = _alt
CONTROL_CHARS = {
    i: None
    for i in itertools.chain(range(0x00, 0x09), [0x0B], range(0x0E, 0x20), [0x7F], range(0x206A, 0x2070), [0xFEFF], range(0xFFF9, 0xFFFD))
}
# sloppy-windows-1252 for bytes 0x80-0x9f: windows-1252, and the five bytes it leaves undefined kept as they are.
SLOPPY_1252 = {b: (chr(b) if b in (0x81, 0x8D, 0x8F, 0x90, 0x9D) else bytes([b]).decode("cp1252")) for b in range(0x80, 0xA0)}


def _unescape_fixup(match):
    text = match.group(0)
    if text in HTML_ENTITIES:
        return HTML_ENTITIES[text]
    if text.startswith("&#"):
        unescaped = html.unescape(text)
        return text if ";" in unescaped else unescaped
    return text


def fix_surrogates(text):
    if SURROGATE_RE.search(text):
        text = SURROGATE_PAIR_RE.sub(lambda m: chr(0x10000 + (ord(m.group(0)[0]) - 0xD800) * 0x400 + (ord(m.group(0)[1]) - 0xDC00)), text)
        text = SURROGATE_RE.sub("\ufffd", text)
    return text


FIXERS = [
    lambda t: C1_CONTROL_RE.sub(lambda m: SLOPPY_1252[ord(m.group(0))], t),  # fix_c1_controls
    lambda t: t.translate(LIGATURES),  # fix_latin_ligatures
    lambda t: t.translate(WIDTH_MAP),  # fix_character_width
    lambda t: SINGLE_QUOTE_RE.sub("'", DOUBLE_QUOTE_RE.sub('"', t)),  # uncurl_quotes
    lambda t: t.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n").replace("\u0085", "\n"),
    fix_surrogates,
    lambda t: ANSI_RE.sub("", t),  # remove_terminal_escapes
    lambda t: t.translate(CONTROL_CHARS),  # remove_control_chars
]


def fix_segment(text, unescape):
    if "<" in text:
        unescape = False
    while True:
        orig = text
        if unescape:
            text = HTML_ENTITY_RE.sub(_unescape_fixup, text)
        for fixer in FIXERS:
            text = fixer(text)
        text = unicodedata.normalize("NFC", text)
        if text == orig:
            return text


def fix_text(text):
    out, pos, unescape = [], 0, True
    while pos < len(text):
        brk = text.find("\n", pos) + 1 or len(text)
        segment = text[pos:brk]
        if "<" in segment:
            unescape = False
        out.append(fix_segment(segment, unescape))
        pos = brk
    return "".join(out)


# ---------------------------------------------------------------- clip/simple_tokenizer.py


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(2**8):
        if b not in bs:
            bs.append(b)
            cs.append(2**8 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def get_pairs(word):
    return set(zip(word[:-1], word[1:]))


def basic_clean(text):
    text = fix_text(text)
    text = html.unescape(html.unescape(text))
    return text.strip()


def whitespace_clean(text):
    return re.sub(r"\s+", " ", text).strip()


class SimpleTokenizer:
    def __init__(self, merges):
        self.byte_encoder = bytes_to_unicode()
        vocab = list(self.byte_encoder.values())
        vocab = vocab + [v + "</w>" for v in vocab]
        vocab += ["".join(m) for m in merges]
        vocab.extend(["<|startoftext|>", "<|endoftext|>"])
        self.encoder = dict(zip(vocab, range(len(vocab))))
        self.bpe_ranks = dict(zip(merges, range(len(merges))))
        self.cache = {"<|startoftext|>": "<|startoftext|>", "<|endoftext|>": "<|endoftext|>"}
        self.pat = re.compile(r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""", re.IGNORECASE)

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = tuple(token[:-1]) + (token[-1] + "</w>",)
        pairs = get_pairs(word)
        if not pairs:
            return token + "</w>"
        while True:
            bigram = min(pairs, key=lambda pair: self.bpe_ranks.get(pair, float("inf")))
            if bigram not in self.bpe_ranks:
                break
            first, second = bigram
            new_word = []
            i = 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                except ValueError:
                    new_word.extend(word[i:])
                    break
                new_word.extend(word[i:j])
                i = j
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = tuple(new_word)
            if len(word) == 1:
                break
            pairs = get_pairs(word)
        word = " ".join(word)
        self.cache[token] = word
        return word

    def encode(self, text):
        ids = []
        text = whitespace_clean(basic_clean(text)).lower()
        for token in re.findall(self.pat, text):
            token = "".join(self.byte_encoder[b] for b in token.encode("utf-8"))
            ids.extend(self.encoder[t] for t in self.bpe(token).split(" "))
        return ids


def tokenize(tok, text, context_length):
    """clip.tokenize([text], context_length, truncate=True)[0] without the zero padding."""
    sot, eot = tok.encoder["<|startoftext|>"], tok.encoder["<|endoftext|>"]
    ids = [sot] + tok.encode(text) + [eot]
    if len(ids) > context_length:
        ids = ids[:context_length]
        ids[-1] = eot
    return ids


def read_merges(path, header):
    lines = open(path, encoding="utf-8").read().split("\n")
    lines = lines[1:] if header else lines
    # simple_tokenizer: merges[1:49152-256-2+1] of the file with its version line.
    return [tuple(line.split()) for line in lines[: 49152 - 256 - 2]]


def main():
    job = json.load(sys.stdin)
    checks = []
    merges = read_merges(job["merges"], header=True)
    tok = SimpleTokenizer(merges)
    vocab = json.load(open(job["vocab"], encoding="utf-8"))
    if vocab != tok.encoder:
        raise SystemExit("vocab.json differs from the encoder simple_tokenizer builds from merges.txt")
    checks.append(f"vocab.json ({len(vocab)} entries) equals the encoder built from merges.txt ({len(merges)} merges)")
    if job.get("bpe"):
        if read_merges(job["bpe"], header=False) != merges:
            raise SystemExit("bpe_simple_vocab_16e6.txt's first 48894 merges differ from merges.txt")
        checks.append("OpenAI's bpe_simple_vocab_16e6.txt gives the same merges")
    cat = tokenize(tok, "a photo of a cat.", 77)
    if cat != [49406, 320, 1125, 539, 320, 2368, 269, 49407]:
        raise SystemExit(f'"a photo of a cat." gave {cat}')
    checks.append('"a photo of a cat." -> 49406 320 1125 539 320 2368 269 49407')
    n = job.get("context_length", 77)
    cases = [{"text": t, "ids": tokenize(tok, t, n)} for t in job["texts"]]
    print(json.dumps({"regex": re.__version__, "python": sys.version.split()[0], "checks": checks, "cases": cases}, ensure_ascii=False))


if __name__ == "__main__":
    main()
