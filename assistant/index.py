"""The vector index: the only module that imports chromadb. [I/O]

Layout under index_dir (embedded mode):
    CURRENT                      name of the live build, replaced atomically
    build-<stamp>-<id>/          one complete build: chroma/ + chunks.json + keywords/ + manifest.json
    .partial-<uuid>/             a build in progress; never read, removed on the next build
    .build.lock                  flock held by the one build that is writing
A build is written aside and only becomes live when CURRENT points at it, so a crash or a
kill -9 mid-build leaves the previous index serving. Builds take .build.lock, so a second build
waits for the first, and a .partial-* found under the lock belongs to a build that died.
Serving never writes here: Chroma rewrites its files when it opens them, so a server opens a
private copy of the live build (a read-only mount works; two servers never share Chroma's files).
While it copies, it holds a shared flock on the build's manifest.json (flock writes nothing, so
this works on a read-only mount too); a build prunes only old builds it can lock exclusively,
so an open never loses its build halfway through the copy.
A build also keeps vectors.npy (rows aligned with chunks.json), so the next build embeds only
chunks whose text changed (see embed_chunks / cached_vectors), and the keyword index (keywords/,
keywords.KeywordIndex, with each chunk's terms), so that opening an index chunks and tokenizes
nothing. documents.json holds each document's parse key: the next build takes the chunks of a
document whose parse is unchanged from chunks.json (LiveBuild). An edit's build copies the live
build's chroma/ and writes only the changed chunks into the copy (_write_delta); the manifest's
"delta" counts the chunks changed since the collection was last written whole.

Server mode (ASSISTANT_CHROMA_HOST set): see the "server mode" section below.

Both are one interface, `IndexStore` (live, lock, cached_vectors, build_aside, make_live, open, drop),
with two backends, FolderStore and ServerStore, chosen from STORES by `index_store(settings)`.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import tempfile
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from assistant.config import Settings
from assistant.errors import IndexStateError
from assistant.keywords import KeywordIndex, Tokenized, load_terms
from assistant.types import Chunk

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2  # 2: the build holds its keyword index (folder) or each chunk's terms (server)
MANIFEST_KEYS = ("schema", "corpus_sha256", "chunker_version", "embedder_id", "chunk_max_tokens")
KEEP_BUILDS = 2  # the live build and the one before it
BUILD_LOCK_TIMEOUT = 600.0  # seconds a build waits for another build of the same index_dir
BUILD_NAME = re.compile(r"build-[\w-]+")
REBUILD = "run `python -m assistant build --force`"
COPY_PREFIX = "assistant-index-"  # + "<pid>-<random>": a serving process's private copy of the live build
OPEN_ATTEMPTS = 3  # an open that failed while a newer build replaced CURRENT tries the new live build


def _chroma_settings():
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def _collection_name(settings: Settings) -> str:
    return f"{settings.collection}-v{SCHEMA_VERSION}"


class ChromaIndex:
    """A built index: Chroma vectors plus the chunks and the manifest that describe them."""

    def __init__(self, path: Path | str, manifest: dict, chunks: list[Chunk], collection,
                 reopen: Callable[[], object] | None = None, keywords: KeywordIndex | None = None) -> None:
        self.path = path  # the build folder, or "http://host:port/<collection>" in server mode
        self.manifest = manifest
        self.chunks = chunks
        self.keywords = keywords  # the build's keyword index; None: the Retriever builds one
        self.by_id = {c.id: c for c in chunks}
        self._collection = collection
        self._reopen = reopen  # server mode: the live collection again, after a rebuild dropped ours

    def search_vector(self, vector: list[float], n: int, plans: list[str] | None = None,
                      docs: list[str] | None = None, fronts: list[str] | None = None) -> list[tuple[Chunk, float]]:
        """Nearest chunks by cosine similarity, best first, optionally filtered by plan/doc; `fronts`: the
        documents whose front matter (a cover notice, of no one plan) is within the plans asked."""
        where = _where(plans, docs, fronts)
        n = max(1, min(n, len(self.chunks)))
        try:
            res = self._query(vector, n, where)
        except Exception as exc:
            from chromadb.errors import NotFoundError

            if self._reopen is None or not isinstance(exc, NotFoundError):
                raise
            log.info("the collection this process opened was dropped by a newer build; reopening the live one")
            self._collection = self._reopen()
            res = self._query(vector, n, where)
        ids, dists = res["ids"][0], res["distances"][0]
        return [(self.by_id[i], 1.0 - d) for i, d in zip(ids, dists) if i in self.by_id]

    def _query(self, vector: list[float], n: int, where: dict | None) -> dict:
        return self._collection.query(query_embeddings=[vector], n_results=n, where=where, include=["distances"])


def _where(plans: list[str] | None, docs: list[str] | None, fronts: list[str] | None = None) -> dict | None:
    conds: list[dict] = []
    if plans and fronts:  # the plans' chunks, or the front matter of their documents
        conds.append({"$or": [{"plan": {"$in": list(plans)}},
                              {"$and": [{"plan": {"$eq": ""}}, {"doc": {"$in": list(fronts)}}]}]})
    elif plans:
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
    """(build path, manifest) of the live build; None when there is none yet, or when it is damaged.

    A damaged CURRENT or manifest counts as no index, so the next build replaces it: the
    `build --force` that open_index's error names does repair it. Someone else's folder still raises.
    """
    if not _has_pointer(index_dir):
        return None
    try:
        return _read_pointer(index_dir)
    except IndexStateError as exc:
        log.warning("%s", exc)
        return None


def _has_pointer(index_dir: Path) -> bool:
    """True when index_dir holds a CURRENT; an error for a file or a folder of someone else's files."""
    if index_dir.exists() and not index_dir.is_dir():
        raise IndexStateError(f"{index_dir} is a file, not an index folder; point ASSISTANT_INDEX_DIR at a folder")
    if (index_dir / "CURRENT").exists():
        return True
    if index_dir.exists():
        foreign = [p.name for p in index_dir.iterdir()
                   if not p.name.startswith((".", "build-"))
                   and p.name not in ("README.md", "sentences", SERVER_COPIES)]
        if foreign:
            raise IndexStateError(
                f"{index_dir} holds files that are not an assistant index ({', '.join(sorted(foreign)[:3])}); "
                "point ASSISTANT_INDEX_DIR at an empty folder or remove them, then run `python -m assistant build`")
    return False


