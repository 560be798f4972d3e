"""Add, replace, list and remove corpus documents; the index follows every change. [I/O]

`ingest` reads and checks every given file before it writes anything, stores each text as
corpus/<stem>.txt (temp file + os.replace), remembers the original file in corpus/.sources.json,
then rebuilds the index (core.build writes it aside and swaps it in). If that build fails,
corpus/ is put back byte for byte, so the corpus and the live index always agree.

A change survives kill -9 the same way. Before a corpus file is written or deleted, its old bytes
go into corpus/.ingest-journal/; the journal is removed once the new index is live. The switch
of the index (CURRENT, or the server's pointer) is the one commit point: whoever next takes the
corpus lock (ingest, remove, list, build, Assistant) and finds a journal keeps the change if the
live index was built from the corpus as it is, and otherwise puts the old bytes back.

Why a journal and not a second corpus folder switched together with the index: corpus_dir and
index_dir are separate settings (other disks, or a Chroma server), so no single rename switches
both, and corpus/ stays a plain folder of .txt files that people add to by hand. Why roll back
rather than finish the build: finishing means embedding in whichever process opens next (maybe a
read-only server), while the killed ingest never said "index rebuilt"; like a failed build, it
leaves things as they were, and running it again adds the document.

Readers hold the corpus lock shared, so a list, build or Assistant started during an ingest waits
for it and sees the corpus and index it leaves.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from assistant.chunking import chunk_document
from assistant.config import Settings
from assistant.corpus import Corpus, corpus_files, load_corpus
from assistant.errors import AssistantError, CorpusError
from assistant.loaders import load_file
from assistant.structure import parse_document

log = logging.getLogger(__name__)

SOURCES = ".sources.json"  # {doc: {"file", "sha256", "format", "ingested_at"}}
LOCK = ".ingest.lock"  # flock: one ingest/remove at a time per corpus folder (exclusive), readers shared
JOURNAL = ".ingest-journal"  # the old bytes of an ingest/remove whose index is not live yet
LOCK_TIMEOUT = 600.0  # seconds to wait for an ingest/remove of the same corpus folder
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
    with _locked(folder):
        _recover(settings, folder)
        with _committed(settings, folder) as changes:
            before = read_sources(folder)
            sources = dict(before)
            _assign_ids(folder, sources, incoming)
            results = [_store(folder, sources, item, changes) for item in incoming]
            if sources != before:
                changes.write(folder / SOURCES, _json(sources))
            built = _build(settings, progress)
    for r in results:
        log.info("%r: %s as %s", r.file, r.status, r.stored)
    return results, built


def remove(settings: Settings, doc: str, progress: Progress | None = None) -> bool:
    """Remove a document from the corpus and rebuild the index; True when the index was rebuilt."""
    folder = _folder(settings)
    with _locked(folder):
        _recover(settings, folder)
        return _remove(settings, folder, doc, progress)


def _remove(settings: Settings, folder: Path, doc: str, progress: Progress | None) -> bool:
    with _committed(settings, folder) as changes:
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


@contextmanager
def reading_corpus(settings: Settings) -> Iterator[None]:
    """Hold the corpus folder as the last finished ingest/remove left it, until the block ends.

    Waits for a running ingest/remove; the changes of one that was killed are kept or put back
    first (see the module docstring). A no-op for a folder this thread already holds.
    """
    folder = Path(settings.corpus_dir)
    if not folder.is_dir() or _holds(folder):
        yield
        return
    for _ in range(3):  # a writer may die between our recovery and our shared lock
        if (folder / JOURNAL).exists():
            with _locked(folder):
                _recover(settings, folder)
        with _locked(folder, shared=True):
            if not (folder / JOURNAL).exists():
                yield
                return
    raise CorpusError(f"{folder / JOURNAL} is left by an ingest or remove that did not finish and cannot be "
                      "resolved; see the log")


def read_corpus(settings: Settings) -> Corpus:
    """The parsed corpus, read under reading_corpus."""
    with reading_corpus(settings):
        return load_corpus(settings.corpus_dir)


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
    """Files written or deleted, with their previous bytes and mode, so they can be put back.

    The previous bytes are journaled in folder/JOURNAL before a file changes, so that the next
    process can put them back when this one is killed (see _recover).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.journal = folder / JOURNAL
        self.saved: dict[Path, tuple[bytes, int] | None] = {}

    def _save(self, path: Path) -> None:
        if path in self.saved:
            return
        before = (path.read_bytes(), path.stat().st_mode & 0o777) if path.exists() else None
        self.journal.mkdir(exist_ok=True)
        if before is not None:
            write_atomic(self.journal / f"{len(self.saved)}.bak", before[0])
        self.saved[path] = before
        entries = [{"name": p.name, "backup": f"{n}.bak" if b else None, "mode": b[1] if b else None}
                   for n, (p, b) in enumerate(self.saved.items())]
        write_atomic(self.journal / "journal.json", _json({"files": entries}))  # durable before the change

    def write(self, path: Path, data: bytes) -> None:
        self._save(path)
        write_atomic(path, data)

    def delete(self, path: Path) -> None:
        self._save(path)
        path.unlink()

    def undo(self) -> bool:
        """Put every changed file back as it was (a new file is removed); False when one could not be."""
        restored = True
        for path, before in reversed(list(self.saved.items())):
            try:
                if before is None:
                    path.unlink(missing_ok=True)
                else:
                    write_atomic(path, before[0], before[1])
            except OSError as exc:  # keep restoring the others; say which one could not be
                log.error("could not restore %s: %s", path, exc)
                restored = False
        return restored

    def close(self) -> None:
        """Forget the journal: the change is kept, or it was put back."""
        (self.journal / "journal.json").unlink(missing_ok=True)  # first: no journal.json = nothing to undo
        shutil.rmtree(self.journal, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path) -> _Changes:
        """The changes a journal records (none when journal.json was not written yet, or is gone)."""
        changes = cls(folder)
        try:
            entries = json.loads((changes.journal / "journal.json").read_text(encoding="utf-8"))["files"]
        except FileNotFoundError:
            return changes
        for e in entries:
            name = e["name"]
            if Path(name).name != name or name in ("", ".", ".."):  # only files directly in the folder
                raise ValueError(f"journal entry {name!r} is not a file name")
            before = None if e["backup"] is None else ((changes.journal / e["backup"]).read_bytes(), int(e["mode"]))
            changes.saved[folder / name] = before
        return changes


