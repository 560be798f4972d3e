"""Crash safety of the index: kill -9 mid-build, damaged files, read-only serving, concurrent builds.

"Read-only" is tested two ways, because the tests run as root and chmod does not stop root:
  * serving (open, ask, check a quote) must leave index_dir exactly as it was: the same paths,
    sizes and mtimes; Chroma rewrites its own files when it merely opens them, so a server
    works from a private copy;
  * where the kernel allows it, a process serves from an index dir that is bind-mounted
    read-only in a private mount namespace (`unshare --mount`), which stops root too.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from assistant import Assistant
from assistant.config import Settings
from assistant.errors import IndexStateError
from assistant.index import COPY_PREFIX, build_index, build_lock, open_index, read_current
from assistant.types import Chunk

pytestmark = pytest.mark.slow
QUESTION = "婚前医学检查率目标是多少"


@pytest.fixture()
def private(tmp_path, session_settings, assistant) -> Settings:
    """A private corpus copy and index (copied from the session index, which `assistant` builds)."""
    shutil.copytree(session_settings.corpus_dir, tmp_path / "corpus")
    shutil.copytree(session_settings.index_dir, tmp_path / "index")
    return session_settings.with_(corpus_dir=str(tmp_path / "corpus"), index_dir=str(tmp_path / "index"))


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every path under root with its size and mtime: equal snapshots mean nothing was written."""
    return {str(p.relative_to(root)): (p.lstat().st_size, p.lstat().st_mtime_ns) for p in root.rglob("*")}


def env_for(settings: Settings) -> dict[str, str]:
    return {**os.environ, "ASSISTANT_CORPUS_DIR": settings.corpus_dir, "ASSISTANT_INDEX_DIR": settings.index_dir}


def cli(settings: Settings, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True, text=True,
                          env=env_for(settings), timeout=timeout)


def start_build(settings: Settings, log: Path, *flags: str) -> subprocess.Popen:
    """`python -m assistant build [flags]` in the background, stderr to a file."""
    with open(log, "w") as err:
        return subprocess.Popen([sys.executable, "-m", "assistant", "build", *flags], env=env_for(settings),
                                stdout=subprocess.DEVNULL, stderr=err)


def change_corpus(settings: Settings) -> None:
    """Append a sentence: a plain `build` then rebuilds, embedding only the new chunk (fast)."""
    path = next(Path(settings.corpus_dir).glob("*.txt"))
    path.write_text(path.read_text(encoding="utf-8") + "\n附：本规划由市政府妇儿工委负责解释。\n", encoding="utf-8")


