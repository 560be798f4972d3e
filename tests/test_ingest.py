"""Ingest, list and remove against a real corpus folder and a real index (copied from the session's).

The index always matches the corpus: an unchanged file changes nothing, a bad file changes
nothing, and a failed build puts corpus/ back as it was.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path

import pytest
from plan_files import TITLE, bad_files, write_docx, write_md, write_pdf

from assistant import Assistant
from assistant.cli import main
from assistant.errors import CorpusError, InputError
from assistant.index import read_current
from assistant.ingest import SOURCES, ingest, list_documents, remove

pytestmark = pytest.mark.slow

DOC = "示范市_养老规划"  # the id of "示范市 养老规划.docx"


def private_copy(base: Path, settings):
    """A private corpus copy and index (copied from the session index to save an embedding pass)."""
    shutil.copytree(settings.corpus_dir, base / "corpus")
    shutil.copytree(settings.index_dir, base / "index")
    return settings.with_(corpus_dir=str(base / "corpus"), index_dir=str(base / "index"))


def live(settings) -> str:
    return read_current(Path(settings.index_dir))[0].name


def state(settings) -> tuple[str, dict[str, tuple[bytes, int]]]:
    """The live build and every corpus file's bytes and mode."""
    files = {p.name: (p.read_bytes(), p.stat().st_mode) for p in Path(settings.corpus_dir).iterdir()
             if p.name != ".ingest.lock"}
    return live(settings), files


@pytest.fixture()
def private(tmp_path, session_settings, assistant):
    return private_copy(tmp_path, session_settings)


@pytest.fixture(scope="module")
def ingested(tmp_path_factory, session_settings, assistant):
    """A private corpus with the .docx plan ingested: (settings, source file, results, built)."""
    base = tmp_path_factory.mktemp("ingested")
    settings = private_copy(base, session_settings)
    source = write_docx(base / "示范市 养老规划.docx")
    results, built = ingest(settings, [source])
    return settings, source, results, built