def _read_pointer(index_dir: Path) -> tuple[Path, dict]:
    """The build CURRENT names and its manifest; IndexStateError naming the repair when damaged."""
    try:
        name = (index_dir / "CURRENT").read_text(encoding="utf-8").strip()
        if not BUILD_NAME.fullmatch(name):  # never follow "../x" or "/elsewhere" out of index_dir
            raise ValueError(f"CURRENT names {name[:40]!r}, not a build")
        path = index_dir / name
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            raise ValueError("manifest.json is not an object")
    except (OSError, ValueError) as exc:
        raise IndexStateError(f"the index in {index_dir} is damaged ({exc}); {REBUILD}") from exc
    return path, manifest


def is_current(manifest: dict | None, expected: dict) -> bool:
    return manifest is not None and all(manifest.get(k) == expected[k] for k in MANIFEST_KEYS)


def open_index(settings: Settings, corpus=None) -> ChromaIndex:
    """Open the live index of this deployment's store (see IndexStore.open)."""
    return index_store(settings).open(corpus)


def _open_folder(settings: Settings) -> ChromaIndex:
    """Open the live build of index_dir (from a private copy: serving never writes to index_dir)."""
    index_dir = Path(settings.index_dir)
    if not _has_pointer(index_dir):
        raise IndexStateError(f"no index in {index_dir}; run `python -m assistant build`")
    _remove_stale_copies()
    for _ in range(OPEN_ATTEMPTS - 1):
        seen = _pointer_text(index_dir)
        try:
            return _open_build(settings, *_read_pointer(index_dir))
        except IndexStateError:
            # The build that was live when we read CURRENT can be pruned before we pin it (two newer
            # builds finished meanwhile): no damage, the new live build is opened instead.
            if _pointer_text(index_dir) == seen:
                raise
            log.info("the index in %s was replaced while opening it; opening the new live build", index_dir)
    return _open_build(settings, *_read_pointer(index_dir))


def _pointer_text(index_dir: Path) -> str | None:
    try:
        return (index_dir / "CURRENT").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _open_build(settings: Settings, path: Path, manifest: dict) -> ChromaIndex:
    """A private copy of one build, made while the build is pinned so that no build prunes it meanwhile."""
    work = Path(tempfile.mkdtemp(prefix=f"{COPY_PREFIX}{os.getpid()}-"))
    _COPIES.add(work)
    _remove_copies_on_sigterm()
    try:
        with _pinned(path):
            chunks = _read_chunks(path)
            keywords = KeywordIndex.load(path / KEYWORDS_DIR, chunks)
            collection = _open_copy(path / "chroma", work / "chroma", settings)
        if collection.count() != len(chunks):
            raise IndexStateError(f"the index at {path} has {collection.count()} vectors for {len(chunks)} chunks; "
                                  f"{REBUILD}")
    except BaseException as exc:
        _remove_copy(work)
        if isinstance(exc, IndexStateError) or not isinstance(exc, Exception):
            raise
        raise IndexStateError(f"the index at {path} cannot be opened ({exc}); {REBUILD}") from exc
    if keywords is None:
        log.warning("the keyword index of %s is missing or stale; building it in memory", path)
    index = ChromaIndex(path, manifest, chunks, collection, keywords=keywords)
    weakref.finalize(index, _remove_copy, work)
    return index


@contextmanager
def _pinned(build: Path) -> Iterator[None]:
    """Hold a shared flock on build/manifest.json: _prune leaves a pinned build alone.

    FileNotFoundError when the build was pruned before the lock was taken (the pruner holds its
    exclusive lock until every file is gone, so a lock taken on a still-linked file is safe).
    """
    fd = os.open(build / "manifest.json", os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        if os.fstat(fd).st_nlink == 0:
            raise FileNotFoundError(errno.ENOENT, "pruned by a newer build", str(build))
        yield
    finally:
        os.close(fd)


# ---- private copies --------------------------------------------------------------------------
# Each open makes /tmp/assistant-index-<pid>-*; weakref.finalize removes it when the index is
# collected or at exit. SIGTERM's default action ends a process without running exit handlers, so
# a process that has not set its own SIGTERM handler gets one that removes the copies first and
# then dies of SIGTERM as before. Copies of processes that died anyway (kill -9) are removed by the
# next open (_remove_stale_copies).

_COPIES: set[Path] = set()  # this process's private copies that still exist


def _remove_copy(work: Path) -> None:
    _COPIES.discard(work)
    shutil.rmtree(work, ignore_errors=True)


def _remove_copies_on_sigterm() -> None:
    """Install _on_sigterm if SIGTERM still has its default action (a handler set by the app wins)."""
    if threading.current_thread() is not threading.main_thread():
        return  # signal.signal works only in the main thread
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _on_sigterm)


def _on_sigterm(signum: int, frame) -> None:
    for work in list(_COPIES):
        _remove_copy(work)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)  # die of SIGTERM, as without this handler


