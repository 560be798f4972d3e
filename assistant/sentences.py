"""Sentence vectors: every sentence of the text chunks embedded once, so that the sentence quoted from
a retrieved item is the one closest in meaning to the question, not only the one that shares the most
characters with it ("学校招外教 要不要查有没有犯罪记录" -> 外籍教师无犯罪证明备案制度, not the sentence
about 犯罪记录封存 that shares more of the question's words).

A sentence's vector depends only on the model and its text, so vectors are cached by
`vector_key(embedder, text)`: in `<index_dir>/sentences/<embedder>.npz` (float16, written whole to a
temporary file and renamed), or, in server mode, in a collection of the Chroma server beside the
builds (`<collection>-sentences-<embedder>`), so that server mode keeps nothing under index_dir and
every app process shares them. `build` fills the cache; a process that opens the index embeds only
the sentences the cache lacks (a new or edited document) and writes them back. The cache is only a
speed-up: a missing, unreadable or read-only one costs embedding time, never an answer. Within one
process the vectors are also kept in memory, so a second Assistant over the same text embeds nothing.
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from assistant.config import Settings
from assistant.corpus import Corpus
from assistant.embeddings import Embedder
from assistant.index import SERVER_COPIES, http_client, index_store, vector_key
from assistant.targets import row_name
from assistant.text import sentence_spans
from assistant.types import Chunk

log = logging.getLogger(__name__)

Span = tuple[str, int, int]  # (doc, start, end) of a sentence in the corpus text
# Vectors kept in memory across Assistants of one process, by vector_key. Bounded: past this many the
# memo is dropped and refilled from the cache file (a process that opens many corpora in turn).
MEMO_MAX = 300_000
_MEMO: dict[str, np.ndarray] = {}
NAMES = "\0names"  # appended to the embedder id: indicator names have a cache of their own


def chunk_sentences(corpus: Corpus, chunks: Iterable[Chunk]) -> dict[Span, str]:
    """Every sentence of the text chunks (table rows are matched by name, not here), by its span."""
    out: dict[Span, str] = {}
    for chunk in chunks:
        if chunk.kind == "indicator":
            continue
        text = corpus.text(chunk.doc)
        for s, e in sentence_spans(text[chunk.start : chunk.end], chunk.start):
            out[(chunk.doc, s, e)] = text[s:e]
    return out


class SentenceVectors:
    """Unit vectors of sentences by span; `cosine` of a question's vector to one of them."""

    def __init__(self, spans: dict[Span, int], matrix: np.ndarray) -> None:
        self.rows = spans
        self.matrix = matrix  # float16, one unit row per distinct sentence text

    def __len__(self) -> int:
        return len(self.rows)

    def cosines(self, vector, spans: list[Span]) -> list[float | None]:
        """Cosine of a question's vector to each span's sentence; None for a span not embedded."""
        vector = np.asarray(vector, dtype=np.float32)
        vector = vector / max(float(np.linalg.norm(vector)), 1e-9)
        at = [self.rows.get(s) for s in spans]
        known = [i for i in at if i is not None]
        sims = iter(self.matrix[known].astype(np.float32) @ vector if known else ())
        return [float(next(sims)) if i is not None else None for i in at]


def _embedder_tag(embedder_id: str) -> str:
    return hashlib.sha256(embedder_id.encode()).hexdigest()[:16]


def cache_path(index_dir: str | Path, embedder_id: str) -> Path:
    return Path(index_dir) / "sentences" / f"{_embedder_tag(embedder_id)}.npz"