def test_ingest_adds_the_document_and_remembers_its_source(ingested):
    settings, source, [result], built = ingested
    assert (result.doc, result.status, built) == (DOC, "added", True)
    stored = Path(settings.corpus_dir) / f"{DOC}.txt"
    assert stored.read_text(encoding="utf-8").startswith(TITLE + "\n")
    sources = json.loads((Path(settings.corpus_dir) / SOURCES).read_text(encoding="utf-8"))
    assert sources[DOC]["file"] == source.name
    assert sources[DOC]["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()


def test_list_shows_each_document(ingested):
    settings, source, _, _ = ingested
    docs = {d.doc: d for d in list_documents(settings)}
    info = docs[DOC]
    assert (info.file, info.plans, info.indicators) == (source.name, [TITLE], 3)
    chunks = [c for c in Assistant(settings, auto_build=False).index.chunks if c.doc == DOC]
    assert info.chunks == len(chunks) > 3
    assert info.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
    seed = next(d for d in docs.values() if d.doc != DOC)
    assert seed.indicators == 40 and len(seed.plans) == 2 and seed.file.endswith(".txt")


def test_ask_with_a_document_filter(ingested):
    settings = ingested[0]
    a = Assistant(settings, auto_build=False)
    answer = a.ask("护理型床位占比的目标是多少", doc=DOC)
    assert answer.answerable and "≥58" in answer.answer
    assert answer.citations and {c.doc for c in answer.citations} == {DOC}
    for c in answer.citations:
        assert a.corpus.text(c.doc)[c.start:c.end] == c.quote
    assert {h.chunk.doc for h in answer.retrieved} == {DOC}
    seed = next(d for d in a.corpus.documents if d != DOC)
    other = a.ask("婚前医学检查率目标是多少", doc=seed)
    assert other.answerable and {c.doc for c in other.citations} == {seed}
    assert {h.chunk.doc for h in a.retrieve("养老床位", doc=seed)} == {seed}
    with pytest.raises(InputError, match="没有文档"):
        a.ask("护理型床位占比的目标是多少", doc="no-such-doc")


def test_reingesting_an_unchanged_file_does_nothing(ingested):
    settings, source, _, _ = ingested
    before = state(settings)
    [result], built = ingest(settings, [source])
    assert (result.status, built) == ("unchanged", False)
    assert state(settings) == before


def test_cli_list_and_ask_doc(ingested, monkeypatch, capsys):
    settings, source, _, _ = ingested
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", settings.corpus_dir)
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", settings.index_dir)
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    sha = hashlib.sha256(source.read_bytes()).hexdigest()[:12]
    assert DOC in out and source.name in out and sha in out and "indicator rows: 3" in out and TITLE in out
    assert main(["ask", "--doc", DOC, "护理型床位占比的目标是多少"]) == 0
    out = capsys.readouterr().out
    assert "≥58" in out and f"（{DOC}，第" in out


def test_changed_file_replaces_then_remove(private, tmp_path):
    source = write_docx(tmp_path / "示范市 养老规划.docx")
    ingest(private, [source])
    first = live(private)
    write_docx(source, extra="3．发展老年助餐。到2025年，建成老年助餐点500个。")
    [result], built = ingest(private, [source])
    assert (result.status, built) == ("replaced", True) and live(private) != first
    a = Assistant(private, auto_build=False)
    answer = a.ask("老年助餐点建成多少个", doc=DOC)
    assert any("500个" in c.quote for c in answer.citations), answer.answer

    replaced = live(private)
    assert remove(private, DOC) is True
    assert live(private) != replaced
    assert not (Path(private.corpus_dir) / f"{DOC}.txt").exists()
    assert DOC not in json.loads((Path(private.corpus_dir) / SOURCES).read_text(encoding="utf-8"))
    assert DOC not in {d.doc for d in list_documents(private)}
    assert DOC not in Assistant(private, auto_build=False).corpus.documents


def test_remove_unknown_or_last_document_is_an_error(private):
    with pytest.raises(CorpusError, match="no such document"):
        remove(private, "nope")
    [only] = [p.stem for p in Path(private.corpus_dir).glob("*.txt")]
    with pytest.raises(CorpusError, match="the only document"):
        remove(private, only)


def test_bad_files_change_nothing(private, tmp_path):
    settings = private.with_(max_file_bytes=5000)
    good = write_md(tmp_path / "good.md")
    before = state(settings)
    for name, reason in bad_files(tmp_path):
        with pytest.raises(CorpusError) as err:
            ingest(settings, [good, tmp_path / name])  # every file is checked before anything is written
        assert str(err.value).startswith(f"{tmp_path / name}: ") and reason in str(err.value)
        assert state(settings) == before, name
    (tmp_path / "good.txt").write_text("另一个文件。", encoding="utf-8")
    with pytest.raises(CorpusError, match="would be stored as good.txt"):
        ingest(settings, [good, tmp_path / "good.txt"])
    assert state(settings) == before


def test_cli_bad_file_is_a_message_and_exit_2(private, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", private.corpus_dir)
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", private.index_dir)
    bad = tmp_path / "corrupt.docx"
    bad.write_bytes(b"not a zip")
    before = state(private)
    assert main(["ingest", str(write_md(tmp_path / "good.md")), str(bad)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {bad}: not a readable .docx file")
    assert state(private) == before


def test_failed_build_puts_the_corpus_back(private, tmp_path, monkeypatch):
    import assistant.index as index_module

    before = state(private)

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(index_module, "_write_json", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        ingest(private, [write_md(tmp_path / "plan.md")])
    assert state(private) == before
    [seed] = [p.stem for p in Path(private.corpus_dir).glob("*.txt")]
    (Path(private.corpus_dir) / "extra.txt").write_text("一、总体要求\n（一）目标。坚持发展。\n", encoding="utf-8")
    before = state(private)  # the live index is now behind corpus/: removing must still restore exactly
    with pytest.raises(RuntimeError, match="disk full"):
        remove(private, seed)
    assert state(private) == before


def test_unstructured_text_is_indexed_by_paragraphs(private, tmp_path, caplog):
    notes = tmp_path / "notes.txt"
    paragraphs = ["这是一份会议纪要，没有编号标题。", "会议讨论了养老服务的经费安排。\n经费由市财政统筹。",
                  "下次会议时间另行通知。"]
    notes.write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="assistant.structure"):
        results, built = ingest(private, [notes, write_pdf(tmp_path / "care.pdf")])
    assert built and [r.status for r in results] == ["added", "added"]
    warned = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert "notes.txt: no plan structure recognised" in warned and "care.pdf" in warned
    a = Assistant(private, auto_build=False)
    chunks = [c for c in a.index.chunks if c.doc == "notes"]
    assert [c.text for c in chunks] == paragraphs
    assert all(c.id.startswith("notes/") and "/p" in c.id for c in chunks)
    answer = a.ask("会议经费由谁统筹", doc="notes")
    assert answer.citations and answer.citations[0].doc == "notes"
    assert "市财政统筹" in " ".join(c.quote for c in answer.citations)
    assert any("45 beds" in c.text for c in a.index.chunks if c.doc == "care")


def plain(path: Path, sentence: str) -> Path:
    path.write_text(f"一、总体要求\n（一）{sentence}坚持发展。\n", encoding="utf-8")
    return path


def test_names_that_map_to_one_id_get_distinct_ids(private, tmp_path):
    bangs, hashes = plain(tmp_path / "!!!.txt", "甲文件。"), plain(tmp_path / "###.txt", "乙文件。")
    [first], _ = ingest(private, [bangs])
    [second], built = ingest(private, [hashes])
    assert first.doc == "document" and second.doc.startswith("document-") and second.status == "added" and built
    corpus = Path(private.corpus_dir)
    assert "甲文件" in (corpus / "document.txt").read_text(encoding="utf-8")
    assert "乙文件" in (corpus / f"{second.doc}.txt").read_text(encoding="utf-8")
    files = {d.doc: d.file for d in list_documents(private)}
    assert files["document"] == "!!!.txt" and files[second.doc] == "###.txt"
    # the same file keeps its id: re-ingesting either one changes nothing
    assert [(r.doc, r.status) for r in ingest(private, [hashes, bangs])[0]] == [
        (second.doc, "unchanged"), ("document", "unchanged")]


def test_a_long_cjk_name_is_stored_under_an_id_bounded_in_bytes(private, tmp_path):
    source = plain(tmp_path / ("规" * 80 + ".txt"), "长文件名。")
    [result], built = ingest(private, [source])
    assert result.status == "added" and built
    assert len(result.doc.encode("utf-8")) <= 200 and Path(result.stored).exists()
    assert result.doc in Assistant(private, auto_build=False).corpus.documents


def test_control_characters_in_names_are_escaped_in_cli_output(private, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", private.corpus_dir)
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", private.index_dir)
    name = "\x1b[31mred\x1b[0m\u202egpj.txt"  # a colour change and a right-to-left override
    source = plain(tmp_path / name, "丙文件。")
    assert main(["ingest", str(source)]) == 0
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u202e" not in out
    assert "\\x1b[31mred\\x1b[0m\\u202egpj.txt" in out
    assert main(["list", "--json"]) == 0
    text = capsys.readouterr().out
    assert "\x1b" not in text and "\u202e" not in text
    assert name in {d["file"] for d in json.loads(text)}  # the JSON value is the real name
    assert main(["remove", "\x1b[2Jnope"]) == 2
    assert "\x1b" not in capsys.readouterr().err