def _remove_stale_copies() -> None:
    """Remove private copies left by processes that died without cleaning up (kill -9, SIGTERM)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{COPY_PREFIX}*-*"):
        pid = folder.name[len(COPY_PREFIX):].split("-", 1)[0]
        if pid.isdecimal() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _open_copy(chroma_dir: Path, copy: Path, settings: Settings):
    """The collection of a private copy of chroma_dir: Chroma rewrites its files even to read them."""
    import chromadb

    shutil.copytree(chroma_dir, copy)
    client = chromadb.PersistentClient(path=str(copy), settings=_chroma_settings())
    return client.get_collection(_collection_name(settings), embedding_function=None)


def build_index(settings: Settings, chunks: list[Chunk], vectors, manifest: dict,
                lock_timeout: float = BUILD_LOCK_TIMEOUT, keywords: KeywordIndex | None = None,
                documents: Mapping[str, str] | None = None, base: LiveBuild | None = None) -> Path | str:
    """Write a complete build aside, then make it live by replacing CURRENT atomically.

    `keywords`: the chunks' keyword index, stored with the build (built here when not given).
    `documents`: each document's parse key (indexing.document_key), stored so that the next build
    reuses the chunks of documents whose parse did not change. `base`: the live build this one
    was computed from (FolderStore.reusable): its Chroma files are copied and only the chunks that
    changed are written into them (see _write_delta).
    In server mode: write a new collection, then switch the server's pointer to it (returns its name).
    """
    if len(vectors) != len(chunks):
        raise ValueError(f"{len(vectors)} vectors for {len(chunks)} chunks")
    manifest = {**manifest, "ids_sha256": ids_sha256(c.id for c in chunks), "count": len(chunks)}
    keywords = keywords if keywords is not None and keywords.terms is not None else KeywordIndex.build(chunks)
    store = index_store(settings)
    with store.lock(lock_timeout):
        return store.make_live(store.build_aside(chunks, vectors, manifest, keywords, documents or {}, base))


_held = threading.local()  # .held: the index_dirs whose build lock this thread holds


@contextmanager
def build_lock(index_dir: Path, timeout: float = BUILD_LOCK_TIMEOUT) -> Iterator[None]:
    """Hold index_dir/.build.lock; a second build waits up to `timeout` seconds, then fails clearly.

    The thread that holds it may take it again (indexing.build holds it from its up-to-date check to
    build_index, so that builds started at once end in one build, not one each).
    """
    key = os.path.realpath(index_dir)
    held: set[str] = _held.__dict__.setdefault("held", set())
    if key in held:
        yield
        return
    with open(index_dir / ".build.lock", "a+", encoding="utf-8") as f:
        deadline = time.monotonic() + timeout
        if not _try_lock(f):
            log.warning("another build of %s is running (pid %s); waiting for it", index_dir, _holder(f))
        while not _try_lock(f):
            if time.monotonic() >= deadline:
                raise IndexStateError(f"another build of {index_dir} is still running (pid {_holder(f)}); "
                                      "wait for it to finish, then run `python -m assistant build`")
            time.sleep(0.1)
        try:
            f.seek(0)
            f.truncate()
            f.write(str(os.getpid()))
            f.flush()
            held.add(key)
            yield
        finally:
            held.discard(key)
            fcntl.flock(f, fcntl.LOCK_UN)


def writer_lock(settings: Settings):
    """The store's writer lock (folder: index_dir's build lock; server: none, builds there are not serialized)."""
    return index_store(settings).lock()


def _try_lock(f) -> bool:
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _holder(f) -> str:
    """The pid the lock holder wrote into the lock file."""
    f.seek(0)
    return f.read().strip() or "unknown"


def _write_partial(settings: Settings, index_dir: Path, chunks: list[Chunk], vectors, manifest: dict,
                   keywords: KeywordIndex, documents: Mapping[str, str] | None = None,
                   base: LiveBuild | None = None) -> Path:
    """Write chroma/, chunks.json, keywords/, documents.json and manifest.json into a partial folder (not live yet)."""
    partial = index_dir / f".partial-{uuid.uuid4().hex[:12]}"
    partial.mkdir()
    try:
        delta = _write_delta(settings, partial, chunks, vectors, manifest, base) if base is not None else None
        if delta is None:
            _write_whole(settings, partial, chunks, vectors, manifest)
        _write_chunks(partial, chunks)
        keywords.save(partial / KEYWORDS_DIR)
        _write_json(partial / DOCUMENTS_FILE, dict(documents or {}))
        np.save(partial / VECTORS_FILE, np.asarray(vectors, dtype=np.float32))  # the next build's cache
        _write_json(partial / "manifest.json", {**manifest, DELTA: delta or 0, "built_at": time.time()})
        _fsync_tree(partial)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return partial


def _write_whole(settings: Settings, partial: Path, chunks: list[Chunk], vectors, manifest: dict) -> None:
    """A new Chroma collection holding every chunk."""
    import chromadb

    client = chromadb.PersistentClient(path=str(partial / "chroma"), settings=_chroma_settings())
    collection = client.create_collection(_collection_name(settings), embedding_function=None,
                                          metadata={"hnsw:space": "cosine", **_flat(manifest)})
    _add_chunks(collection, chunks, vectors)


def _write_delta(settings: Settings, partial: Path, chunks: list[Chunk], vectors, manifest: dict,
                 base: LiveBuild) -> int | None:
    """The live build's Chroma files, copied, with only the chunks that changed written into them.

    Returns the chunks changed since the last whole write (this edit's and the edits' before it),
    or None when the collection is to be written whole: the embedder or schema differ, the changes
    pass DELTA_MAX of the index (deleted vectors leave holes in the HNSW graph: a whole write now and
    then keeps it tight), or the copy fails in any way (a whole write is always correct)."""
    import chromadb

    if any(base.manifest.get(k) != manifest.get(k) for k in ("schema", "embedder_id")):
        return None
    before = {c.id: c for c in base.chunks}
    changed = [i for i, c in enumerate(chunks) if before.get(c.id) != c]
    removed = sorted(before.keys() - {c.id for c in chunks})
    delta = int(base.manifest.get(DELTA, 0)) + len(changed) + len(removed)
    if delta > DELTA_MAX * len(chunks):
        return None
    # Edited under another name, then renamed: after a failure the whole write opens a path this
    # process never opened (Chroma keeps one client per path, and a failed one stays broken).
    edit = partial / "chroma-edit"
    try:
        shutil.copytree(Path(base.location) / "chroma", edit)
        client = chromadb.PersistentClient(path=str(edit), settings=_chroma_settings())
        collection = client.get_collection(_collection_name(settings), embedding_function=None)
        for i in range(0, len(removed), 256):
            collection.delete(ids=removed[i : i + 256])
        _add_chunks(collection, [chunks[i] for i in changed], np.asarray(vectors, dtype=np.float32)[changed],
                    upsert=True)
        collection.modify(metadata=_flat(manifest))  # hnsw:space is the collection's configuration: it stays
        if collection.count() != len(chunks):
            raise IndexStateError(f"{collection.count()} vectors for {len(chunks)} chunks after the edit")
        del collection, client
        os.rename(edit, partial / "chroma")
    except Exception as exc:
        log.warning("cannot apply the edit to a copy of %s (%s); writing the index whole", base.location, exc)
        shutil.rmtree(edit, ignore_errors=True)
        return None
    log.info("wrote %d changed and removed %d chunks into a copy of the live build", len(changed), len(removed))
    return delta


def _swap_live(index_dir: Path, partial: Path) -> Path:
    """Rename a finished partial to a build and point CURRENT at it (the one commit point)."""
    try:
        final = index_dir / f"build-{time.strftime('%Y%m%d-%H%M%S')}-{partial.name[-6:]}"
        os.rename(partial, final)
        _replace_text(index_dir / "CURRENT", final.name)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    _prune(index_dir, final.name)
    return final


def _add_chunks(collection, chunks: list[Chunk], vectors, step: int = 256,
                records: Callable[[int, Chunk], dict] | None = None, upsert: bool = False) -> None:
    """Add (or upsert) chunks with their vectors, embed_text as the document and flat metadata, in batches.

    `records(position, chunk)`: extra metadata of each chunk (server mode stores the whole chunk)."""
    write = collection.upsert if upsert else collection.add
    for i in range(0, len(chunks), step):
        batch = chunks[i : i + step]
        metadatas = [{**c.metadata(), **(records(i + j, c) if records else {})} for j, c in enumerate(batch)]
        write(ids=[c.id for c in batch], embeddings=vectors[i : i + step],
                       documents=[c.embed_text for c in batch], metadatas=metadatas)


def _fsync_tree(folder: Path) -> None:
    """Flush every file of a finished build to disk before CURRENT can point at it."""
    for dirpath, _, files in os.walk(folder):
        for name in files:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def _read_chunks(folder: Path) -> list[Chunk]:
    """The chunks of a build (or of a server build's local copy), in build order."""
    return [Chunk(**d) for d in json.loads((folder / CHUNKS_FILE).read_text(encoding="utf-8"))]


def _write_chunks(folder: Path, chunks: list[Chunk]) -> None:
    _write_json(folder / CHUNKS_FILE, [vars(c) for c in chunks])  # a Chunk is flat: vars is asdict, faster


def _flat(manifest: dict) -> dict:
    return {f"assistant_{k}": v for k, v in manifest.items() if isinstance(v, (str, int, float, bool))}


def _write_json(path: Path, data) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(data, ensure_ascii=False))  # one write: json.dump writes piece by piece
        f.flush()
        os.fsync(f.fileno())


