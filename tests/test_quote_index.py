"""The quotation check's candidate windows, counted from postings, are those of the plain definition.

The reference below is the first version of the check, kept as the specification: every sentence's
bigram set, sliding windows over each document, and a stable sort of every window by the number of
the quote's bigrams it shares. QuoteIndex must pick the same windows in the same order (so every
verdict is as it was) while reading only the postings of the quote's bigrams.
"""

import random
import re

import pytest

from assistant.corpus import load_corpus
from assistant.quotes import CANDIDATES, QuoteIndex, _squash, check_quote
from assistant.text import char_bigrams, sentence_spans


def reference_windows(corpus, q: str, n: int) -> list[tuple[int, int, int]]:
    grams = char_bigrams(q)
    out = []
    for k, doc in enumerate(corpus.documents.values()):
        spans = [(s, e, frozenset(char_bigrams(doc.text[s:e])), len(_squash(doc.text[s:e])[0]))
                 for s, e in sentence_spans(doc.text)]
        shared = [grams & b for _, _, b, _ in spans]
        j, size = 0, 0
        for i in range(len(spans)):
            windows = [(i, i)]
            if j < i:
                j, size = i, spans[i][3]
            while j + 1 < len(spans) and size < len(q):
                j += 1
                size += spans[j][3]
            if j > i:
                windows.append((i, j))
            size -= spans[i][3]
            for a, b in windows:
                overlap = len(shared[a].union(*shared[a + 1 : b + 1]))
                if overlap:
                    out.append((overlap, k, spans[a][0], spans[b][1]))
    out.sort(key=lambda w: -w[0])
    return [(k, s, e) for _, k, s, e in out[:n]]


@pytest.fixture(scope="module")
def three_documents(corpus_text, tmp_path_factory):
    """The seed plan and two copies with other figures and other line breaks: near-duplicates, as at scale."""
    folder = tmp_path_factory.mktemp("three")
    (folder / "a.txt").write_text(corpus_text, encoding="utf-8")
    (folder / "b.txt").write_text(re.sub(r"\d", lambda m: str((int(m.group()) + 3) % 10), corpus_text),
                                  encoding="utf-8")
    (folder / "c.txt").write_text(corpus_text.replace("。", "。\n  ")[: len(corpus_text) // 2], encoding="utf-8")
    return load_corpus(folder)


def quotes(text: str, count: int, seed: int = 5) -> list[str]:
    """Passages of the text as trainers paste them: exact, a figure or a word changed, a piece left out, noise."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        length = rng.choice([4, 8, 16, 30, 60, 120, 400])
        i = rng.randrange(0, len(text) - length)
        q = text[i : i + length]
        kind = rng.random()
        j = rng.randrange(len(q))
        if kind < 0.3:
            q = q[:j] + rng.choice("0123456789的和规划") + q[j + 1 :]
        elif kind < 0.6:
            q = q[:j] + q[j + 3 :]
        elif kind < 0.8:
            q = "".join(rng.choice(text) for _ in range(length))
        out.append(_squash(q.strip())[0])
    return [q for q in out if len(q) >= 2]


def test_windows_are_those_of_the_reference(three_documents):
    index = QuoteIndex(three_documents)
    text = "".join(d.text for d in three_documents.documents.values())
    checked = 0
    for q in quotes(text, 120):
        assert index.windows(q, CANDIDATES) == reference_windows(three_documents, q, CANDIDATES), q
        checked += 1
    assert checked > 100


def test_a_quote_sharing_nothing_has_no_window(three_documents):
    assert QuoteIndex(three_documents).windows("ＱＷＥＲＴＹ乾坤", CANDIDATES) == []


def test_verdicts_across_near_duplicate_documents(three_documents):
    b = three_documents.documents["b"].text
    start = b.index("婚前医学检查率")
    exact = check_quote(three_documents, b[start : start + 20])
    assert (exact.verdict, exact.doc) == ("exact", "b")  # b's own figures: b, not a
    changed = b[start : start + 40].replace("婚前", "婚后")
    near = check_quote(three_documents, changed)
    assert (near.verdict, near.doc, near.diffs) == ("differs", "b", [("后", "前")])  # b again: its figures match
