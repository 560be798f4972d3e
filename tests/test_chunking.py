"""Chunk invariants: exact spans, no split inside a jieba word or a number, headings not alone."""

import re

from assistant.chunking import chunk_document, split_text
from assistant.text import tokens


def test_chunk_counts(document):
    chunks = chunk_document(document)
    kinds = {k: sum(c.kind == k for c in chunks) for k in ("task", "indicator", "text")}
    assert kinds["task"] == 62 + 52
    assert kinds["indicator"] == 21 + 19
    assert len({c.id for c in chunks}) == len(chunks)


def test_text_chunks_are_exact_spans(document):
    for c in chunk_document(document):
        if c.kind != "indicator":
            assert document.text[c.start:c.end] == c.text
            assert c.text == c.text.strip()
        assert c.embed_text.startswith(c.section)


def test_section_path_and_metadata(document):
    chunk = next(c for c in chunk_document(document) if "3．提升妇女生殖健康服务水平" in c.section)
    assert chunk.section == "妇女规划 > 二、发展领域的主要任务与措施 > （二）妇女与健康 > 3．提升妇女生殖健康服务水平"
    assert chunk.item == "3" and chunk.plan == "women"
    assert set(chunk.metadata()) >= {"plan", "section", "item", "start", "end", "doc"}


def test_headings_are_never_chunks_alone(document):
    for c in chunk_document(document):
        assert not re.fullmatch(r"[（(][一二三四五六七八九十]+[)）][^。]{0,30}。?", c.text), c.text


def test_indicator_chunk_reads_as_a_sentence(document):
    c = next(c for c in chunk_document(document) if c.kind == "indicator" and "婚前医学检查率" in c.text)
    assert c.text == "妇女规划重点指标（妇女与健康）：婚前医学检查率（％），2020年为92.41，2025年目标为>85。"


def _boundaries_ok(text, pieces):
    words = set()
    pos = 0
    for tok in tokens(text):
        pos += len(tok)
        words.add(pos)
    for s, e in pieces:
        for cut in (s, e):
            if 0 < cut < len(text):
                near = text[cut - 5:cut + 5]
                assert cut in words or text[cut - 1] in "。；！？\n" or text[cut].isspace(), (cut, near)
                assert not (text[cut - 1].isdigit() and text[cut].isdigit())


def test_long_items_split_at_sentences_within_budget(document):
    item = max((c for c in chunk_document(document) if c.kind == "task"), key=lambda c: len(c.text))
    pieces = split_text(document.text, item.start, item.end, max_tokens=40)
    assert len(pieces) > 2
    assert pieces[0][0] == item.start and pieces[-1][1] == item.end
    for (s1, e1), (s2, e2) in zip(pieces, pieces[1:]):
        assert document.text[e1:s2].strip() == ""  # nothing lost between pieces
    for s, e in pieces:
        assert document.text[e - 1] in "。；！？" or len(tokens(document.text[s:e])) <= 40
    _boundaries_ok(document.text[item.start:item.end], [(s - item.start, e - item.start) for s, e in pieces])


def test_a_sentence_over_budget_is_cut_between_words_not_numbers():
    text = "婚前医学检查率保持在85％以上，产前筛查率达到90.5％以上，" * 6 + "完。"
    pieces = split_text(text, 0, len(text), max_tokens=12)
    assert len(pieces) > 3
    assert "".join(text[s:e] for s, e in pieces) == text
    _boundaries_ok(text, pieces)


def test_small_budget_chunking_keeps_every_chunk_exact(document):
    for c in chunk_document(document, max_tokens=30):
        if c.kind != "indicator":
            assert document.text[c.start:c.end] == c.text
            assert len(tokens(c.text)) <= 30 or c.text[-1] in "。；！？"
