"""Check a trainer's quotation against the plan text: exact, differs (and where), or not found. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from assistant.corpus import Corpus
from assistant.text import char_bigrams, sentence_spans

QUOTED = re.compile(r"[“\"'‘「『]([^“”\"'‘’「」『』]{4,})[”\"'’」』]")
SAYS = re.compile(r"(?:是不是说|是否说|是否提到|有没有说|有没有提到|里说|写着|原文是|是不是写)[：:，,]?\s*(.{4,}?)[？?吗呢。]*$")
MEASURE = set("家个所项岁人名次天万元％‰%")
DIFFERS_MIN = 0.6  # similarity above which a near passage is "the same sentence, differently worded"


@dataclass
class QuoteCheck:
    verdict: str  # "exact" | "differs" | "not_found"
    quote: str
    doc: str = ""
    start: int = 0
    end: int = 0
    ratio: float = 0.0
    diffs: list[tuple[str, str]] = field(default_factory=list)  # (quoted, source) pairs


def extract_quote(question: str) -> str | None:
    """The quoted passage in a question, if it asks whether the plan says it."""
    m = QUOTED.search(question)
    if m:
        return m.group(1).strip()
    m = SAYS.search(question.strip())
    return m.group(1).strip() if m else None


def _squash(text: str) -> tuple[str, list[int]]:
    """Text without whitespace, and for each kept character its offset in the original."""
    kept, pos = [], []
    for i, ch in enumerate(text):
        if not ch.isspace():
            kept.append(ch)
            pos.append(i)
    return "".join(kept), pos


def check_quote(corpus: Corpus, quote: str) -> QuoteCheck:
    """Find the quotation in the corpus: verbatim (ignoring line breaks), or the closest sentence."""
    q, _ = _squash(quote.strip().strip("。，；"))
    if len(q) < 2:
        return QuoteCheck("not_found", quote)
    for doc in corpus.documents.values():
        flat, pos = _squash(doc.text)
        i = flat.find(q)
        if i >= 0:
            return QuoteCheck("exact", quote, doc.doc, pos[i], pos[i + len(q) - 1] + 1, 1.0)
    best = _closest(corpus, q)
    if best is None or best.ratio < DIFFERS_MIN:
        return QuoteCheck("not_found", quote)
    best.quote = quote
    return best


def _closest(corpus: Corpus, q: str) -> QuoteCheck | None:
    grams = char_bigrams(q)
    candidates = []
    for doc in corpus.documents.values():
        for s, e in sentence_spans(doc.text):
            overlap = len(grams & char_bigrams(doc.text[s:e]))
            if overlap:
                candidates.append((overlap, doc, s, e))
    candidates.sort(key=lambda c: -c[0])
    best: QuoteCheck | None = None
    for _, doc, s, e in candidates[:30]:
        flat, pos = _squash(doc.text[s:e])
        sm = SequenceMatcher(None, flat, q, autojunk=False)
        blocks = [b for b in sm.get_matching_blocks() if b.size]
        if not blocks:
            continue
        a0, a1 = blocks[0].a, blocks[-1].a + blocks[-1].size
        # Extend the aligned source region to cover unmatched quote characters at either end.
        a0 = max(0, a0 - blocks[0].b)
        a1 = min(len(flat), a1 + (len(q) - blocks[-1].b - blocks[-1].size))
        region = flat[a0:a1]
        ratio = SequenceMatcher(None, region, q, autojunk=False).ratio()
        if best is None or ratio > best.ratio:
            best = QuoteCheck("differs", q, doc.doc, s + pos[a0], s + pos[a1 - 1] + 1, ratio,
                              differences(region, q))
    return best


def differences(source: str, quoted: str) -> list[tuple[str, str]]:
    """(quoted, source) pairs where the wording differs, widened to whole numbers with their unit."""
    out = []
    for op, a0, a1, b0, b1 in SequenceMatcher(None, source, quoted, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        a0, a1 = _widen(source, a0, a1)
        b0, b1 = _widen(quoted, b0, b1)
        out.append((quoted[b0:b1], source[a0:a1]))
    return out


def _widen(text: str, i: int, j: int) -> tuple[int, int]:
    """Widen a differing segment that touches a number to the whole number and its unit ("2家")."""
    num = set("0123456789.")
    touches = any(ch in num for ch in text[i:j]) or (i == j and (
        (i > 0 and text[i - 1] in num) or (i < len(text) and text[i] in num)))
    if touches:
        while i > 0 and text[i - 1] in num:
            i -= 1
        while j < len(text) and text[j] in num:
            j += 1
        if j < len(text) and text[j] in MEASURE:
            j += 1
    return i, j