def _replace_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + f".{uuid.uuid4().hex[:8]}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)  # make the rename itself durable
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_partials(index_dir: Path) -> None:
    for p in index_dir.glob(".partial-*"):
        shutil.rmtree(p, ignore_errors=True)
    for p in index_dir.glob("CURRENT.*.tmp"):
        p.unlink(missing_ok=True)


def _prune(index_dir: Path, live: str) -> None:
    """Remove builds but the live one and the one before it; a build being opened stays for a later build."""
    builds = sorted((p for p in index_dir.glob("build-*") if p.name != live), key=lambda p: p.name)
    for old in builds[: max(0, len(builds) - (KEEP_BUILDS - 1))]:
        if not _remove_unpinned(old):
            log.info("%s is being opened by a server; a later build removes it", old.name)


def _remove_unpinned(build: Path) -> bool:
    """Remove a build unless a reader has it pinned (see _pinned); True when it is gone."""
    try:
        fd = os.open(build / "manifest.json", os.O_RDONLY)
    except OSError:  # no manifest: nobody can open this build
        shutil.rmtree(build, ignore_errors=True)
        return True
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        shutil.rmtree(build, ignore_errors=True)  # under the lock: a reader waiting for it sees nlink 0
        return True
    finally:
        os.close(fd)


# ---- embedding cache -------------------------------------------------------------------------
# A vector depends only on the model and the text, so a rebuild after a small corpus change takes
# the live index's vectors for every unchanged embed_text and embeds only new or changed chunks.

CHUNKS_FILE = "chunks.json"  # the build's chunks, in build order
VECTORS_FILE = "vectors.npy"  # float32, one row per entry of chunks.json
KEYWORDS_DIR = "keywords"  # KeywordIndex.save of the build's chunks
SERVER_COPIES = "server-copies"  # under index_dir in server mode: this machine's copies of what it read
DOCUMENTS_FILE = "documents.json"  # doc -> the parse key its chunks were made from (indexing.document_key)
DELTA = "delta"  # manifest: chunks changed since the build's collection was last written whole
DELTA_MAX = 0.5  # past this share of the index, changed since the last whole write, write it whole again


