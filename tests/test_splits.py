"""The colloquial dev items and the frozen blind split: well-formed, answerable from the corpus text."""

import json
import re

import pytest

from assistant.evaluate import SPLIT_CORPUS, SPLITS, load_split

FIELDS = {"id", "question", "category", "expected_answer", "must_include", "must_not_include", "answerable",
          "plan", "source_quote", "section"}
CATEGORIES = {"indicator_target", "indicator_baseline", "text_target", "task_lookup", "responsibility",
              "key_project", "definition_scope", "ambiguous", "citation_check", "multi_turn", "unanswerable",
              "table_lookup", "document_facts"}
LABELS = {"原文一致", "与原文不一致", "未找到"}


@pytest.fixture(scope="module")
def flat_corpus(corpus_text):
    return re.sub(r"\s+", "", corpus_text)


@pytest.mark.parametrize("split,path", [(n, p) for n, paths in SPLITS.items() for p in paths if p.name != "qa.jsonl"],
                         ids=lambda v: getattr(v, "name", v))
def test_items_are_well_formed_and_grounded(split, path, flat_corpus):
    """Every quote and required string is in the text the split is asked of (the external splits:
    the external documents as found)."""
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert items
    if split in SPLIT_CORPUS:
        files = sorted(SPLIT_CORPUS[split].glob("*.txt"))
        flat_corpus = re.sub(r"\s+", "", "".join(f.read_text(encoding="utf-8") for f in files))
    for item in items:
        where = "doc" if split in SPLIT_CORPUS else "plan"
        assert (FIELDS - {"plan"}) | {where} <= set(item), item["id"]
        assert item["category"] in CATEGORIES, item["id"]
        if item["source_quote"]:
            assert re.sub(r"\s+", "", item["source_quote"]) in flat_corpus, item["id"]
        for s in item["must_include"]:
            assert s in LABELS or re.sub(r"\s+", "", s) in flat_corpus, (item["id"], s)
        if "turns" in item:
            assert 2 <= len(item["turns"]) <= 4 and item["turns"][-1] == item["question"], item["id"]
        if not item["answerable"]:
            assert not item["must_include"], item["id"]


def test_ids_are_unique_across_splits():
    ids = [item["id"] for item in load_split("all")]
    assert len(ids) == len(set(ids))


def test_blind_split_is_large_enough_and_mixed():
    blind = load_split("blind")
    assert len(blind) >= 250
    cats = {item["category"] for item in blind}
    assert cats == CATEGORIES - {"table_lookup", "document_facts"}
    english = sum(1 for item in blind if not re.search(r"[\u4e00-\u9fff]", item["question"]))
    assert english / len(blind) >= 0.05
    assert sum(1 for item in blind if "turns" in item) >= 25
    assert sum(1 for item in blind if not item["answerable"]) >= 25


def test_external_splits_cover_every_category_and_document():
    for split in SPLIT_CORPUS:
        items = load_split(split)
        assert len(items) >= 60
        assert {i["category"] for i in items} >= {"table_lookup", "text_target", "task_lookup", "responsibility",
                                                   "definition_scope", "document_facts", "ambiguous",
                                                   "citation_check", "multi_turn", "unanswerable"}
        stems = {f.stem for f in SPLIT_CORPUS[split].glob("*.txt")}
        assert stems <= {i["doc"] for i in items}
