"""The corpus folder as a transaction: locks, a journal of old bytes, atomic writes, and reading it
only as the last finished change left it. [I/O]

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
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from assistant.config import Settings
from assistant.corpus import Corpus, load_corpus
from assistant.errors import AssistantError, CorpusError
from assistant.index import live_manifest

log = logging.getLogger(__name__)

LOCK = ".ingest.lock"  # flock: one ingest/remove at a time per corpus folder (exclusive), readers shared
JOURNAL = ".ingest-journal"  # the old bytes of an ingest/remove whose index is not live yet
LOCK_TIMEOUT = 600.0  # seconds to wait for an ingest/remove of the same corpus folder


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
            with locked(folder):
                recover(settings, folder)
        with locked(folder, shared=True):
            if not (folder / JOURNAL).exists():
                yield
                return
    raise CorpusError(f"{folder / JOURNAL} is left by an ingest or remove that did not finish and cannot be "
                      "resolved; see the log")


def read_corpus(settings: Settings) -> Corpus:
    """The parsed corpus, read under reading_corpus."""
    with reading_corpus(settings):
        return load_corpus(settings.corpus_dir)


def json_bytes(data: dict) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")


class Changes:
    """Files written or deleted, with their previous bytes and mode, so they can be put back.

    The previous bytes are journaled in folder/JOURNAL before a file changes, so that the next
    process can put them back when this one is killed (see recover).
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
        write_atomic(self.journal / "journal.json", json_bytes({"files": entries}))  # durable before the change

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
    def load(cls, folder: Path) -> Changes:
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
    try:
        manifest = live_manifest(settings)
        return manifest is not None and manifest.get("corpus_sha256") == load_corpus(folder).sha256
    except (AssistantError, OSError) as exc:  # no readable index or corpus: the change did not go live
        log.info("cannot compare the corpus with the live index (%s)", exc)
        return False


def _settle(settings: Settings, folder: Path, changes: Changes) -> bool:
    """Keep the changes if the live index already has them, else put them back; True when settled."""
    if changes.saved and not _index_has(settings, folder):
        if not changes.undo():
            return False  # the journal stays, so the next start tries again
        log.warning("corpus changes to %s were put back: their index never went live",
                    ", ".join(p.name for p in changes.saved))
    changes.close()
    return True


def recover(settings: Settings, folder: Path) -> None:
    """Settle the journal of an ingest/remove that was killed (the caller holds the lock exclusively)."""
    if not (folder / JOURNAL).exists():
        return
    try:
        changes = Changes.load(folder)
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
def committed(settings: Settings, folder: Path) -> Iterator[Changes]:
    """Journal the changes of the block; on any error (Ctrl-C too) keep them only if their index is live."""
    changes = Changes(folder)
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
def locked(folder: Path, shared: bool = False, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
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