class FileStore:
    """The cache as one file: read whole, rewritten whole with the current corpus's vectors only."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self, keys: list[str]) -> dict[str, np.ndarray]:
        return _read_cache(self.path)

    def write(self, fresh: dict[str, np.ndarray], current: dict[str, np.ndarray]) -> None:
        _write_cache(self.path, current)

    def missing(self, keys: list[str]) -> list[str]:
        try:
            with np.load(self.path, allow_pickle=False) as data:  # the keys alone, not the vectors
                have = set(data["keys"].tolist())
        except Exception:  # no cache, or one that cannot be read: every key is missing
            return list(keys)
        return [k for k in keys if k not in have]


class ServerStore:
    """The cache as a collection of the Chroma server: read by id, new vectors added (upsert)."""

    PAGE = 1000

    def __init__(self, settings: Settings, embedder_id: str) -> None:
        self.settings = settings
        self.name = f"{settings.collection}-sentences-{_embedder_tag(embedder_id)}"

    def _collection(self):
        return http_client(self.settings).get_or_create_collection(self.name, embedding_function=None)

    def read(self, keys: list[str]) -> dict[str, np.ndarray]:
        try:
            collection, out = self._collection(), {}
            for i in range(0, len(keys), self.PAGE):
                got = collection.get(ids=keys[i : i + self.PAGE], include=["embeddings"])
                for key, vector in zip(got["ids"], got["embeddings"]):
                    out[key] = np.asarray(vector, dtype=np.float16)
            return out
        except Exception as exc:  # a speed-up only: embed again
            log.warning("cannot read the sentence vectors from %s (%s); embedding them again", self.name, exc)
            return {}

    def missing(self, keys: list[str]) -> list[str]:
        try:
            collection, have = self._collection(), set()
            for i in range(0, len(keys), self.PAGE):
                have.update(collection.get(ids=keys[i : i + self.PAGE], include=[])["ids"])
            return [k for k in keys if k not in have]
        except Exception as exc:
            log.warning("cannot read the sentence vectors from %s (%s); writing them all", self.name, exc)
            return list(keys)

    def write(self, fresh: dict[str, np.ndarray], current: dict[str, np.ndarray]) -> None:
        try:
            collection, keys = self._collection(), list(fresh)
            for i in range(0, len(keys), self.PAGE):
                batch = keys[i : i + self.PAGE]
                collection.upsert(ids=batch, embeddings=[fresh[k].astype(np.float32).tolist() for k in batch])
        except Exception as exc:
            log.warning("cannot write the sentence vectors to %s (%s); the next start embeds again", self.name, exc)


class LocalFirst:
    """Server mode: the server's store, with this machine's copy of what it read in a file under
    index_dir (a speed-up: 58k vectors at 100x the seed are seconds and hundreds of MB as JSON over
    HTTP, and a file of them is read in a tenth of a second). The server is what counts: `missing`
    asks it, and every vector is written to both."""

    def __init__(self, settings: Settings, embedder_id: str) -> None:
        self.server = ServerStore(settings, embedder_id)
        self.local = FileStore(Path(settings.index_dir) / SERVER_COPIES / f"{self.server.name}.npz")

    def read(self, keys: list[str]) -> dict[str, np.ndarray]:
        have = self.local.read(keys)
        todo = [k for k in keys if k not in have]
        if todo:
            got = self.server.read(todo)
            if got:
                have.update(got)
                self.local.write(got, {k: have[k] for k in keys if k in have})
        return have

    def missing(self, keys: list[str]) -> list[str]:
        return self.server.missing(keys)

    def write(self, fresh: dict[str, np.ndarray], current: dict[str, np.ndarray]) -> None:
        self.server.write(fresh, current)
        self.local.write(fresh, current)


Store = FileStore | ServerStore | LocalFirst


def sentence_store(settings: Settings, embedder_id: str) -> Store:
    """Where this deployment keeps sentence vectors: beside its index store (the Chroma server, or index_dir)."""
    return CACHES[index_store(settings).kind](settings, embedder_id)


CACHES: dict[str, Callable[[Settings, str], Store]] = {
    "folder": lambda settings, embedder_id: FileStore(cache_path(settings.index_dir, embedder_id)),
    "server": LocalFirst,
}


def sentence_vectors(corpus: Corpus, chunks: list[Chunk], embedder: Embedder,
                     where: str | Path | Store,
                     progress: Callable[[int, int], None] | None = None,
                     embed: Callable[[list[str]], np.ndarray] | None = None, persist: bool = False) -> SentenceVectors:
    """The vectors of every sentence of `chunks`: from memory, then the store, then embedded.
    `where` is a store, or a folder for a FileStore.

    `embed` replaces the embedder for the missing texts (the scale benchmark's random vectors)."""
    store = FileStore(cache_path(where, embedder.id)) if isinstance(where, (str, Path)) else where
    texts = chunk_sentences(corpus, chunks)
    keys = {span: vector_key(embedder.id, text) for span, text in texts.items()}
    distinct = list(dict.fromkeys(keys.values()))
    text_of = {keys[span]: text for span, text in texts.items()}
    _fill(distinct, text_of, store, embed or (lambda todo: embedder.embed_passages(todo, progress=progress)),
          "sentences", persist)
    at = {k: i for i, k in enumerate(distinct)}
    matrix = np.stack([_MEMO[k] for k in distinct]) if distinct else np.zeros((0, 1), dtype=np.float16)
    for k, i in at.items():  # the memo's vectors become rows of the matrix: the array read is freed
        _MEMO[k] = matrix[i]  # (held twice, the sentences of 100 plans were 44 MB more of the process)
    return SentenceVectors({span: at[k] for span, k in keys.items()}, matrix)


def name_vectors(chunks: list[Chunk], embedder: Embedder, settings: Settings,
                 embed: Callable[[list[str]], np.ndarray] | None = None,
                 persist: bool = False) -> dict[str, np.ndarray]:
    """Unit vectors (float32) of the indicator rows' names, by name, embedded on the "query" side like
    the question; cached like the sentences, in a store of their own (NAMES)."""
    names = list(dict.fromkeys(row_name(c) for c in chunks if c.kind == "indicator"))
    keys = {name: vector_key(embedder.id + NAMES, name) for name in names}
    _fill(list(keys.values()), {k: n for n, k in keys.items()}, sentence_store(settings, embedder.id + NAMES),
          embed or (lambda todo: embedder.embed_batch(todo, "query")), "indicator names", persist)
    return {name: _MEMO[key].astype(np.float32) for name, key in keys.items()}


def _fill(keys: list[str], text_of: dict[str, str], store: Store,
          embed: Callable[[list[str]], object], what: str, persist: bool = False) -> None:
    """Put the vectors of `keys` into _MEMO: from the store, else embedded (and written back).

    `persist` (a build): the store must end up holding every key, even when this process has them
    all in memory already (a second index built in one process, or a new store of the same corpus)."""
    lacking = store.missing(keys) if persist else []
    if any(k not in _MEMO for k in keys):
        _remember(store.read([k for k in keys if k not in _MEMO]))
    missing = [k for k in keys if k not in _MEMO]
    new = {}
    if missing:
        todo = [text_of[k] for k in missing]
        log.info("embedding %d %s (%d cached)", len(todo), what, len(keys) - len(todo))
        new = dict(zip(missing, _unit(np.asarray(embed(todo), dtype=np.float32)).astype(np.float16)))
        _remember(new)
    if missing or lacking:
        store.write({k: _MEMO[k] for k in dict.fromkeys(missing + lacking)}, {k: _MEMO[k] for k in keys})


def _unit(m: np.ndarray) -> np.ndarray:
    return m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-9) if m.size else m


