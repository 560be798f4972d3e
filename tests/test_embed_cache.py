"""Embedding cache: a rebuild after a small corpus change embeds only the chunks whose text changed."""

import shutil
import uuid
from pathlib import Path

import numpy as np
import pytest

from assistant import Assistant
from assistant.embeddings import EMBEDDERS, Embedder, get_embedder
from assistant.index import cached_vectors, embed_chunks, read_current, vector_key
from assistant.indexing import build, load_chunks
from assistant.sentences import chunk_sentences

OLD = "产前筛查率达到90％以上"
NEW = "产前筛查率达到95％以上"


class CountingEmbedder(Embedder):
    """The real embedder, counting the passages it is asked to embed."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.id = inner.id  # same model: the session index's vectors stay reusable
        self.passages: list[str] = []

    def embed_batch(self, texts: list[str], kind: str) -> list[list[float]]:
        if kind == "passage":
            self.passages += texts
        return self.inner.embed_batch(texts, kind)


@pytest.fixture()
def counting(monkeypatch, session_settings):
    """A CountingEmbedder registered as a backend of its own (nothing in the index code is replaced)."""
    embedder = CountingEmbedder(get_embedder(session_settings))
    name = f"counting-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(EMBEDDERS, name, lambda s: embedder)
    return name, embedder


@pytest.fixture()
def private(tmp_path, session_settings, assistant, counting):
    """A private corpus copy and a copy of the session index, served through the counting embedder."""
    shutil.copytree(session_settings.corpus_dir, tmp_path / "corpus")
    shutil.copytree(session_settings.index_dir, tmp_path / "index")
    return session_settings.with_(corpus_dir=str(tmp_path / "corpus"), index_dir=str(tmp_path / "index"),
                                  embedder=counting[0])


def live_vectors(settings) -> tuple[list[str], np.ndarray]:
    path, _ = read_current(Path(settings.index_dir))
    return [c.id for c in load_chunks(settings)[1]], np.load(path / "vectors.npy")


def test_small_change_embeds_only_changed_chunks(private, counting, monkeypatch):
    from assistant import sentences as S

    monkeypatch.setattr(S, "_MEMO", {})  # sentence vectors come from the index's cache, not an earlier test's memory
    _, embedder = counting
    _, old_chunks = load_chunks(private)
    old_ids, old_vectors = live_vectors(private)
    path = next(Path(private.corpus_dir).glob("*.txt"))
    shutil.copytree(private.corpus_dir, Path(private.corpus_dir).parent / "old")
    text = path.read_text(encoding="utf-8")
    assert text.count(OLD) == 1
    path.write_text(text.replace(OLD, NEW), encoding="utf-8")
    _, new_chunks = load_chunks(private)
    changed = {c.embed_text for c in new_chunks} - {c.embed_text for c in old_chunks}
    assert 1 <= len(changed) <= 3

    old_corpus, _ = load_chunks(private.with_(corpus_dir=str(Path(private.corpus_dir).parent / "old")))
    new_corpus, _ = load_chunks(private)
    sentences = set(chunk_sentences(new_corpus, new_chunks).values())
    changed_sentences = sentences - set(chunk_sentences(old_corpus, old_chunks).values())
    assert changed_sentences and all(NEW in t for t in changed_sentences)

    assert build(private) is True
    # nothing else was embedded: the changed chunks, then the changed sentences (sentence vectors)
    assert sorted(embedder.passages) == sorted(changed | changed_sentences)

    ids, vectors = live_vectors(private)
    assert len(vectors) == len(new_chunks) and ids == old_ids  # same chunk ids, one vector each
    row = {c.id: i for i, c in enumerate(new_chunks)}
    edited = next(c for c in new_chunks if NEW in c.text)
    fresh = np.asarray(embedder.inner.embed_passages([edited.embed_text])[0], dtype=np.float32)
    assert np.allclose(vectors[row[edited.id]], fresh, atol=1e-5)  # the changed chunk got its new vector
    kept = next(c for c in new_chunks if c.embed_text not in changed)
    assert np.array_equal(vectors[row[kept.id]], old_vectors[old_ids.index(kept.id)])

    answer = Assistant(private, auto_build=False).ask("产前筛查率要达到多少")
    assert answer.answerable and NEW in answer.answer
    embedder.passages.clear()
    assert build(private) is False and embedder.passages == []  # nothing changed: nothing embedded


def test_embed_chunks_reuses_cached_and_embeds_a_repeated_text_once(assistant, counting):
    _, embedder = counting
    a, b = assistant.chunks[:2]
    twin = type(a)(**{**a.__dict__, "id": a.id + "-twin"})
    cached = {vector_key(embedder.id, b.embed_text): np.full(384, 0.5, dtype=np.float32)}
    vectors = embed_chunks(embedder, [a, b, twin], cached=cached)
    assert embedder.passages == [a.embed_text]
    assert vectors.shape == (3, 384) and np.array_equal(vectors[0], vectors[2])
    assert np.all(vectors[1] == 0.5)


def test_damaged_vectors_file_means_embed_everything(private):
    path, manifest = read_current(Path(private.index_dir))
    assert len(cached_vectors(private)) == manifest["count"]
    np.save(path / "vectors.npy", np.zeros((3, 384), dtype=np.float32))
    assert cached_vectors(private) == {}