@dataclass(frozen=True)
class LiveBuild:
    """What a new build reuses of the live one: its chunks and the parse key of each document's
    chunks (a document whose parse is unchanged is not chunked again), each chunk's terms by
    embed_text and its bigram counts (not tokenized again), its vectors by vector_key (not embedded again) and, in
    folder mode, its Chroma files (only the changed chunks are written, into a copy)."""

    location: Path | str
    manifest: dict
    chunks: list[Chunk]
    documents: dict[str, str]
    terms: Tokenized | None
    vectors: dict[str, np.ndarray]


def vector_key(embedder_id: str, embed_text: str) -> str:
    """Cache key of one vector: sha256 of the embedder id and the embedded text."""
    return hashlib.sha256(f"{embedder_id}\0{embed_text}".encode()).hexdigest()


def ids_sha256(ids: Iterable[str]) -> str:
    """One hash over the sorted chunk ids, recorded in the manifest."""
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()


def cached_vectors(settings: Settings) -> dict[str, np.ndarray]:
    """The live index's vectors by vector_key; empty when there is none or it cannot be read."""
    try:
        return index_store(settings).cached_vectors()
    except Exception as exc:  # only a speed-up: when it fails, every chunk is embedded again
        log.warning("cannot reuse the vectors of the live index (%s); embedding every chunk", exc)
        return {}


def _live_build(settings: Settings) -> LiveBuild | None:
    """The live build of index_dir, read for reuse; None when there is none or it cannot be read."""
    found = read_current(Path(settings.index_dir))
    if found is None:
        return None
    path, manifest = found
    try:
        chunks = _read_chunks(path)
        documents = {}
        if (path / DOCUMENTS_FILE).exists():
            documents = json.loads((path / DOCUMENTS_FILE).read_text(encoding="utf-8"))
        vectors = np.load(path / VECTORS_FILE) if (path / VECTORS_FILE).exists() else np.zeros((0, 0))
        if len(vectors) and len(vectors) != len(chunks):
            raise ValueError(f"{len(vectors)} vectors for {len(chunks)} chunks")
        if not isinstance(documents, dict):
            raise ValueError(f"{DOCUMENTS_FILE} is not an object")
    except (OSError, ValueError, TypeError) as exc:  # only a speed-up: the next build does everything
        log.warning("cannot reuse the live build %s (%s); building from scratch", path.name, exc)
        return None
    keyed = {vector_key(manifest.get("embedder_id", ""), c.embed_text): v for c, v in zip(chunks, vectors)}
    return LiveBuild(path, manifest, chunks, documents, load_terms(path / KEYWORDS_DIR, chunks), keyed)


def embed_chunks(embedder, chunks: list[Chunk], progress: Callable[[int, int], None] | None = None,
                 cached: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
    """Vectors of the chunks' embed_text, in order; texts found in `cached` are not embedded again."""
    cached = cached or {}
    keys = [vector_key(embedder.id, c.embed_text) for c in chunks]
    todo = {k: c.embed_text for k, c in zip(keys, chunks) if k not in cached}  # a repeated text once
    fresh = dict(zip(todo, embedder.embed_passages(list(todo.values()), progress=progress))) if todo else {}
    log.info("embedded %d texts, reused %d vectors", len(todo), sum(k in cached for k in keys))
    if not chunks:
        return np.zeros((0, 0), dtype=np.float32)
    return np.asarray([fresh[k] if k in fresh else cached[k] for k in keys], dtype=np.float32)


# ---- server mode -----------------------------------------------------------------------------
# ASSISTANT_CHROMA_HOST set: one Chroma server shared by every app process, nothing under index_dir.
#     <collection>-<stamp>-<id>   one complete build: vectors + embed_text + metadata
#     <collection>-current        pointer: its metadata names the live build and holds the manifest
# A build writes a new collection, then switches the pointer with one modify(), then drops older
# builds but the previous one (an open process may still query it). A crash mid-build leaves the
# pointer on the old, complete collection. Each record holds its whole chunk (an indicator row's
# sentence too; a text chunk's text is its span of the corpus) with its position and its keyword
# terms, so a process that opens the index reads the chunks and rebuilds the keyword matrix from
# them without chunking or tokenizing; it checks the manifest and every span against its corpus.

SERVER_BUILD = r"\d{8}-\d{6}-[0-9a-f]{6}"
SERVER_PAGE = 1000  # rows per get() when reading vectors or chunks back
POSITION, TERMS, ROW_TEXT = "assistant_position", "assistant_terms", "assistant_text"  # a record's extras
TERM_SEP = "\n"  # between a record's terms (a jieba term is stripped: it holds no newline)


def parse_headers(raw: str) -> dict[str, str]:
    """'Name: value; Name2: value2' -> {'Name': 'value', 'Name2': 'value2'}; values are never echoed."""
    headers: dict[str, str] = {}
    for n, part in enumerate(raw.split(";"), 1):
        if not part.strip():
            continue
        name, sep, value = part.partition(":")
        if not sep or not name.strip() or any(ch.isspace() for ch in name.strip()):
            raise IndexStateError(f"ASSISTANT_CHROMA_HEADERS item {n} is not 'Name: value' "
                                  "(expected 'Name: value; Name2: value2')")
        headers[name.strip()] = value.strip()
    return headers


def server_address(settings: Settings) -> str:
    return f"{'https' if settings.chroma_ssl else 'http'}://{settings.chroma_host}:{settings.chroma_port}"


def http_client(settings: Settings):
    """A client of the Chroma server (telemetry off); headers carry auth and are never logged."""
    import chromadb

    headers = parse_headers(settings.chroma_headers)
    try:
        return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port, ssl=settings.chroma_ssl,
                                   headers=headers, settings=_chroma_settings())
    except Exception as exc:
        raise IndexStateError(f"cannot reach the Chroma server at {server_address(settings)} ({exc})") from exc