def _index_has(settings: Settings, folder: Path) -> bool:
    """True when the live index was built from the corpus folder as it is now."""
    from assistant.index import live_manifest

    try:
        manifest = live_manifest(settings)
        return manifest is not None and manifest.get("corpus_sha256") == load_corpus(folder).sha256
    except (AssistantError, OSError) as exc:  # no readable index or corpus: the change did not go live
        log.info("cannot compare the corpus with the live index (%s)", exc)
        return False


def _settle(settings: Settings, folder: Path, changes: _Changes) -> bool:
    """Keep the changes if the live index already has them, else put them back; True when settled."""
    if changes.saved and not _index_has(settings, folder):
        if not changes.undo():
            return False  # the journal stays, so the next start tries again
        log.warning("corpus changes to %s were put back: their index never went live",
                    ", ".join(p.name for p in changes.saved))
    changes.close()
    return True


def _recover(settings: Settings, folder: Path) -> None:
    """Settle the journal of an ingest/remove that was killed (the caller holds the lock exclusively)."""
    if not (folder / JOURNAL).exists():
        return
    try:
        changes = _Changes.load(folder)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CorpusError(f"{folder / JOURNAL} (left by an ingest or remove that did not finish) is unreadable "
                          f"({exc}); compare {folder} with `python -m assistant list`, then delete it") from exc
    log.warning("%s holds an ingest or remove that did not finish; settling it", folder)
    if not _settle(settings, folder, changes):
        raise CorpusError(f"the files of an ingest or remove that did not finish could not be put back in {folder} "
                          "(see the log); the journal in .ingest-journal is kept")
    _remove_stray_temps(folder)


def _remove_stray_temps(folder: Path) -> None:
    """Temp files of write_atomic (".<name>.<random>.tmp") that a killed writer left. Every writer holds
    the lock exclusively while it writes, and so does the caller: no such file is anyone's live write."""
    for tmp in folder.glob(".*.tmp"):
        if tmp.is_file():
            tmp.unlink(missing_ok=True)
            log.warning("removed %s, left by an ingest or remove that was killed mid-write", tmp.name)


@contextmanager
def _committed(settings: Settings, folder: Path) -> Iterator[_Changes]:
    """Journal the changes of the block; on any error (Ctrl-C too) keep them only if their index is live."""
    changes = _Changes(folder)
    try:
        yield changes
    except BaseException:  # corpus/ must match the index that is live
        _settle(settings, folder, changes)
        raise
    changes.close()


_held = threading.local()  # .folders: {corpus folder: "ex" | "sh"} locks this thread holds


def _holds(folder: Path) -> bool:
    return os.path.realpath(folder) in _held.__dict__.get("folders", {})


@contextmanager
def _locked(folder: Path, shared: bool = False, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold folder/.ingest.lock: exclusively to change the corpus, shared to read it.

    A thread that holds it may take it again (ingest's build reads the corpus under ingest's lock).
    """
    key = os.path.realpath(folder)
    held: dict[str, str] = _held.__dict__.setdefault("folders", {})
    if key in held:
        if not shared and held[key] == "sh":
            raise RuntimeError(f"{folder}: cannot change the corpus while reading it in the same thread")
        yield
        return
    fd = _lock_fd(folder)
    if fd is None:  # a read-only folder without a lock file: nobody can be changing it
        yield
        return
    try:
        mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
        deadline = time.monotonic() + timeout
        if not _try_lock(fd, mode):
            log.warning("an ingest or remove of %s is running; waiting for it", folder)
        while not _try_lock(fd, mode):
            if time.monotonic() >= deadline:
                raise CorpusError(f"an ingest or remove of {folder} is still running after {timeout:.0f} s; "
                                  "wait for it to finish, then try again")
            time.sleep(0.05)
        held[key] = "sh" if shared else "ex"
        try:
            yield
        finally:
            del held[key]
    finally:
        os.close(fd)  # releases the lock


def _lock_fd(folder: Path) -> int | None:
    for flags in (os.O_RDWR | os.O_CREAT, os.O_RDONLY):  # read-only folder: flock works on a read-only fd
        try:
            return os.open(folder / LOCK, flags, 0o644)
        except OSError:
            continue
    return None


def _try_lock(fd: int, mode: int) -> bool:
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write a file so that readers see the old bytes or the new ones, never a part (temp + os.replace)."""
    # A short prefix: ".<name>.<random>.tmp" of a 250-byte name would pass NAME_MAX (255 bytes).
    prefix = "." + path.name.encode("utf-8", "surrogateescape")[:64].decode("utf-8", "ignore") + "."
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=".tmp")
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
    _fsync_dir(path.parent)  # the rename itself survives a power cut


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