def _remember(vectors: dict[str, np.ndarray]) -> None:
    if len(_MEMO) + len(vectors) > MEMO_MAX:
        _MEMO.clear()
    _MEMO.update(vectors)


def _read_cache(path: Path) -> dict[str, np.ndarray]:
    """The cached vectors by key; empty when there is no cache or it cannot be read."""
    if not path.exists():
        return {}
    try:
        with np.load(path, allow_pickle=False) as data:
            keys, matrix = data["keys"], data["vectors"]
            if matrix.ndim != 2 or len(keys) != len(matrix) or matrix.dtype != np.float16:
                raise ValueError(f"{len(keys)} keys for a {matrix.dtype} matrix of shape {matrix.shape}")
            return {str(k): v for k, v in zip(keys, matrix)}
    except Exception as exc:  # a speed-up only: embed again
        log.warning("cannot read the sentence-vector cache %s (%s); embedding its sentences again", path, exc)
        return {}


def _write_cache(path: Path, vectors: dict[str, np.ndarray]) -> None:
    """Replace the cache with these vectors (the current corpus's only: it never grows past the corpus)."""
    tmp = path.with_name(f".{path.stem}-{uuid.uuid4().hex[:8]}.tmp.npz")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.asarray(list(vectors), dtype="U64")
        matrix = np.stack(list(vectors.values())) if vectors else np.zeros((0, 1), dtype=np.float16)
        with open(tmp, "wb") as f:
            np.savez(f, keys=keys, vectors=matrix)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        log.warning("cannot write the sentence-vector cache %s (%s); the next start embeds again", path, exc)