def _pointer_name(settings: Settings) -> str:
    return f"{settings.collection}-current"


def read_server_current(settings: Settings, client=None) -> tuple[str, dict] | None:
    """(live collection, manifest) named by the server's pointer; None before the first build or if damaged."""
    from chromadb.errors import NotFoundError

    client = client or http_client(settings)
    try:
        meta = client.get_collection(_pointer_name(settings), embedding_function=None).metadata or {}
    except NotFoundError:
        return None
    try:
        manifest = json.loads(meta["assistant_manifest"])
        if not isinstance(manifest, dict):
            raise ValueError("the manifest is not an object")
        return str(meta["assistant_live"]), manifest
    except (KeyError, TypeError, ValueError) as exc:  # like a damaged CURRENT: the next build replaces it
        log.warning("the pointer %s at %s is damaged (%r)", _pointer_name(settings), server_address(settings), exc)
        return None


def live_manifest(settings: Settings) -> dict | None:
    """The live index's manifest (the server's pointer in server mode, else CURRENT); None when none."""
    found = index_store(settings).live()
    return found[1] if found else None


def _open_server_index(settings: Settings, corpus) -> ChromaIndex:
    """The server's live collection, with its chunks and keyword terms read back and checked against `corpus`."""
    if corpus is None:
        raise ValueError("opening a server index needs the corpus it is checked against")
    client = http_client(settings)
    name, manifest = _checked_live(settings, client, corpus.sha256)
    try:
        collection = client.get_collection(name, embedding_function=None)
        copied = _read_server_copy(settings, name, manifest, corpus)
        if copied is None:
            chunks, terms = _server_chunks(collection, corpus)
            keywords = KeywordIndex.from_terms(chunks, terms)
            _write_server_copy(settings, name, chunks, keywords)
        else:
            chunks, keywords = copied
    except IndexStateError:
        raise
    except Exception as exc:  # say, the live collection was deleted by hand
        raise IndexStateError(f"{name} at {server_address(settings)} cannot be opened ({exc}); {REBUILD}") from exc
    ids = [c.id for c in chunks]
    if manifest.get("count") != len(ids) or manifest.get("ids_sha256") != ids_sha256(ids):
        raise IndexStateError(f"the chunks of {name} at {server_address(settings)} ({len(ids)}) are not those its "
                              f"manifest names ({manifest.get('count')}); {REBUILD}")

    def live_collection():
        again, now = _checked_live(settings, client, corpus.sha256)
        if now.get("ids_sha256") != manifest.get("ids_sha256"):
            raise IndexStateError(f"the live index at {server_address(settings)} changed its chunks; restart to "
                                  "open it")
        return client.get_collection(again, embedding_function=None)

    return ChromaIndex(f"{server_address(settings)}/{name}", manifest, chunks, collection, reopen=live_collection,
                       keywords=keywords)


def _copy_folder(settings: Settings, name: str) -> Path | None:
    return Path(settings.index_dir) / SERVER_COPIES / name if re.fullmatch(r"[\w.-]+", name) else None


def _read_server_copy(settings: Settings, name: str, manifest: dict, corpus) -> tuple[list[Chunk], KeywordIndex] | None:
    """This machine's copy of a server build's chunks and keyword index (written by the first process
    that read them from the server); None when there is none, or it is not exactly that build's, or
    a text chunk is not its span of `corpus`: then the server is read, as without a copy."""
    folder = _copy_folder(settings, name)
    try:
        chunks = _read_chunks(folder)
    except (OSError, ValueError, TypeError):
        return None
    ids = [c.id for c in chunks]
    if manifest.get("count") != len(ids) or manifest.get("ids_sha256") != ids_sha256(ids):
        return None
    if any(c.kind != "indicator" and c.text != corpus.text(c.doc)[c.start : c.end] for c in chunks):
        return None
    keywords = KeywordIndex.load(folder / KEYWORDS_DIR, chunks)
    return None if keywords is None else (chunks, keywords)


