"""The vector index: the only module that imports chromadb. [I/O]

Layout under index_dir (embedded mode):
    CURRENT                      name of the live build, replaced atomically
    build-<stamp>-<id>/          one complete build: chroma/ + chunks.json + manifest.json
    .partial-<uuid>/             a build in progress; never read, removed on the next build
A build is written aside and only becomes live when CURRENT points at it, so a crash or a
kill -9 mid-build leaves the previous index serving.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from assistant.config import Settings
from assistant.errors import IndexStateError
from assistant.types import Chunk

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
MANIFEST_KEYS = ("schema", "corpus_sha256", "chunker_version", "embedder_id", "chunk_max_tokens")
KEEP_BUILDS = 2  # the live build and the one before it (a serving process may still read it)


def _chroma_settings():
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def _collection_name(settings: Settings) -> str:
    return f"{settings.collection}-v{SCHEMA_VERSION}"


class ChromaIndex:
    """A built index: Chroma vectors plus the chunks and the manifest that describe them."""

    def __init__(self, path: Path, manifest: dict, chunks: list[Chunk], collection) -> None:
        self.path = path
        self.manifest = manifest
        self.chunks = chunks
        self.by_id = {c.id: c for c in chunks}
        self._collection = collection

    def search_vector(self, vector: list[float], n: int, plans: list[str] | None = None,
                      docs: list[str] | None = None) -> list[tuple[Chunk, float]]:
        """Nearest chunks by cosine similarity, best first, optionally filtered by plan/doc."""
        where = _where(plans, docs)
        n = max(1, min(n, len(self.chunks)))
        res = self._collection.query(query_embeddings=[vector], n_results=n, where=where,
                                     include=["distances"])
        ids, dists = res["ids"][0], res["distances"][0]
        return [(self.by_id[i], 1.0 - d) for i, d in zip(ids, dists) if i in self.by_id]


def _where(plans: list[str] | None, docs: list[str] | None) -> dict | None:
    conds = []
    if plans:
        conds.append({"plan": {"$in": list(plans)}})
    if docs:
        conds.append({"doc": {"$in": list(docs)}})
    if not conds:
        return None
    return conds[0] if len(conds) == 1 else {"$and": conds}


def expected_manifest(corpus_sha256: str, chunker_version: str, embedder_id: str, settings: Settings) -> dict:
    """What the manifest of an up-to-date index must say."""
    return {"schema": SCHEMA_VERSION, "corpus_sha256": corpus_sha256, "chunker_version": chunker_version,
            "embedder_id": embedder_id, "chunk_max_tokens": settings.chunk_max_tokens}


def read_current(index_dir: Path) -> tuple[Path, dict] | None:
    """(build path, manifest) of the live build, None when there is none yet."""
    pointer = index_dir / "CURRENT"
    if not index_dir.exists() or not pointer.exists():
        if index_dir.exists() and any(p for p in index_dir.iterdir() if not p.name.startswith(".")):
            foreign = [p.name for p in index_dir.iterdir() if not p.name.startswith((".", "build-"))]
            if foreign:
                raise IndexStateError(
                    f"{index_dir} holds files that are not an assistant index ({', '.join(sorted(foreign)[:3])}); "
                    "point ASSISTANT_INDEX_DIR at an empty folder or remove them, then run `python -m assistant build`")
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    path = index_dir / name
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexStateError(f"the index at {path} is damaged ({exc}); run `python -m assistant build --force`") from exc
    return path, manifest


def is_current(manifest: dict | None, expected: dict) -> bool:
    return manifest is not None and all(manifest.get(k) == expected[k] for k in MANIFEST_KEYS)


def open_index(settings: Settings) -> ChromaIndex:
    """Open the live build of index_dir."""
    import chromadb

    index_dir = Path(settings.index_dir)
    found = read_current(index_dir)
    if found is None:
        raise IndexStateError(f"no index in {index_dir}; run `python -m assistant build`")
    path, manifest = found
    try:
        chunks = [Chunk(**d) for d in json.loads((path / "chunks.json").read_text(encoding="utf-8"))]
        client = chromadb.PersistentClient(path=str(path / "chroma"), settings=_chroma_settings())
        collection = client.get_collection(_collection_name(settings), embedding_function=None)
        if collection.count() != len(chunks):
            raise IndexStateError(f"{path}: {collection.count()} vectors for {len(chunks)} chunks")
    except IndexStateError:
        raise
    except Exception as exc:
        raise IndexStateError(f"the index at {path} cannot be opened ({exc}); run `python -m assistant build --force`") from exc
    return ChromaIndex(path, manifest, chunks, collection)


def build_index(settings: Settings, chunks: list[Chunk], vectors: list[list[float]], manifest: dict) -> Path:
    """Write a complete build aside, then make it live by replacing CURRENT atomically."""
    import chromadb

    index_dir = Path(settings.index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    _remove_partials(index_dir)
    partial = index_dir / f".partial-{uuid.uuid4().hex[:12]}"
    partial.mkdir()
    try:
        client = chromadb.PersistentClient(path=str(partial / "chroma"), settings=_chroma_settings())
        collection = client.create_collection(_collection_name(settings), embedding_function=None,
                                              metadata={"hnsw:space": "cosine", **_flat(manifest)})
        for i in range(0, len(chunks), 256):
            batch = chunks[i : i + 256]
            collection.add(ids=[c.id for c in batch], embeddings=vectors[i : i + 256],
                           documents=[c.embed_text for c in batch], metadatas=[c.metadata() for c in batch])
        _write_json(partial / "chunks.json", [asdict(c) for c in chunks])
        _write_json(partial / "manifest.json", {**manifest, "count": len(chunks), "built_at": time.time()})
        del collection, client
        final = index_dir / f"build-{time.strftime('%Y%m%d-%H%M%S')}-{partial.name[-6:]}"
        os.rename(partial, final)
        _replace_text(index_dir / "CURRENT", final.name)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    _prune(index_dir, final.name)
    return final


def _flat(manifest: dict) -> dict:
    return {f"assistant_{k}": v for k, v in manifest.items() if isinstance(v, (str, int, float, bool))}


def _write_json(path: Path, data) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False)
        f.flush()
        os.fsync(f.fileno())


def _replace_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + f".{uuid.uuid4().hex[:8]}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _remove_partials(index_dir: Path) -> None:
    for p in index_dir.glob(".partial-*"):
        shutil.rmtree(p, ignore_errors=True)
    for p in index_dir.glob("CURRENT.*.tmp"):
        p.unlink(missing_ok=True)


def _prune(index_dir: Path, live: str) -> None:
    builds = sorted((p for p in index_dir.glob("build-*") if p.name != live), key=lambda p: p.name)
    for old in builds[: max(0, len(builds) - (KEEP_BUILDS - 1))]:
        shutil.rmtree(old, ignore_errors=True)


def embed_chunks(embedder, chunks: list[Chunk], progress: Callable[[int, int], None] | None = None):
    """Vectors of the chunks' embed_text, in order."""
    return embedder.embed_passages([c.embed_text for c in chunks], progress=progress)
