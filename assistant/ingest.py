"""Add, replace, list and remove corpus documents; the index follows every change. [I/O]

`ingest` reads and checks every given file before it writes anything, stores each text as
corpus/<stem>.txt (temp file + os.replace), remembers the original file in corpus/.sources.json,
then rebuilds the index (core.build writes it aside and swaps it in). If that build fails,
corpus/ is put back byte for byte, so the corpus and the live index always agree.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from assistant.chunking import chunk_document
from assistant.config import Settings
from assistant.corpus import corpus_files, load_corpus
from assistant.errors import CorpusError
from assistant.loaders import load_file
from assistant.structure import parse_document

log = logging.getLogger(__name__)

SOURCES = ".sources.json"  # {doc: {"file", "sha256", "format", "ingested_at"}}
LOCK = ".ingest.lock"  # one ingest/remove at a time per corpus folder

Progress = Callable[[str, int, int], None]


@dataclass
class Incoming:
    """A file read and checked, ready to be stored as corpus/<doc>.txt."""

    path: Path
    doc: str
    text: str
    sha256: str  # of the original file's bytes


@dataclass
class IngestResult:
    """What happened to one file: "added", "replaced" or "unchanged"."""

    doc: str
    file: str
    status: str
    stored: str  # corpus/<doc>.txt


@dataclass
class DocumentInfo:
    """One line of `list`: a document and what the parser found in it."""

    doc: str
    file: str  # the original file name ("规划.docx"), or the corpus file for a hand-placed .txt
    plans: list[str] = field(default_factory=list)  # plan titles
    indicators: int = 0
    chunks: int = 0
    sha256: str = ""  # of the original file

    def to_dict(self) -> dict:
        return {"doc": self.doc, "file": self.file, "plans": self.plans, "indicators": self.indicators,
                "chunks": self.chunks, "sha256": self.sha256}


def safe_stem(name: str) -> str:
    """A document id from a file name: letters (Chinese too), digits, '-', '_' and '.' ("a b.docx" -> "a_b")."""
    stem = re.sub(r"[^\w.-]+", "_", Path(name).stem).strip("._-")[:80]
    return stem or "document"


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_sources(folder: Path) -> dict[str, dict]:
    """The sidecar of original file names and hashes ({} when there is none or it is unreadable)."""
    try:
        data = json.loads((folder / SOURCES).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("%s is unreadable (%s); original file names are forgotten", folder / SOURCES, exc)
        return {}
    return data if isinstance(data, dict) else {}


def check_files(paths: list[str | Path], max_bytes: int) -> list[Incoming]:
    """Read and check every file (CorpusError naming the first bad one); nothing is written."""
    incoming: list[Incoming] = []
    for raw in paths:
        path = Path(raw)
        text = load_file(path, max_bytes)
        doc = safe_stem(path.name)
        parse_document(text, doc=doc, path=str(path))  # an unparseable text fails here, not mid-build
        clash = next((i for i in incoming if i.doc == doc), None)
        if clash is not None:
            raise CorpusError(f"{path}: would be stored as {doc}.txt, like {clash.path}; rename one of them")
        incoming.append(Incoming(path, doc, text, file_sha256(path)))
    if not incoming:
        raise CorpusError("no files given")
    return incoming


def ingest(settings: Settings, paths: list[str | Path],
           progress: Progress | None = None) -> tuple[list[IngestResult], bool]:
    """Add or replace documents from files, then bring the index up to date; (results, index rebuilt)."""
    incoming = check_files(paths, settings.max_file_bytes)
    folder = _folder(settings, create=True)
    with _locked(folder), _undo_on_error() as changes:
        before = read_sources(folder)
        sources = dict(before)
        results = [_store(folder, sources, item, changes) for item in incoming]
        if sources != before:
            changes.write(folder / SOURCES, _json(sources))
        built = _build(settings, progress)
    for r in results:
        log.info("%s: %s as %s", r.file, r.status, r.stored)
    return results, built


def remove(settings: Settings, doc: str, progress: Progress | None = None) -> bool:
    """Remove a document from the corpus and rebuild the index; True when the index was rebuilt."""
    folder = _folder(settings)
    with _locked(folder), _undo_on_error() as changes:
        files = {p.stem: p for p in corpus_files(folder)}
        if doc not in files:
            raise CorpusError(f"{doc}: no such document in {folder} (documents: {', '.join(sorted(files)) or 'none'})")
        if len(files) == 1:
            raise CorpusError(f"{doc}: the only document in {folder}; ingest another one before removing it")
        changes.delete(files[doc])
        sources = read_sources(folder)
        if sources.pop(doc, None) is not None:
            changes.write(folder / SOURCES, _json(sources))
        return _build(settings, progress)


def list_documents(settings: Settings) -> list[DocumentInfo]:
    """Every document of the corpus with its original file, plans, indicator rows, chunks and hash."""
    folder = _folder(settings)
    corpus = load_corpus(folder)
    sources = read_sources(folder)
    out = []
    for doc, document in sorted(corpus.documents.items()):
        source = sources.get(doc) or {}
        path = Path(document.path)
        out.append(DocumentInfo(
            doc=doc, file=source.get("file") or path.name, plans=[p.title for p in document.plans],
            indicators=sum(len(p.indicators) for p in document.plans),
            chunks=len(chunk_document(document, settings.chunk_max_tokens)),
            sha256=source.get("sha256") or file_sha256(path),
        ))
    return out


# ---- helpers ---------------------------------------------------------------------------------


def _folder(settings: Settings, create: bool = False) -> Path:
    folder = Path(settings.corpus_dir)
    if create:
        folder.mkdir(parents=True, exist_ok=True)
    if not folder.is_dir():
        raise CorpusError(f"corpus folder {folder} does not exist")
    return folder


def _store(folder: Path, sources: dict[str, dict], item: Incoming, changes: _Changes) -> IngestResult:
    """Write one document unless its text is already stored; note its original file in `sources`."""
    target = folder / f"{item.doc}.txt"
    data = item.text.encode("utf-8")
    old = target.read_bytes() if target.exists() else None
    status = "unchanged" if old == data else "added" if old is None else "replaced"
    if status != "unchanged":
        changes.write(target, data)
    entry = {"file": item.path.name, "sha256": item.sha256, "format": item.path.suffix.lower().lstrip(".")}
    if status != "unchanged" or {k: sources.get(item.doc, {}).get(k) for k in entry} != entry:
        sources[item.doc] = {**entry, "ingested_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    return IngestResult(item.doc, str(item.path), status, str(target))


def _build(settings: Settings, progress: Progress | None) -> bool:
    from assistant.core import build  # core imports the whole answering stack; load it only to build

    return build(settings, progress=progress)


def _json(data: dict) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")


class _Changes:
    """Files written or deleted, with their previous bytes and mode, so they can be put back."""

    def __init__(self) -> None:
        self.saved: dict[Path, tuple[bytes, int] | None] = {}

    def _save(self, path: Path) -> None:
        if path not in self.saved:
            self.saved[path] = (path.read_bytes(), path.stat().st_mode & 0o777) if path.exists() else None

    def write(self, path: Path, data: bytes) -> None:
        self._save(path)
        write_atomic(path, data)

    def delete(self, path: Path) -> None:
        self._save(path)
        path.unlink()

    def undo(self) -> None:
        """Put every changed file back as it was (a new file is removed)."""
        for path, before in reversed(list(self.saved.items())):
            try:
                if before is None:
                    path.unlink(missing_ok=True)
                else:
                    write_atomic(path, before[0], before[1])
            except OSError as exc:  # keep restoring the others; say which one could not be
                log.error("could not restore %s: %s", path, exc)


@contextmanager
def _undo_on_error() -> Iterator[_Changes]:
    changes = _Changes()
    try:
        yield changes
    except BaseException:  # Ctrl-C mid-build too: corpus/ must match the index that is still live
        changes.undo()
        raise


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    with open(folder / LOCK, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write a file so that readers see the old bytes or the new ones, never a part (temp + os.replace)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
