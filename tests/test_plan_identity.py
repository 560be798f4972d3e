"""A plan is (document, plan), named by its own document: another women's plan never takes the name of
the official one (issue 15, finding 1). Real ingest into a copy of the session corpus and index."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant import Assistant, views
from assistant.corpus import load_corpus
from assistant.errors import InputError
from assistant.ingest import ingest

pytestmark = pytest.mark.slow

OTHER = """# 示范市妇女发展补充规划

一、主要目标

（一）妇女与健康

1．婚前医学检查率稳步提高。全面落实免费婚前医学检查，婚前医学检查率达到99％。

示范市妇女发展补充规划重点指标目标表

| 领域 | 序号 | 主要指标 | 2020年 | 2025年 |
| --- | --- | --- | --- | --- |
| 妇女与健康 | 1 | 婚前医学检查率（％） | 90 | 99 |
"""
QUESTION = "婚前医学检查率目标是多少"


@pytest.fixture(scope="module")
def two_women_plans(tmp_path_factory, session_settings, assistant):
    base = tmp_path_factory.mktemp("identity")
    shutil.copytree(session_settings.corpus_dir, base / "corpus")
    shutil.copytree(session_settings.index_dir, base / "index")
    settings = session_settings.with_(corpus_dir=str(base / "corpus"), index_dir=str(base / "index"))
    source = base / "示范市妇女发展补充规划.md"
    source.write_text(OTHER, encoding="utf-8")
    ingest(settings, [source])
    return settings


def test_each_plan_is_known_by_its_document(two_women_plans, corpus):
    plans = {p.key: p for d in load_corpus(two_women_plans.corpus_dir).documents.values() for p in d.plans}
    (official,) = corpus.documents
    assert set(plans) == {f"women@{official}", "women@示范市妇女发展补充规划", "children"}
    assert plans[f"women@{official}"].name == "嘉兴市妇女发展“十四五”规划"
    assert plans["women@示范市妇女发展补充规划"].name == "示范市妇女发展补充规划"
    assert plans["children"].name == "儿童规划"  # a kind one document holds keeps its short name


def test_the_answer_labels_each_row_by_its_own_plan(two_women_plans):
    a = Assistant(two_women_plans).ask(QUESTION)
    assert a.answerable and "妇女规划重点指标" not in a.answer
    for c in a.citations:  # a row is paired only with a sentence of its own document
        own = "示范市妇女发展补充规划" if c.doc == "示范市妇女发展补充规划" else "嘉兴市妇女发展“十四五”规划"
        assert c.plan == own
    if "99" in a.answer:
        assert "示范市妇女发展补充规划" in a.answer


def test_a_filter_by_kind_asks_which_plan(two_women_plans, corpus):
    assistant = Assistant(two_women_plans)
    with pytest.raises(InputError, match="有2份"):
        assistant.ask(QUESTION, plan="women")
    (official,) = corpus.documents
    a = assistant.ask(QUESTION, plan=f"women@{official}")
    assert a.answerable and {c.doc for c in a.citations} == {official} and "99" not in a.answer
    b = assistant.ask(QUESTION, plan="示范市妇女发展补充规划")
    assert {c.doc for c in b.citations} == {"示范市妇女发展补充规划"} and "99" in b.answer


def test_the_browser_lists_every_plan_by_its_own_name(two_women_plans):
    corpus = load_corpus(two_women_plans.corpus_dir)
    labels = views.plan_labels(corpus)
    assert "妇女规划" not in labels
    assert {"嘉兴市妇女发展“十四五”规划", "示范市妇女发展补充规划", "儿童规划"} <= set(labels)
    (doc, plan), = views.iter_plans(corpus, "示范市妇女发展补充规划")
    assert doc.doc == "示范市妇女发展补充规划"


def test_cli_plan_filter_takes_any_plan(two_women_plans, monkeypatch, capsys):
    from assistant.cli import main

    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", two_women_plans.corpus_dir)
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", two_women_plans.index_dir)
    assert main(["ask", QUESTION, "--plan", "示范市妇女发展补充规划"]) == 0
    assert "99" in capsys.readouterr().out
    assert Path(two_women_plans.corpus_dir, "示范市妇女发展补充规划.txt").is_file()