def wait_for(found: Callable[[], object], proc: subprocess.Popen, timeout: float = 300, step: float = 0.005):
    """Poll until found() is truthy (its value), or None once proc has exited or time is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        if proc.poll() is not None:
            return None
        time.sleep(step)
    return None


def live(index: Path) -> str:
    return (index / "CURRENT").read_text(encoding="utf-8")


def serves(settings: Settings) -> bool:
    answer = Assistant(settings, auto_build=False).ask(QUESTION)
    return answer.answerable and ">85" in answer.answer


# ---- kill -9 ---------------------------------------------------------------------------------


def test_kill_9_mid_build_keeps_the_old_index_serving_and_the_next_build_cleans_up(private, tmp_path):
    index = Path(private.index_dir)
    before = live(index)
    for _ in range(3):  # the partial lives ~0.2 s of a ~15 s build; a poll every 5 ms catches it
        proc = start_build(private, tmp_path / "build.err", "--force")
        partial = wait_for(lambda: next(index.glob(".partial-*"), None), proc)
        if partial is not None:
            break
        assert proc.wait() == 0 and live(index) != before, (tmp_path / "build.err").read_text()
        before = live(index)
    else:
        pytest.fail("the build never showed a .partial-* folder to kill it in")
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    assert partial.exists() and live(index) == before  # the crash left its partial; CURRENT untouched
    assert serves(private)

    done = cli(private, "build", "--force")
    assert done.returncode == 0, done.stderr
    assert live(index) != before
    assert not list(index.glob(".partial-*")) and not list(index.glob("CURRENT.*.tmp"))
    assert serves(private)


# ---- damaged files ---------------------------------------------------------------------------


def _write(relative: str, data: bytes) -> Callable[[Path, Path], None]:
    def damage(index: Path, build: Path) -> None:
        (index / relative if relative == "CURRENT" else build / relative).write_bytes(data)
    return damage


def _remove(relative: str) -> Callable[[Path, Path], None]:
    return lambda index, build: (build / relative).unlink()


DAMAGE = {
    "manifest garbage": _write("manifest.json", b"\x00\xff{garbage"),
    "manifest not an object": _write("manifest.json", b"[1, 2]"),
    "manifest missing": _remove("manifest.json"),
    "chunks garbage": _write("chunks.json", b"{not json"),
    "chunks of the wrong shape": _write("chunks.json", b'[{"id": 1}]'),
    "chunks missing": _remove("chunks.json"),
    "chroma garbage": _write("chroma/chroma.sqlite3", b"SQLite format 3\x00" + b"\xff" * 4096),
    "CURRENT points nowhere": _write("CURRENT", b"build-20990101-000000-gone00"),
    "CURRENT escapes the folder": _write("CURRENT", b"../../../etc"),
    "CURRENT empty": _write("CURRENT", b""),
    "CURRENT binary": _write("CURRENT", b"\xff\xfe\x00\x01"),
}


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
def test_a_damaged_index_is_a_clear_error_naming_the_rebuild(private, damage):
    index = Path(private.index_dir)
    damage(index, index / live(index))
    with pytest.raises(IndexStateError, match=r"run `python -m assistant build( --force)?`"):
        Assistant(private, auto_build=False)


def test_the_named_rebuild_repairs_a_damaged_index(private):
    index = Path(private.index_dir)
    DAMAGE["chroma garbage"](index, index / live(index))
    out = cli(private, "ask", QUESTION)  # the manifest still says "current": only --force rebuilds
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "run `python -m assistant build --force`" in out.stderr
    done = cli(private, "build", "--force")
    assert done.returncode == 0, done.stderr
    assert serves(private)


def test_a_damaged_pointer_counts_as_no_index_so_the_next_build_replaces_it(private):
    index = Path(private.index_dir)
    (index / "CURRENT").write_text("../elsewhere", encoding="utf-8")
    assert read_current(index) is None
    out = cli(private, "ask", QUESTION)  # auto-build on: the damaged pointer is rebuilt, then answered
    assert out.returncode == 0 and ">85" in out.stdout, out.stderr
    assert serves(private)


# ---- read-only serving -----------------------------------------------------------------------


def test_serving_writes_nothing_to_the_index_dir(private):
    index = Path(private.index_dir)
    before = snapshot(index)
    assistant = Assistant(private)  # auto_build on: the index is current, so nothing to build
    assert assistant.ask(QUESTION).answerable
    assistant.check_quote("婚前医学检查率保持在85％以上")
    del assistant
    gc.collect()
    out = cli(private, "ask", QUESTION)
    assert out.returncode == 0, out.stderr
    assert snapshot(index) == before


def test_private_copies_of_dead_servers_are_removed_on_the_next_open(private):
    dead = subprocess.Popen(["true"])
    dead.wait()  # its pid is free now: like a server killed (-9, SIGTERM) before it could clean up
    tmp = Path(tempfile.gettempdir())
    left = tmp / f"{COPY_PREFIX}{dead.pid}-leftover"
    mine = tmp / f"{COPY_PREFIX}{os.getpid()}-inuse"  # a live process's copy is never touched
    left.mkdir()
    mine.mkdir()
    try:
        assert open_index(private).chunks
        assert not left.exists() and mine.exists()
    finally:
        shutil.rmtree(left, ignore_errors=True)
        shutil.rmtree(mine, ignore_errors=True)


READ_ONLY_SERVER = """
import sys
from pathlib import Path
from assistant import Assistant
from assistant.config import Settings
index = Path(sys.argv[1])
try:
    (index / "probe").write_text("x")
    sys.exit("the mount is writable")
