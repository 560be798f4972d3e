"""Add, replace, list and remove corpus documents; the index follows every change. [I/O]

`ingest` reads and checks every given file before it writes anything, stores each text as
corpus/<stem>.txt (temp file + os.replace), remembers the original file in corpus/.sources.json,
then rebuilds the index (indexing.build writes it aside and swaps it in). If that build fails,
corpus/ is put back byte for byte, so the corpus and the live index always agree.

The corpus folder's locks, journal and atomic writes are in corpusdir.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from assistant.chunking import chunk_document
from assistant.config import Settings
from assistant.corpus import corpus_files, load_corpus
from assistant.corpusdir import Changes, committed, json_bytes, locked, reading_corpus, recover
from assistant.errors import CorpusError
from assistant.indexing import build
from assistant.loaders import load_file
from assistant.structure import parse_document

log = logging.getLogger(__name__)

SOURCES = ".sources.json"  # {doc: {"file", "sha256", "format", "ingested_at"}}
# A document id is a file name (<id>.txt, and temp names around it): NAME_MAX is 255 bytes on
# ext4/xfs/btrfs, and 80 CJK characters are already 240. 200 bytes leave room for "-<8 hex>.txt".
MAX_ID_BYTES = 200

Progress = Callable[[str, int, int], None]


@dataclass
class Incoming:
    """A file read and checked, ready to be stored as corpus/<doc>.txt."""

    path: Path
    doc: str  # safe_stem of the name; ingest may give it the alternative id of doc_ids
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
    """A document id from a file name: letters (Chinese too), digits, '-', '_' and '.' ("a b.docx" -> "a_b").

    At most 80 characters and MAX_ID_BYTES bytes of UTF-8 (a whole character is kept or dropped).
    """
    stem = re.sub(r"[^\w.-]+", "_", Path(name).stem).strip("._-")[:80]
    stem = stem.encode("utf-8")[:MAX_ID_BYTES].decode("utf-8", "ignore").strip("._-")
    return stem or "document"


def doc_ids(name: str) -> tuple[str, str]:
    """The id of a file name, and the one it gets when another name already has that id.

    "!!!.txt" and "###.txt" both give "document": the second one is stored as "document-<8 hex>",
    the hex from its own name, so the same file always gets the same id and neither replaces the other.
    """
    base = safe_stem(name)
    digest = hashlib.sha256(Path(name).stem.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return base, f"{base}-{digest}"


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
        clash = next((i for i in incoming if i.path.stem == path.stem), None)  # "a.md" and "a.txt"
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
    with locked(folder):
        recover(settings, folder)
        with committed(settings, folder) as changes:
            before = read_sources(folder)
            sources = dict(before)
            _assign_ids(folder, sources, incoming)
            results = [_store(folder, sources, item, changes) for item in incoming]
            if sources != before:
                changes.write(folder / SOURCES, json_bytes(sources))
            built = build(settings, progress=progress)
    for r in results:
        log.info("%r: %s as %s", r.file, r.status, r.stored)
    return results, built


def planned(settings: Settings, incoming: list[Incoming]) -> list[str]:
    """What `ingest` would do with checked files, writing nothing: each gets its id, and its status
    ("added", "replaced" or "unchanged") is returned. For a preview: the ingest itself decides again."""
    folder = Path(settings.corpus_dir)
    if not folder.is_dir():
        for item in incoming:
            item.doc = doc_ids(item.path.name)[0]
        return ["added"] * len(incoming)
    _assign_ids(folder, read_sources(folder), incoming)
    return [_status(folder / f"{item.doc}.txt", item.text.encode("utf-8")) for item in incoming]


def remove(settings: Settings, doc: str, progress: Progress | None = None) -> bool:
    """Remove a document from the corpus and rebuild the index; True when the index was rebuilt."""
    folder = _folder(settings)
    with locked(folder):
        recover(settings, folder)
        return _remove(settings, folder, doc, progress)


def _remove(settings: Settings, folder: Path, doc: str, progress: Progress | None) -> bool:
    with committed(settings, folder) as changes:
        files = {p.stem: p for p in corpus_files(folder)}
        if doc not in files:
            raise CorpusError(f"{doc}: no such document in {folder} (documents: {', '.join(sorted(files)) or 'none'})")
        if len(files) == 1:
            raise CorpusError(f"{doc}: the only document in {folder}; ingest another one before removing it")
        changes.delete(files[doc])
        sources = read_sources(folder)
        if sources.pop(doc, None) is not None:
            changes.write(folder / SOURCES, json_bytes(sources))
        return build(settings, progress=progress)


def list_documents(settings: Settings) -> list[DocumentInfo]:
    """Every document of the corpus with its original file, plans, indicator rows, chunks and hash."""
    folder = _folder(settings)
    with reading_corpus(settings):  # an ingest running now is waited for; a killed one is settled
        corpus = load_corpus(folder)
        sources = read_sources(folder)
        hashes = {doc: sources.get(doc, {}).get("sha256") or file_sha256(Path(d.path))
                  for doc, d in corpus.documents.items()}
    out = []
    for doc, document in sorted(corpus.documents.items()):
        source = sources.get(doc) or {}
        out.append(DocumentInfo(
            doc=doc, file=source.get("file") or Path(document.path).name, plans=[p.title for p in document.plans],
            indicators=sum(len(p.indicators) for p in document.plans),
            chunks=len(chunk_document(document, settings.chunk_max_tokens)), sha256=hashes[doc],
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


def _assign_ids(folder: Path, sources: dict[str, dict], incoming: list[Incoming]) -> None:
    """Give each file its id (doc_ids): the one its own name already holds, else the first one free.

    A stored document is held by the stem of its original file ("!!!" for document.txt from
    "!!!.txt"), or by its own stem when it was placed by hand; only the same stem replaces it.
    """
    owners = {}
    for path in corpus_files(folder):
        entry = sources.get(path.stem)
        owners[path.stem] = Path(entry["file"]).stem if isinstance(entry, dict) and entry.get("file") else path.stem
    for item in incoming:
        ids = doc_ids(item.path.name)
        doc = next((d for d in ids if owners.get(d) == item.path.stem), None)
        doc = doc or next((d for d in ids if d not in owners), None)
        if doc is None:
            raise CorpusError(f"{item.path}: would be stored as {ids[0]}.txt or {ids[1]}.txt, but they hold "
                              f"{owners[ids[0]]!r} and {owners[ids[1]]!r}; rename the file")
        item.doc = doc
        owners[doc] = item.path.stem


def _status(target: Path, data: bytes) -> str:
    """"added", "replaced" or "unchanged": what storing `data` as `target` would do."""
    old = target.read_bytes() if target.exists() else None
    return "unchanged" if old == data else "added" if old is None else "replaced"


def _store(folder: Path, sources: dict[str, dict], item: Incoming, changes: Changes) -> IngestResult:
    """Write one document unless its text is already stored; note its original file in `sources`."""
    target = folder / f"{item.doc}.txt"
    data = item.text.encode("utf-8")
    status = _status(target, data)
    if status != "unchanged":
        changes.write(target, data)
    entry = {"file": item.path.name, "sha256": item.sha256, "format": item.path.suffix.lower().lstrip(".")}
    if status != "unchanged" or {k: sources.get(item.doc, {}).get(k) for k in entry} != entry:
        sources[item.doc] = {**entry, "ingested_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    return IngestResult(item.doc, str(item.path), status, str(target))