def _write_server_copy(settings: Settings, name: str, chunks: list[Chunk], keywords: KeywordIndex) -> None:
    """Keep a copy of what was read from the server under index_dir (a speed-up: failures are logged),
    written aside and renamed into place; copies of other builds are removed."""
    folder = _copy_folder(settings, name)
    if folder is None:
        return
    tmp = folder.with_name(f".{name}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.mkdir(parents=True)
        _write_chunks(tmp, chunks)
        keywords.save(tmp / KEYWORDS_DIR)
        os.rename(tmp, folder)
    except OSError as exc:
        log.info("cannot keep a local copy of %s under %s (%s); the next start reads the server", name,
                 folder.parent, exc)
        shutil.rmtree(tmp, ignore_errors=True)
        return
    for other in folder.parent.iterdir():
        if other.is_dir() and other != folder:
            shutil.rmtree(other, ignore_errors=True)


def _server_chunks(collection, corpus) -> tuple[list[Chunk], list[list[str]]]:
    """The chunks of a server build in build order, and each one's keyword terms.

    A text chunk's text is its span of the local corpus; a span outside it, or a record without
    its position or terms, is a damaged index (IndexStateError), not a citation of wrong text."""
    rows = []
    for offset in range(0, collection.count(), SERVER_PAGE):
        got = collection.get(include=["documents", "metadatas"], limit=SERVER_PAGE, offset=offset)
        rows += zip(got["ids"], got["documents"], got["metadatas"])
    chunks, terms = [None] * len(rows), [None] * len(rows)
    fields = ("doc", "plan", "plan_name", "kind", "section", "item", "start", "end")
    try:
        for cid, document, meta in rows:
            at = int(meta[POSITION])
            doc, start, end = meta["doc"], int(meta["start"]), int(meta["end"])
            text = meta[ROW_TEXT] if meta["kind"] == "indicator" else corpus.text(doc)[start:end]
            if meta["kind"] != "indicator" and not (0 <= start < end <= len(corpus.text(doc))):
                raise ValueError(f"chunk {cid} spans {start}-{end} of {doc}, outside the document")
            chunks[at] = Chunk(cid, *(meta[f] for f in fields), text=text, embed_text=document)
            terms[at] = meta[TERMS].split(TERM_SEP)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise IndexStateError(f"the server index's chunk records are damaged ({exc!r}); {REBUILD}") from exc
    if any(c is None for c in chunks):
        raise IndexStateError(f"the server index's chunk records skip positions; {REBUILD}")
    return chunks, terms


def _checked_live(settings: Settings, client, corpus_sha256: str) -> tuple[str, dict]:
    """The live collection and its manifest, when it was built from this corpus as this process would; else
    IndexStateError."""
    from assistant.chunking import CHUNKER_VERSION
    from assistant.embeddings import get_embedder

    found = read_server_current(settings, client)
    if found is None:
        raise IndexStateError(f"the Chroma server at {server_address(settings)} holds no index "
                              f"{settings.collection!r}; run `python -m assistant build`")
    name, manifest = found
    expected = expected_manifest(corpus_sha256, CHUNKER_VERSION, get_embedder(settings).id, settings)
    if not is_current(manifest, expected):
        raise IndexStateError(_mismatch(settings, manifest, expected))
    return name, manifest


def _mismatch(settings: Settings, have: dict, want: dict) -> str:
    def what(m: dict) -> str:
        return (f"{m.get('embedder_id')} for corpus {str(m.get('corpus_sha256'))[:12]}... (chunker "
                f"{m.get('chunker_version')}, {m.get('chunk_max_tokens')} tokens, schema {m.get('schema')})")

    differ = ", ".join(k for k in MANIFEST_KEYS if have.get(k) != want[k])
    return (f"the Chroma server at {server_address(settings)} holds an index built by {what(have)}, but this "
            f"process has {what(want)} ({differ} differ); run `python -m assistant build` (it replaces the "
            f"index that every process using collection {settings.collection!r} on this server reads)")


def _write_collection(settings: Settings, client, chunks: list[Chunk], vectors, manifest: dict,
                      keywords: KeywordIndex) -> str:
    """Write a new build collection (not live yet): each record its chunk, position and terms."""
    name = f"{settings.collection}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    collection = client.create_collection(name, embedding_function=None,
                                          metadata={"hnsw:space": "cosine", **_flat(manifest)})
    try:
        def record(at: int, chunk: Chunk) -> dict:
            extra = {POSITION: at, TERMS: TERM_SEP.join(keywords.terms[at])}
            return {**extra, ROW_TEXT: chunk.text} if chunk.kind == "indicator" else extra

        _add_chunks(collection, chunks, vectors, min(256, client.get_max_batch_size()), record)
        if collection.count() != len(chunks):
            raise IndexStateError(f"{name} holds {collection.count()} vectors after adding {len(chunks)}")
    except BaseException:
        with suppress(Exception):
            client.delete_collection(name)
        raise
    return name


def _switch_pointer(settings: Settings, client, name: str, manifest: dict) -> str:
    """Point the server's pointer at a written collection with one modify(), then drop old builds."""
    previous = read_server_current(settings, client)
    pointer = {"assistant_live": name, "assistant_previous": previous[0] if previous else "",
               "assistant_manifest": json.dumps(manifest, ensure_ascii=False)}
    try:
        client.get_or_create_collection(_pointer_name(settings), embedding_function=None,
                                        metadata=pointer).modify(metadata=pointer)
    except BaseException:
        with suppress(Exception):
            client.delete_collection(name)
        raise
    _prune_server(client, settings, name, pointer["assistant_previous"])
    return name


def _prune_server(client, settings: Settings, live: str, previous: str) -> None:
    """Drop this prefix's builds older than the live one, but the previous live one (newer ones may be in progress)."""
    build = re.compile(re.escape(settings.collection) + "-" + SERVER_BUILD)
    for c in client.list_collections():
        name = getattr(c, "name", c)
        if build.fullmatch(name) and name < live and name != previous:
            try:
                client.delete_collection(name)
            except Exception as exc:  # another build may have dropped it first
                log.warning("cannot drop old collection %s (%s)", name, exc)


def drop_server_index(settings: Settings) -> list[str]:
    """Delete every collection of this prefix (its builds, its pointer, its sentence vectors) from the Chroma server."""
    return ServerStore(settings).drop()


def _drop_server(settings: Settings) -> list[str]:
    client = http_client(settings)
    build = re.compile(re.escape(settings.collection) + "-(" + SERVER_BUILD + "|current|sentences-[0-9a-f]{16})")
    names = [n for n in (getattr(c, "name", c) for c in client.list_collections()) if build.fullmatch(n)]
    for name in names:
        client.delete_collection(name)
    return names


def _server_vectors(settings: Settings) -> dict[str, np.ndarray]:
    """The live server collection's vectors by vector_key (its documents are the embed_texts)."""
    client = http_client(settings)
    found = read_server_current(settings, client)
    if found is None:
        return {}
    name, manifest = found
    collection = client.get_collection(name, embedding_function=None)
    out: dict[str, np.ndarray] = {}
    for offset in range(0, collection.count(), SERVER_PAGE):
        got = collection.get(include=["embeddings", "documents"], limit=SERVER_PAGE, offset=offset)
        for text, vector in zip(got["documents"], got["embeddings"]):
            out[vector_key(manifest["embedder_id"], text)] = np.asarray(vector, dtype=np.float32)
    return out