except OSError:
    pass
answer = Assistant(Settings.from_env(), auto_build=False).ask(sys.argv[2])
print("ANSWER", answer.answerable, answer.answer)
"""


def _read_only(index: Path, *command: str) -> list[str]:
    """A command run in a private mount namespace where index is bind-mounted read-only."""
    script = f'mount --bind "{index}" "{index}" && mount -o remount,ro,bind "{index}" && exec "$@"'
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *command]


def _can_mount_read_only(tmp_path: Path) -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = tmp_path / "ro-probe"
    probe.mkdir()
    out = subprocess.run(_read_only(probe, "sh", "-c", f'! touch "{probe}/x" 2>/dev/null'), capture_output=True)
    return out.returncode == 0


def test_serving_from_a_read_only_mount(private, tmp_path):
    if not _can_mount_read_only(tmp_path):
        pytest.skip("no read-only bind mount here (needs unshare --mount); the snapshot test covers no-writes")
    index = Path(private.index_dir)
    before = snapshot(index)
    env = env_for(private)
    out = subprocess.run(_read_only(index, sys.executable, "-c", READ_ONLY_SERVER, str(index), QUESTION),
                         capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "ANSWER True" in out.stdout and ">85" in out.stdout
    # The CLI (auto-build on) serves too; once the corpus changes, the build it needs fails with a
    # message, not a traceback.
    out = subprocess.run(_read_only(index, sys.executable, "-m", "assistant", "ask", QUESTION),
                         capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0 and ">85" in out.stdout, out.stderr
    change_corpus(private)
    out = subprocess.run(_read_only(index, sys.executable, "-m", "assistant", "ask", QUESTION),
                         capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 2 and "Read-only file system" in out.stderr and "Traceback" not in out.stderr
    assert snapshot(index) == before


# ---- concurrent builds -----------------------------------------------------------------------


def test_a_build_waits_for_the_lock_and_only_then_clears_dead_partials(private, tmp_path):
    index = Path(private.index_dir)
    before = live(index)
    change_corpus(private)
    with build_lock(index):
        writing = index / ".partial-live000000"  # what a build holding the lock would be writing
        writing.mkdir()
        proc = start_build(private, tmp_path / "build.err")
        waiting = wait_for(lambda: "waiting for it" in (tmp_path / "build.err").read_text(), proc, step=0.1)
        assert waiting, (tmp_path / "build.err").read_text()
        time.sleep(1)
        assert writing.exists() and live(index) == before and proc.poll() is None
    assert proc.wait(timeout=300) == 0, (tmp_path / "build.err").read_text()
    assert not writing.exists() and live(index) != before  # the holder is gone: its partial was dead
    assert serves(private)


@contextmanager
def lock_held_elsewhere(index: Path) -> Iterator[None]:
    """The build lock held by another thread (the thread that holds it may take it again)."""
    taken, done = threading.Event(), threading.Event()

    def hold() -> None:
        with build_lock(index):
            taken.set()
            done.wait(60)

    holder = threading.Thread(target=hold)
    holder.start()
    assert taken.wait(60)
    try:
        yield
    finally:
        done.set()
        holder.join()


def test_a_build_that_cannot_get_the_lock_fails_clearly(private):
    index = Path(private.index_dir)
    with lock_held_elsewhere(index):
        with pytest.raises(IndexStateError, match=rf"another build .* still running \(pid {os.getpid()}\)"):
            build_index(private, [], [], {}, lock_timeout=0.3)


def test_two_builds_at_once_both_finish_with_one_valid_index(private, tmp_path):
    index = Path(private.index_dir)
    change_corpus(private)
    procs = [start_build(private, tmp_path / f"build{k}.err") for k in range(2)]
    for k, proc in enumerate(procs):
        assert proc.wait(timeout=600) == 0, (tmp_path / f"build{k}.err").read_text()
    assert not list(index.glob(".partial-*"))
    assert len(list(index.glob("build-*"))) <= 2
    assert serves(private)


# ---- kill -9 during ingest -------------------------------------------------------------------
# The corpus is written before the index is built; the switch of CURRENT is the commit point. A
# kill before it leaves a journal (corpus/.ingest-journal) that the next start rolls back.


def corpus_state(settings: Settings) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in Path(settings.corpus_dir).iterdir() if p.is_file()
            and p.name != ".ingest.lock"}


def start_ingest(settings: Settings, path: Path, log: Path, *flags: str) -> subprocess.Popen:
    with open(log, "w") as err:
        return subprocess.Popen([sys.executable, "-m", "assistant", *flags, "ingest", str(path)],
                                env=env_for(settings), stdout=subprocess.DEVNULL, stderr=err)


def kill_mid_ingest(settings: Settings, tmp_path: Path) -> Path:
    """Ingest plan.md in a subprocess and kill -9 it once corpus/plan.txt is written, before its index is live."""
    from plan_files import write_md

    index, stored = Path(settings.index_dir), Path(settings.corpus_dir) / "plan.txt"
    before = live(index)
    source = write_md(tmp_path / "plan.md")
    proc = start_ingest(settings, source, tmp_path / "ingest.err")
    assert wait_for(stored.exists, proc), (tmp_path / "ingest.err").read_text()
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    assert stored.exists() and live(index) == before  # the crash left the new document and the old index
    return source


@pytest.mark.parametrize("first", ["list", "assistant", "ingest"])
def test_kill_9_mid_ingest_is_rolled_back_by_whatever_runs_next(private, tmp_path, first):
    before = corpus_state(private)
    source = kill_mid_ingest(private, tmp_path)
    if first == "list":
        out = cli(private, "list")
        assert out.returncode == 0 and "plan.md" not in out.stdout, out.stderr
    elif first == "assistant":
        assert serves(private)
    if first != "ingest":
        assert corpus_state(private) == before  # byte for byte, .sources.json too
        assert not (Path(private.corpus_dir) / ".ingest-journal").exists()
        assert serves(private)
    again = cli(private, "ingest", str(source))  # not "unchanged ... up to date"
    assert again.returncode == 0 and "added: " in again.stdout and "index rebuilt" in again.stdout, again.stderr
    a = Assistant(private, auto_build=False)
    assert "plan" in a.corpus.documents and any(c.doc == "plan" for c in a.index.chunks)


DIE_AFTER_SWITCH = """
import os, sys
import assistant.corpusdir as corpusdir
import assistant.ingest as ingest
from assistant.config import Settings
corpusdir.Changes.close = lambda self: os._exit(9)  # die after the index went live, before the journal is gone
ingest.ingest(Settings.from_env(), [sys.argv[1]])
"""


def test_kill_after_the_index_switched_keeps_the_ingest(private, tmp_path):
    from plan_files import write_md

    index = Path(private.index_dir)
    before = live(index)
    source = write_md(tmp_path / "plan.md")
    out = subprocess.run([sys.executable, "-c", DIE_AFTER_SWITCH, str(source)], capture_output=True, text=True,
                         env=env_for(private), timeout=300)
    assert out.returncode == 9, out.stderr
    assert live(index) != before and (Path(private.corpus_dir) / ".ingest-journal").exists()
    listed = cli(private, "list")
    assert listed.returncode == 0 and "file: plan.md" in listed.stdout, listed.stderr
    assert not (Path(private.corpus_dir) / ".ingest-journal").exists()
    assert "plan" in Assistant(private, auto_build=False).corpus.documents
    again = cli(private, "ingest", str(source))
    assert "unchanged: " in again.stdout and "up to date" in again.stdout, again.stderr


def test_asks_during_an_ingest_wait_for_it_and_build_nothing(private, tmp_path):
    from plan_files import write_md

    stored = Path(private.corpus_dir) / "plan.txt"
    ingesting = start_ingest(private, write_md(tmp_path / "plan.md"), tmp_path / "ingest.err", "-v")
    assert wait_for(stored.exists, ingesting), (tmp_path / "ingest.err").read_text()
    logs = [tmp_path / f"ask{k}.err" for k in range(8)]
    asks = []
    for log in logs:
        with open(log, "w") as err:
            asks.append(subprocess.Popen(
                [sys.executable, "-m", "assistant", "-v", "ask", "--doc", "plan", "每千人口托位数是多少"],
                env=env_for(private), stdout=subprocess.DEVNULL, stderr=err))
    assert ingesting.wait(timeout=600) == 0, (tmp_path / "ingest.err").read_text()
    for proc, log in zip(asks, logs):
        assert proc.wait(timeout=600) == 0, log.read_text()  # --doc plan: they read the new corpus
    assert (tmp_path / "ingest.err").read_text().count("building index") == 1
    assert sum(log.read_text().count("building index") for log in logs) == 0


# ---- an open racing the prune of newer builds ------------------------------------------------


def _rebuild_twice(settings: Settings) -> None:
    """Two complete builds from the live vectors (what other processes' builds would do)."""
    path, manifest = read_current(Path(settings.index_dir))
    chunks = [Chunk(**d) for d in json.loads((path / "chunks.json").read_text(encoding="utf-8"))]
    vectors = np.load(path / "vectors.npy")
    for _ in range(2):
        build_index(settings, chunks, vectors, manifest)


@pytest.mark.parametrize("moment", ["before the copy", "during the copy"])
def test_an_open_survives_two_builds_that_prune_its_build(private, monkeypatch, moment):
    import assistant.index as index_module

    index = Path(private.index_dir)
    first = live(index)
    done: list[bool] = []

    def racing(original):
        def wrapper(*args, **kwargs):
            if moment == "during the copy" and not done:
                done.append(True)
                _rebuild_twice(private)
            result = original(*args, **kwargs)
            if moment == "before the copy" and not done:  # CURRENT was read; nothing is pinned yet
                done.append(True)
                _rebuild_twice(private)
            return result
        return wrapper

    target = "_read_pointer" if moment == "before the copy" else "_open_copy"
    monkeypatch.setattr(index_module, target, racing(getattr(index_module, target)))
    opened = open_index(private)
    assert done and live(index) != first and opened.chunks
    # before the copy: the first build is gone, the new live one is opened; during it: the copy's
    # build was kept for it (a later build prunes it)
    assert opened.path.name == (live(index) if moment == "before the copy" else first)
    vector = np.load(opened.path / "vectors.npy")[0].tolist()
    assert opened.search_vector(vector, 3)[0][1] > 0.99  # the copy is whole: its own vector is found


# ---- SIGTERM ---------------------------------------------------------------------------------

SERVER = """
import time
from assistant import Assistant
from assistant.config import Settings
assistant = Assistant(Settings.from_env(), auto_build=False)
print("READY", flush=True)
time.sleep(300)
"""


def test_sigterm_removes_the_private_copy(private):
    proc = subprocess.Popen([sys.executable, "-c", SERVER], env=env_for(private), stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout.readline().strip() == "READY"
        pattern = f"{COPY_PREFIX}{proc.pid}-*"
        assert list(Path(tempfile.gettempdir()).glob(pattern))
        proc.terminate()
        assert proc.wait(timeout=60) == -signal.SIGTERM  # it still ends as SIGTERM ends it
        assert not list(Path(tempfile.gettempdir()).glob(pattern))
    finally:
        proc.kill()
