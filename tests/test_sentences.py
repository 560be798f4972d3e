"""Sentence vectors: embedded once with the real bundled embedder, cached on disk by text, and used
to choose the sentence closest in meaning to the question."""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np
import pytest
from answer_fixture import make_kit

from assistant import sentences as S
from assistant.compose import Toolkit
from assistant.config import Settings
from assistant.embeddings import Embedder, get_embedder
from assistant.query import parse_query
from assistant.types import Hit


class Counting(Embedder):
    """The real embedder, counting the passages it is asked to embed."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.id, self.passages = inner, inner.id, 0

    def embed_batch(self, texts, kind):
        self.passages += len(texts) if kind == "passage" else 0
        return self.inner.embed_batch(texts, kind)


@pytest.fixture(scope="module")
def embedder():
    return get_embedder(Settings.from_env(env={}))


@pytest.fixture
def fresh(monkeypatch):
    monkeypatch.setattr(S, "_MEMO", {})  # each test starts as a new process would


def test_every_sentence_once_then_from_the_cache(tmp_path, embedder, fresh, monkeypatch):
    kit = make_kit()
    first = Counting(embedder)
    vectors = S.sentence_vectors(kit.corpus, kit.chunks, first, tmp_path)
    spans = S.chunk_sentences(kit.corpus, kit.chunks)
    assert len(vectors) == len(spans) and first.passages == len(set(spans.values()))
    assert S.cache_path(tmp_path, embedder.id).exists()
    monkeypatch.setattr(S, "_MEMO", {})  # a new process: the file, not the memo
    again = Counting(embedder)
    cached = S.sentence_vectors(kit.corpus, kit.chunks, again, tmp_path)
    assert again.passages == 0
    span = next(iter(spans))
    q = np.asarray(embedder.embed_query(spans[span]), dtype=np.float32)
    assert cached.cosines(q, [span]) == pytest.approx(vectors.cosines(q, [span]), abs=1e-3)
    assert cached.cosines(q, [("demo", 0, 1)]) == [None]  # not a sentence of any chunk


def test_a_build_writes_every_vector_into_a_new_store_even_when_they_are_in_memory(tmp_path, embedder, fresh):
    """A second index of the same corpus built in one process (the memo holds every vector already)
    still gets a cache of its own: else the next process to open it embeds every sentence again."""
    kit = make_kit()
    S.sentence_vectors(kit.corpus, kit.chunks, embedder, tmp_path / "one")
    again = Counting(embedder)
    S.sentence_vectors(kit.corpus, kit.chunks, again, tmp_path / "two", persist=True)
    assert again.passages == 0  # from memory
    with np.load(S.cache_path(tmp_path / "two", embedder.id)) as data:
        assert len(data["keys"]) == len(set(S.chunk_sentences(kit.corpus, kit.chunks).values()))


def test_a_damaged_or_unwritable_cache_costs_time_not_answers(tmp_path, embedder, fresh, monkeypatch):
    kit = make_kit()
    path = S.cache_path(tmp_path, embedder.id)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"PK\x03\x04 not a zip")
    counting = Counting(embedder)
    vectors = S.sentence_vectors(kit.corpus, kit.chunks, counting, tmp_path)
    assert counting.passages > 0 and len(vectors) > 0
    with np.load(path) as data:  # rewritten whole
        assert len(data["keys"]) == counting.passages
    monkeypatch.setattr(S, "_MEMO", {})
    locked = tmp_path / "ro"
    locked.mkdir()
    os.chmod(locked, 0o500)
    try:
        assert len(S.sentence_vectors(kit.corpus, kit.chunks, embedder, locked)) == len(vectors)
    finally:
        os.chmod(locked, 0o700)


ITEM = ("3．保障儿童食品安全。开展“阳光厨房”行动，保障学生用餐安全。",
        "3．保护未成年人。依法落实未成年人犯罪记录封存制度。严格落实外籍教师无犯罪证明备案制度。")


def demo_kit(vectors_dir=None, embedder=None) -> Toolkit:
    """The invented document with one item of two sentences that a question's words tell apart wrongly."""
    from answer_fixture import TEXT

    from assistant.chunking import chunk_document
    from assistant.corpus import Corpus
    from assistant.retrieve import Retriever
    from assistant.structure import parse_document

    assert ITEM[0] in TEXT
    document = parse_document(TEXT.replace(*ITEM), doc="demo")
    corpus, chunks = Corpus({"demo": document}), chunk_document(document)
    vectors = S.sentence_vectors(corpus, chunks, embedder, vectors_dir) if embedder else None
    return Toolkit(corpus, Retriever(chunks), None, vectors)


@pytest.mark.parametrize("with_vectors", [True, False])
def test_the_sentence_closest_in_meaning_is_quoted(tmp_path, embedder, fresh, with_vectors):
    """"请外国老师要查犯罪记录吗" shares 犯罪记录 with the 封存 sentence; it asks about the other one."""
    kit = demo_kit(tmp_path, embedder if with_vectors else None)
    chunk = next(c for c in kit.chunks if "外籍教师" in c.text)
    query = parse_query("学校请外国老师 要查犯罪记录吗", kit.plan_names)
    query = replace(query, vector=tuple(embedder.embed_query(query.text)))
    best = kit.best_sentences(query, [Hit(chunk, 1.0, dense=0.9)], limit=1)
    quoted = kit.text_of(best[0][0], best[0][1], best[0][2])
    assert ("外籍教师" in quoted) is with_vectors  # words alone pick the wrong sentence


def test_the_vectors_read_from_the_cache_are_held_once(tmp_path, embedder, fresh, monkeypatch):
    """After a start-up from the cache file, the memo's vectors are rows of the SentenceVectors matrix,
    not a second copy of every vector (at 100 plans that copy was 44 MB of the serving process)."""
    kit = make_kit()
    S.sentence_vectors(kit.corpus, kit.chunks, embedder, tmp_path)
    monkeypatch.setattr(S, "_MEMO", {})  # a new process: every vector comes from the file
    vectors = S.sentence_vectors(kit.corpus, kit.chunks, embedder, tmp_path)
    assert len(S._MEMO) == len(vectors.matrix) > 10
    assert all(np.shares_memory(v, vectors.matrix) for v in S._MEMO.values())