# ---- the store interface ---------------------------------------------------------------------
# One interface, two backends, chosen from STORES by the settings: nothing else in the package
# asks which one it has.


@dataclass(frozen=True)
class Staged:
    """A build written aside: its folder or collection, and the manifest it is made live with."""

    location: Path | str
    manifest: dict


class IndexStore(Protocol):
    """Where builds live and how one becomes live. A build is written aside (`build_aside`), then made
    live in one step (`make_live`); a reader only ever opens the live one (`open`)."""

    kind: str  # "folder" | "server": what lives beside the builds (the sentence-vector cache) follows it

    def live(self) -> tuple[Path | str, dict] | None:
        """(location, manifest) of the live build; None before the first build (or when it is damaged)."""

    def lock(self, timeout: float = BUILD_LOCK_TIMEOUT) -> AbstractContextManager[None]:
        """Held by the one writer of this store while it checks and builds."""

    def cached_vectors(self) -> dict[str, np.ndarray]:
        """The live build's chunk vectors by vector_key (the next build embeds only what changed)."""

    def reusable(self) -> LiveBuild | None:
        """The live build as the next build may reuse it; None when there is nothing to reuse."""

    def build_aside(self, chunks: list[Chunk], vectors, manifest: dict, keywords: KeywordIndex,
                    documents: Mapping[str, str] | None = None, base: LiveBuild | None = None) -> Staged:
        """Write a complete build that nobody reads yet (`base`: the live build it was computed from)."""

    def make_live(self, staged: Staged) -> Path | str:
        """Make a build written aside the live one, atomically; drop builds nobody needs."""

    def open(self, corpus) -> ChromaIndex:
        """The live build, with its chunks and keyword index, checked against `corpus` where it must be."""

    def drop(self) -> list[str]:
        """Remove every build of this store; the names removed."""


class FolderStore:
    """Builds under index_dir: build-<stamp>/ folders, CURRENT naming the live one (see the module docstring)."""

    kind = "folder"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.index_dir = Path(settings.index_dir)

    def live(self) -> tuple[Path, dict] | None:
        return read_current(self.index_dir)

    @contextmanager
    def lock(self, timeout: float = BUILD_LOCK_TIMEOUT) -> Iterator[None]:
        self.index_dir.mkdir(parents=True, exist_ok=True)
        with build_lock(self.index_dir, timeout):
            yield

    def cached_vectors(self) -> dict[str, np.ndarray]:
        live = self.reusable()
        return live.vectors if live is not None else {}

    def reusable(self) -> LiveBuild | None:
        return _live_build(self.settings)

    def build_aside(self, chunks: list[Chunk], vectors, manifest: dict, keywords: KeywordIndex,
                    documents: Mapping[str, str] | None = None, base: LiveBuild | None = None) -> Staged:
        with self.lock():  # reentrant: build_index holds it already
            _remove_partials(self.index_dir)  # safe: a partial's live writer would hold the lock
            partial = _write_partial(self.settings, self.index_dir, chunks, vectors, manifest, keywords,
                                     documents, base)
            return Staged(partial, manifest)

    def make_live(self, staged: Staged) -> Path:
        with self.lock():
            return _swap_live(self.index_dir, Path(staged.location))

    def open(self, corpus=None) -> ChromaIndex:
        return _open_folder(self.settings)

    def drop(self) -> list[str]:
        with self.lock():
            names = sorted(p.name for p in self.index_dir.glob("build-*"))
            (self.index_dir / "CURRENT").unlink(missing_ok=True)
            for name in names:
                _remove_unpinned(self.index_dir / name)
        return names


class ServerStore:
    """Builds as collections of a Chroma server, a pointer collection naming the live one (see "server mode")."""

    kind = "server"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def live(self) -> tuple[str, dict] | None:
        return read_server_current(self.settings)

    @contextmanager
    def lock(self, timeout: float = BUILD_LOCK_TIMEOUT) -> Iterator[None]:
        yield  # builds on a server are not serialized: the last pointer switch wins, both builds are whole

    def cached_vectors(self) -> dict[str, np.ndarray]:
        return _server_vectors(self.settings)

    def reusable(self) -> LiveBuild | None:
        return None  # a server build writes a new collection whole; it reuses the vectors (cached_vectors)

    def build_aside(self, chunks: list[Chunk], vectors, manifest: dict, keywords: KeywordIndex,
                    documents: Mapping[str, str] | None = None, base: LiveBuild | None = None) -> Staged:
        manifest = {**manifest, "built_at": time.time()}
        name = _write_collection(self.settings, http_client(self.settings), chunks, vectors, manifest, keywords)
        _write_server_copy(self.settings, name, chunks, keywords)  # this machine opens it without reading it back
        return Staged(name, manifest)

    def make_live(self, staged: Staged) -> str:
        return _switch_pointer(self.settings, http_client(self.settings), str(staged.location), staged.manifest)

    def open(self, corpus=None) -> ChromaIndex:
        return _open_server_index(self.settings, corpus)

    def drop(self) -> list[str]:
        return _drop_server(self.settings)


STORES: dict[str, Callable[[Settings], IndexStore]] = {"folder": FolderStore, "server": ServerStore}


def index_store(settings: Settings) -> IndexStore:
    """This deployment's store: the Chroma server when ASSISTANT_CHROMA_HOST is set, else index_dir."""
    return STORES["server" if settings.chroma_host else "folder"](settings)
