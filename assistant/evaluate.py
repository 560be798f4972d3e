"""Evaluation harness: the Q&A set through the assistant and the baselines, scored and reported.

    python -m assistant eval [--set evals/qa.jsonl] [--report evals/reports/] [--category X] [--limit N]

Scoring is pure (check_answer, hit_rank, citation_ok, summarize); running asks the systems and
reporting writes latest.md, latest.json and latest.png.
"""

from __future__ import annotations

import json
import logging
import math
import re
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.baselines import DESCRIPTIONS, make_baselines
from assistant.config import ROOT, Settings
from assistant.corpus import Corpus
from assistant.errors import InputError
from assistant.types import Answer, Chunk, Citation, Hit

if TYPE_CHECKING:
    from assistant.core import Assistant

log = logging.getLogger(__name__)

DEFAULT_SET = ROOT / "evals" / "qa.jsonl"
# The dev split is tuned on; the blind split was written by helpers from the plan text alone, frozen
# before any tuning, and is only measured (failures read by class, never edited to pass).
SPLITS = {
    "dev": [ROOT / "evals" / "qa.jsonl", ROOT / "evals" / "dev_colloquial.jsonl"],
    # A second dev split, also tuned on: written later by a helper from the plan text and the users
    # alone, heavy on near-miss refusals, questions that fit both plans and paraphrased tasks (the
    # blind split's weakest classes), so that tuning sees them without reading the blind items.
    "dev2": [ROOT / "evals" / "dev_d4.jsonl"],
    # A third, written by two helpers from the plan text and the users alone for the weakest kinds:
    # near-miss refusals, definitions, questions that fit several places, and follow-ups. Tuned on.
    "dev3": [ROOT / "evals" / "dev_d5.jsonl"],
    # A fourth, from one helper the same way: questions that fit several places, near-miss refusals.
    "dev4": [ROOT / "evals" / "dev_d6.jsonl"],
    "blind": [ROOT / "evals" / "blind.jsonl"],
    # Over documents nobody here wrote (evals/external-docs, copies of ../shared/external-docs as
    # found), asked of a corpus of those documents alone; written the same way, blind frozen.
    "external-dev": [ROOT / "evals" / "external_dev.jsonl"],
    "external-blind": [ROOT / "evals" / "external_blind.jsonl"],
    # A second external dev set, later sections and annex tables, written the same way. Tuned on.
    "external-dev2": [ROOT / "evals" / "external_dev2.jsonl"],
}
# Splits asked of another corpus than the bundled one; "all" is the splits over the bundled corpus.
SPLIT_CORPUS = {name: ROOT / "evals" / "external-docs" for name in ("external-dev", "external-dev2", "external-blind")}
GROUPS = {"all": [n for n in SPLITS if n not in SPLIT_CORPUS], "external": list(SPLIT_CORPUS)}
DEFAULT_REPORT_DIR = ROOT / "evals" / "reports"
OURS = "ours"
ALL = "all"
_WS = re.compile(r"\s+")

# (key, column header, format) of each summary metric, in table order.
METRICS: list[tuple[str, str, str]] = [
    ("n", "n", "int"),
    ("answer_acc", "answer acc", "pct"),
    ("hit1", "hit@1", "pct"),
    ("hit5", "hit@5", "pct"),
    ("mrr", "MRR", "f3"),
    ("citation_acc", "cite acc", "pct"),
    ("citation_strict", "cite strict", "pct"),
    ("citation_validity", "cite valid", "pct"),
    ("refusal_acc", "refusal acc", "pct"),
    ("false_refusal", "false refusal", "pct"),
    ("median_chars", "median chars", "int"),
    ("p50_ms", "p50 ms", "f1"),
    ("p95_ms", "p95 ms", "f1"),
]

NOTES = [
    "Multi-turn items: ours answers the turns in order with the earlier answers as history; "
    "the baselines keep no conversation and answer the last question alone.",
    "Baselines never refuse (answerable whenever anything is retrieved) and do not check quotations, "
    "so unanswerable and citation_check items fail for them by construction.",
    "answer acc: every must_include in the answer, no must_not_include, answerable flag right "
    "(strings compared without whitespace). A long answer can contain a must_include number by chance: "
    "read the naive baseline's accuracy next to its median length.",
    "hit@k / MRR: rank of the first retrieved chunk holding source_quote (whitespace ignored; an indicator "
    "chunk's corpus span counts too); items with a source_quote, unanswerable ones included (their quote is "
    "the nearest passage).",
    "cite acc: the cited spans cover at least half of source_quote where it stands in the document "
    "(a quoted PDF line may begin in the sentence before); cite strict: source_quote inside one cited quote; "
    "both over answerable items with a source_quote. "
    "cite valid: share of citations whose quote equals the corpus text at their offsets.",
    "refusal acc: unanswerable items refused; false refusal: answerable items refused. "
    "Latency is per item (all turns of a multi-turn item), after a warm-up.",
]


@dataclass
class ItemResult:
    """One system's result on one Q&A item, with the reasons it failed."""

    system: str
    id: str
    category: str
    question: str
    answer: str
    answerable: bool
    expected_answerable: bool
    passed: bool
    reasons: list[str]
    hit_rank: int | None  # first retrieved chunk holding source_quote, 1-based; 0 = missed; None = no quote
    citation_ok: bool | None  # the place of source_quote cited; None when the item is not scored for it
    citation_strict: bool | None  # source_quote inside one cited quote
    citations: int
    citations_valid: int
    latency_ms: float
    turns: list[str] = field(default_factory=list)  # a multi-turn item's turns (baselines ask only the last)
    kind: str = ""
    strategy: str = ""  # the answer strategy whose draft was shown (or refused)
    support: float | None = None  # the support score the refusal step saw (None: exempt, e.g. a named row)
    support_floor: float | None = None
    hard_refusal: bool = False  # refused by a check other than support (a year, a place, no draft at all)
    cited_spans: list[tuple[str, int, int]] = field(default_factory=list)
    resolved_question: str = ""
    top_sections: list[str] = field(default_factory=list)
    llm: str = ""  # LLM mode: "used", "fallback: <reason>" or "skipped: <why>"; "" without a model


# ---- scoring (pure) ----------------------------------------------------------------------------


def squash(text: str) -> str:
    """Text without whitespace: table cells and long lines wrap in the corpus ("婚前医学\\n检查率")."""
    return _WS.sub("", text)


def check_answer(item: dict, text: str, answerable: bool) -> list[str]:
    """Why an answer fails the item; empty when it passes."""
    have = squash(text)
    reasons = [f"missing must_include: {s}" for s in item["must_include"] if squash(s) not in have]
    reasons += [f"contains must_not_include: {s}" for s in item["must_not_include"]
                if squash(s) in _without_required(have, item["must_include"], squash(s))]
    if answerable != item["answerable"]:
        reasons.append("refused an answerable question" if item["answerable"] else "answered an unanswerable question")
    return reasons


def _without_required(have: str, required: list[str], forbidden: str) -> str:
    """The answer without the required strings that contain a forbidden one: "原文一致" must not be
    said, but it is inside the required "与原文不一致", which does not say it."""
    for s in sorted((squash(r) for r in required), key=len, reverse=True):
        if forbidden in s and s != forbidden:
            have = have.replace(s, "|")
    return have


def holds(quote: str, chunk: Chunk, corpus: Corpus) -> bool:
    """Does the chunk hold the quote, in its text or its corpus span (indicator text is synthesized)?"""
    q = squash(quote)
    return q in squash(chunk.text) or q in squash(corpus.quote(chunk.doc, chunk.start, chunk.end))


def hit_rank(quote: str, hits: list[Hit], corpus: Corpus) -> int | None:
    """1-based rank of the first hit holding the quote; 0 when none does; None when there is no quote."""
    if not quote:
        return None
    return next((rank for rank, h in enumerate(hits, 1) if holds(quote, h.chunk, corpus)), 0)


def citation_ok(item: dict, citations: list[Citation], corpus: Corpus | None = None) -> bool | None:
    """Does the answer cite the place of source_quote? True when the quote is inside a cited quote,
    or, with the corpus, when the cited spans cover at least half of the quote's characters where it
    stands in the document: a quoted PDF line often starts in the sentence before the one cited
    ("单。初筛机构获得……应当在 5 个工作"). None for unanswerable items and items without a quote."""
    if not (item["answerable"] and item["source_quote"]):
        return None
    quote = squash(item["source_quote"])
    if any(quote in squash(c.quote) for c in citations):
        return True
    if corpus is None:
        return False
    for doc_id in [item["doc"]] if item.get("doc") in corpus.documents else list(corpus.documents):
        places = _squashed(corpus.documents[doc_id].text)
        at = places[0].find(quote)
        if at < 0:
            continue
        spans = [(c.start, c.end) for c in citations if c.doc == doc_id]
        covered = sum(any(s <= pos < e for s, e in spans) for pos in places[1][at : at + len(quote)])
        return 2 * covered >= len(quote)
    return False


def citation_strict(item: dict, citations: list[Citation]) -> bool | None:
    """The stricter reading of citation_ok: source_quote inside one cited quote."""
    return citation_ok(item, citations)


@lru_cache(maxsize=32)
def _squashed(text: str) -> tuple[str, tuple[int, ...]]:
    """The text without whitespace, and each of its characters' offset in the text."""
    offsets = tuple(k for k, ch in enumerate(text) if not ch.isspace())
    return "".join(text[k] for k in offsets), offsets


def quote_valid(citation: Citation, corpus: Corpus) -> bool:
    """Does the quote equal the corpus text at its offsets?"""
    doc = corpus.documents.get(citation.doc)
    return (doc is not None and 0 <= citation.start <= citation.end <= len(doc.text)
            and doc.text[citation.start:citation.end] == citation.quote)


def score(system: str, item: dict, answer: Answer, corpus: Corpus, latency_ms: float, error: str = "") -> ItemResult:
    """Score one answer against its item."""
    reasons = ([f"error: {error}"] if error else []) + check_answer(item, answer.answer, answer.answerable)
    return ItemResult(
        system=system, id=item["id"], category=item["category"], question=item["question"], answer=answer.answer,
        turns=list(item.get("turns") or []),
        answerable=answer.answerable, expected_answerable=item["answerable"], passed=not reasons, reasons=reasons,
        hit_rank=hit_rank(item["source_quote"], answer.retrieved, corpus),
        citation_ok=citation_ok(item, answer.citations, corpus),
        citation_strict=citation_strict(item, answer.citations), citations=len(answer.citations),
        citations_valid=sum(quote_valid(c, corpus) for c in answer.citations), latency_ms=round(latency_ms, 2),
        kind=answer.kind, strategy=answer.context.get("strategy", ""), resolved_question=answer.resolved_question,
        support=answer.context.get("support"), support_floor=answer.context.get("support_floor"),
        hard_refusal=bool(answer.context.get("hard_refusal")),
        cited_spans=[(c.doc, c.start, c.end) for c in answer.citations],
        top_sections=[h.chunk.section for h in answer.retrieved[:3]], llm=answer.context.get("llm", ""))


def mean(flags: list) -> float | None:
    """Mean of numbers or booleans; None for an empty list (nothing was scored)."""
    return sum(flags) / len(flags) if flags else None


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def summarize(results: list[ItemResult]) -> dict[str, float | None]:
    """Every report metric over some results; None where no item was scored for it."""
    ranks = [r.hit_rank for r in results if r.hit_rank is not None]
    n_cites = sum(r.citations for r in results)
    latency = [r.latency_ms for r in results]
    return {
        "n": len(results),
        "answer_acc": mean([r.passed for r in results]),
        "hit1": mean([r == 1 for r in ranks]),
        "hit5": mean([0 < r <= 5 for r in ranks]),
        "mrr": mean([1 / r if r else 0.0 for r in ranks]),
        "citation_acc": mean([r.citation_ok for r in results if r.citation_ok is not None]),
        "citation_strict": mean([r.citation_strict for r in results if r.citation_strict is not None]),
        "citation_validity": sum(r.citations_valid for r in results) / n_cites if n_cites else None,
        "refusal_acc": mean([not r.answerable for r in results if not r.expected_answerable]),
        "false_refusal": mean([not r.answerable for r in results if r.expected_answerable]),
        "median_chars": statistics.median(len(r.answer) for r in results) if results else None,
        "p50_ms": percentile(latency, 50),
        "p95_ms": percentile(latency, 95),
    }


CURVE_SHIFTS = [round(-0.25 + 0.05 * i, 2) for i in range(11)]  # support floors moved by -0.25 .. +0.25


def refused_at(result: ItemResult, shift: float) -> bool:
    """Would the item be refused with both support floors moved by `shift`? Hard refusals stay."""
    if result.kind == "quote_check":
        return False
    if result.support is None or result.support_floor is None:
        return result.hard_refusal or not result.answerable
    return result.hard_refusal and not result.answerable or result.support < result.support_floor + shift


def refusal_curve(results: list[ItemResult]) -> list[dict[str, float | None]]:
    """Refusal of unanswerable items against false refusal of answerable ones, per floor shift.

    Read from one run: each answer records its support score, so moving the floor only flips items
    whose score lies between the old and the new floor (which strategy answers would not change)."""
    rows = []
    for shift in CURVE_SHIFTS:
        unanswerable = [refused_at(r, shift) for r in results if not r.expected_answerable]
        answerable = [refused_at(r, shift) for r in results if r.expected_answerable]
        rows.append({"shift": shift, "refusal": mean(unanswerable), "false_refusal": mean(answerable)})
    return rows


def curve_table(results: list[ItemResult]) -> str:
    from assistant import thresholds as T

    rows = [[f"{row['shift']:+.2f}", f"{T.SUPPORT_MIN + row['shift']:.2f} / {T.SUPPORT_MIN_NUMBER + row['shift']:.2f}",
             fmt(row["refusal"], "pct"), fmt(row["false_refusal"], "pct")] for row in refusal_curve(results)]
    return table(["shift", "floor (text / number)", "refusal", "false refusal"], rows)


# ---- running -----------------------------------------------------------------------------------


@dataclass
class EvalRun:
    """Every system's results on the same items, and how the run went."""

    items: list[dict]
    results: dict[str, list[ItemResult]]
    seconds: float
    set_path: str
    embedder: str
    started_at: str

    def categories(self) -> list[str]:
        """Categories in the order they first appear in the set."""
        return list(dict.fromkeys(item["category"] for item in self.items))

    def splits(self) -> list[str]:
        """Splits in the order they first appear ("dev", "blind"; "" for a plain set)."""
        return list(dict.fromkeys(item.get("split", "") for item in self.items))

    def summary(self, system: str, category: str = ALL, split: str = ALL) -> dict[str, float | None]:
        """The metrics of one system, over one category (or all) of one split (or all)."""
        marks = {item["id"]: item.get("split", "") for item in self.items}
        return summarize([r for r in self.results[system] if category in (ALL, r.category)
                          and split in (ALL, marks.get(r.id, ""))])


def load_items(path: str | Path | None = None, category: str | None = None, limit: int | None = None) -> list[dict]:
    """The Q&A items of a JSONL file; optionally one category, and only the first `limit`."""
    path = Path(path or DEFAULT_SET)
    items = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from exc
    if category:
        known = sorted({i["category"] for i in items})
        items = [i for i in items if i["category"] == category]
        if not items:
            raise InputError(f"no items of category {category!r} in {path}; categories: {', '.join(known)}")
    return items[:limit] if limit is not None else items


@contextmanager
def assistant_over(folder: Path, settings: Settings | None = None, progress=None) -> Iterator[Assistant]:
    """An assistant over the documents of `folder` alone, ingested into a temporary corpus and index
    (the external splits are asked of such a corpus)."""
    from assistant.core import Assistant as _Assistant
    from assistant.ingest import ingest

    files = sorted(p for p in folder.iterdir()
                   if p.suffix.lower() in (".txt", ".pdf", ".docx", ".html", ".md") and p.name.lower() != "readme.md")
    base = settings or Settings.from_env()
    with tempfile.TemporaryDirectory(prefix="assistant-eval-") as tmp:
        own = replace(base, corpus_dir=f"{tmp}/corpus", index_dir=f"{tmp}/index", chroma_host="")
        ingest(own, files, progress=progress)
        yield _Assistant(own, progress=progress)


def split_corpus(name: str) -> Path | None:
    """The folder of documents a split is asked of, None for the bundled corpus."""
    folders = {SPLIT_CORPUS.get(n) for n in GROUPS.get(name, [name])}
    if len(folders) > 1:
        raise InputError(f"split {name!r} mixes corpora; evaluate its parts one by one")
    return folders.pop()


def load_split(name: str, category: str | None = None, limit: int | None = None) -> list[dict]:
    """The items of a named split ("dev", "blind", or a group: "all" for both, "external" for the
    external-document splits), each marked with its split."""
    names = GROUPS.get(name, [name])
    if any(n not in SPLITS for n in names):
        raise InputError(f"unknown split {name!r}; splits: {', '.join(list(SPLITS) + list(GROUPS))}")
    items = []
    for n in names:
        part = [dict(item, split=n) for path in SPLITS[n] for item in load_items(path)]
        if category:
            part = [i for i in part if i["category"] == category]
        items += part[:limit] if limit is not None else part
    if not items:
        raise InputError(f"no items of category {category!r} in split {name!r}")
    return items


def ask_ours(assistant: Assistant) -> Callable[[dict], Answer]:
    """Ask the assistant an item: every turn in order, the earlier answers as history."""

    def ask(item: dict) -> Answer:
        history: list[Answer] = []
        for turn in item.get("turns") or [item["question"]]:
            history.append(assistant.ask(turn, history=list(history)))
        return history[-1]

    return ask


def run_system(name: str, ask: Callable[[dict], Answer], items: list[dict], corpus: Corpus) -> list[ItemResult]:
    """Ask every item, timing each, and score the answers; a crash fails its item, not the run."""
    results = []
    for item in items:
        started = time.perf_counter()
        try:
            answer, error = ask(item), ""
        except Exception as exc:  # recorded per item so one bad question cannot hide the rest
            log.exception("%s failed on %s", name, item["id"])
            answer, error = Answer(item["question"], "", False, kind="error"), f"{type(exc).__name__}: {exc}"
        results.append(score(name, item, answer, corpus, (time.perf_counter() - started) * 1000, error))
    return results


def run_eval(assistant: Assistant, items: list[dict], baselines: bool = True, set_path: str = "") -> EvalRun:
    """Score the assistant and (unless told not to) the baselines on the same items."""
    started_at = time.strftime("%Y-%m-%d %H:%M:%S")
    started = time.perf_counter()
    assistant.embedder.embed_query("预热")  # load the model before anything is timed
    results = {OURS: run_system(OURS, ask_ours(assistant), items, assistant.corpus)}
    if baselines:
        with tempfile.TemporaryDirectory(prefix="assistant-eval-") as tmp:
            for name, baseline in make_baselines(assistant, Path(tmp)).items():
                results[name] = run_system(name, lambda item, b=baseline: b.ask(item["question"]), items,
                                           assistant.corpus)
    return EvalRun(items, results, time.perf_counter() - started, str(set_path or DEFAULT_SET),
                   assistant.embedder.id, started_at)


# ---- reporting ---------------------------------------------------------------------------------


def fmt(value: float | None, kind: str) -> str:
    """A metric as shown in a table; '-' when nothing was scored."""
    if value is None:
        return "-"
    return {"pct": f"{100 * value:.1f}%", "f3": f"{value:.3f}", "f1": f"{value:.1f}"}.get(kind, f"{value:.0f}")


def table(headers: list[str], rows: list[list[str]], numeric: bool = True) -> str:
    """A Markdown table; numeric ones are padded to line up in a terminal, numbers right-aligned."""
    if not numeric:  # free text (Chinese questions): padding cannot line up double-width characters anyway
        return "\n".join(["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers),
                          *("| " + " | ".join(r) + " |" for r in rows)])
    widths = [max(len(cell) for cell in col) for col in zip(headers, *rows)]

    def line(cells: list[str]) -> str:
        padded = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join("-" * (w + 2) if i == 0 else "-" * (w + 1) + ":" for i, w in enumerate(widths)) + "|"
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def metric_row(label: str, summary: dict[str, float | None]) -> list[str]:
    """A table row: the label, then every metric formatted."""
    return [label] + [fmt(summary[key], kind) for key, _, kind in METRICS]


def overall_table(run: EvalRun) -> str:
    """One row per system, over every item."""
    return table(["system"] + [h for _, h, _ in METRICS], [metric_row(s, run.summary(s)) for s in run.results])


def category_table(run: EvalRun, system: str) -> str:
    """One row per category for one system, then all items."""
    rows = [metric_row(c, run.summary(system, c)) for c in run.categories()]
    return table(["category"] + [h for _, h, _ in METRICS], rows + [metric_row(ALL, run.summary(system))])


def accuracy_table(run: EvalRun) -> str:
    """Answer accuracy: one row per category, one column per system."""
    rows = [[c] + [fmt(run.summary(s, c)["answer_acc"], "pct") for s in run.results] for c in run.categories() + [ALL]]
    return table(["category"] + list(run.results), rows)


def split_table(run: EvalRun) -> str:
    """Answer accuracy per category: every system on every split, side by side."""
    splits = [s for s in run.splits() if s]
    heads = [f"{system} {split}" for system in run.results for split in splits]
    rows = [[c] + [fmt(run.summary(system, c, split)["answer_acc"], "pct") for system in run.results
                   for split in splits] for c in run.categories() + [ALL]]
    return table(["category"] + heads, rows)


def split_overall(run: EvalRun) -> str:
    """One row per system and split, every metric."""
    rows = [metric_row(f"{system} {split}", run.summary(system, split=split)) for system in run.results
            for split in run.splits() if split]
    return table(["system / split"] + [h for _, h, _ in METRICS], rows)


def format_summary(run: EvalRun) -> str:
    """What `python -m assistant eval` prints."""
    parts = [f"{len(run.items)} items from {run.set_path}; systems: {', '.join(run.results)}; "
             f"{run.seconds:.1f} s; embedder {run.embedder}", "", "Overall", overall_table(run)]
    if len([s for s in run.splits() if s]) > 1:
        parts += ["", "By split", split_overall(run), "", "Answer accuracy by category and split", split_table(run)]
    for system in run.results:
        parts += ["", f"Per category: {system}", category_table(run, system)]
    if LLM in run.results and EXTRACTIVE in run.results:
        parts += ["", "LLM mode against the extractive answers", llm_table(run)]
    elif len(run.results) > 1:
        parts += ["", "Note: baselines answer multi-turn items from the last question alone (no conversation)."]
    return "\n".join(parts)


# ---- LLM mode ----------------------------------------------------------------------------------

EXTRACTIVE = "extractive"
LLM = "llm"
# Why a model answer was not shown, by the first words of the fallback note (llm.py's reasons).
FALLBACK_CLASSES = (
    ("number", "number"),
    ("quote", "quote"),
    ("citation", "citation"),
    ("no [n] citation", "citation"),
    ("model said not found", "said not found"),
    ("timeout", "timeout"),
    ("empty answer", "empty"),
    ("too short", "bare value"),
    ("restates", "restates the question"),
    ("value", "row value left out"),
)


def sample_items(items: list[dict], per_split: int) -> list[dict]:
    """A fixed sample: every k-th item of each split, in file order (the same items every run)."""
    out = []
    for split in dict.fromkeys(i.get("split", "") for i in items):
        part = [i for i in items if i.get("split", "") == split]
        step = max(1, len(part) // per_split)
        out += part[::step][:per_split]
    return out


def fallback_class(note: str) -> str:
    reason = note.removeprefix("fallback: ")
    return next((name for prefix, name in FALLBACK_CLASSES if reason.startswith(prefix)), "other")


def llm_table(run: EvalRun) -> str:
    """LLM mode beside the extractive answers on the same items: accuracy, what was shown and why not,
    hallucinations caught, latency, and items where a shown model answer failed but the extractive passed."""
    ours, theirs = run.results[LLM], run.results[EXTRACTIVE]
    n = len(ours)
    used = [r for r in ours if r.llm == "used"]
    fallbacks = [r for r in ours if r.llm.startswith("fallback")]
    skipped = [r for r in ours if r.llm.startswith("skipped")]
    reasons: dict[str, int] = {}
    for r in fallbacks:
        reasons[fallback_class(r.llm)] = reasons.get(fallback_class(r.llm), 0) + 1
    caught = reasons.get("number", 0) + reasons.get("quote", 0)
    by_id = {r.id: r for r in theirs}
    worse = [r for r in used if not r.passed and by_id[r.id].passed]
    better = [r for r in used if r.passed and not by_id[r.id].passed]
    rows = [
        ["items", str(n), str(len(theirs))],
        ["answer accuracy", fmt(mean([r.passed for r in ours]), "pct"), fmt(mean([r.passed for r in theirs]), "pct")],
        ["model answer shown", f"{len(used)} ({fmt(len(used) / n if n else None, 'pct')})", "-"],
        ["fell back to extractive", f"{len(fallbacks)} ({fmt(len(fallbacks) / n if n else None, 'pct')})", "-"],
        ["not sent (refusal, quote check)", str(len(skipped)), "-"],
        ["fallback reasons", ", ".join(f"{k} {v}" for k, v in sorted(reasons.items(), key=lambda x: -x[1])) or "-",
         "-"],
        ["hallucinations caught (number/quote not in passages)", str(caught), "-"],
        ["shown and wrong where extractive was right", ", ".join(r.id for r in worse) or "none", "-"],
        ["shown and right where extractive was wrong", ", ".join(r.id for r in better) or "none", "-"],
        ["p50 ms", fmt(percentile([r.latency_ms for r in ours], 50), "f1"),
         fmt(percentile([r.latency_ms for r in theirs], 50), "f1")],
        ["p95 ms", fmt(percentile([r.latency_ms for r in ours], 95), "f1"),
         fmt(percentile([r.latency_ms for r in theirs], 95), "f1")],
    ]
    return table(["", "LLM mode", "extractive"], rows, numeric=False)


def run_llm_eval(extractive: Assistant, llm: Assistant, items: list[dict], set_path: str = "") -> EvalRun:
    """The same items through the extractive assistant and through LLM mode."""
    started_at = time.strftime("%Y-%m-%d %H:%M:%S")
    started = time.perf_counter()
    extractive.embedder.embed_query("预热")
    results = {EXTRACTIVE: run_system(EXTRACTIVE, ask_ours(extractive), items, extractive.corpus),
               LLM: run_system(LLM, ask_ours(llm), items, llm.corpus)}
    return EvalRun(items, results, time.perf_counter() - started, set_path, extractive.embedder.id, started_at)


def main_system(run: EvalRun) -> str:
    """The system the report is about: ours, or LLM mode in an LLM run."""
    return OURS if OURS in run.results else LLM if LLM in run.results else next(iter(run.results))


def _cell(text: str) -> str:
    """Free text made safe for one Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def failures_table(results: list[ItemResult]) -> str:
    rows = [[r.id, r.category, _cell("; ".join(r.reasons)), _cell(" / ".join(r.turns) or r.question)]
            for r in results if not r.passed]
    return table(["id", "category", "why", "question"], rows, numeric=False) if rows else "None."


def render_markdown(run: EvalRun, chart: str | None) -> str:
    """The readable report: overall, per-category, and our failing items."""
    out = ["# Evaluation report", "",
           f"{run.started_at}: {len(run.items)} items from `{run.set_path}`, embedder `{run.embedder}`, "
           f"{run.seconds:.1f} s.", "", "## Systems", ""]
    out += [f"- **{s}**: {DESCRIPTIONS.get(s, s)}" for s in run.results]
    out += ["", "## Overall", "", overall_table(run)]
    if LLM in run.results and EXTRACTIVE in run.results:
        out += ["", "## LLM mode against the extractive answers", "", llm_table(run)]
    if len([s for s in run.splits() if s]) > 1:
        out += ["", "## By split", "", split_overall(run), "", "## Answer accuracy by category and split", "",
                split_table(run)]
        for split in run.splits():
            out += ["", f"## Refusal trade-off on {split} (support floor)", "",
                    curve_table([r for r in run.results[main_system(run)] if _split_of(run, r) == split])]
    out += ["", "## Answer accuracy by category", "", accuracy_table(run)]
    if chart:
        out += ["", f"![answer accuracy by category]({chart})"]
    for system in run.results:
        out += ["", f"## Per category: {system}", "", category_table(run, system)]
    out += ["", "## Refusal trade-off (support floor)", "",
            "Unanswerable items refused and answerable items refused as the support floor moves "
            "(shift 0 is the floor in `assistant/thresholds.py`).", "",
            curve_table(run.results[main_system(run)])]
    main = main_system(run)
    out += ["", f"## Failing items: {main}", "", failures_table(run.results[main]), "", "## Notes", ""]
    out += [f"- {note}" for note in NOTES]
    return "\n".join(out) + "\n"


def _split_of(run: EvalRun, result: ItemResult) -> str:
    return next((i.get("split", "") for i in run.items if i["id"] == result.id), "")


def report_json(run: EvalRun) -> dict:
    """Every item's result for every system, with the summaries, for tracing a regression."""
    return {
        "meta": {"set": run.set_path, "items": len(run.items), "systems": list(run.results),
                 "seconds": round(run.seconds, 2), "embedder": run.embedder, "started_at": run.started_at,
                 "notes": NOTES},
        "summary": {s: {ALL: run.summary(s), "categories": {c: run.summary(s, c) for c in run.categories()},
                        "splits": {sp: {ALL: run.summary(s, split=sp),
                                        "categories": {c: run.summary(s, c, sp) for c in run.categories()}}
                                   for sp in run.splits() if sp}}
                    for s in run.results},
        "refusal_curve": {sp or ALL: refusal_curve([r for r in run.results[main_system(run)]
                                                    if _split_of(run, r) == sp])
                          for sp in run.splits()},
        "results": {s: [asdict(r) for r in results] for s, results in run.results.items()},
    }


def plot_accuracy(run: EvalRun, path: Path) -> Path | None:
    """Grouped bars: answer accuracy per category, one bar per system; None without matplotlib."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        log.warning("matplotlib is not installed: no chart")
        return None
    cats, systems = run.categories() + [ALL], list(run.results)
    width = 0.8 / len(systems)
    fig = Figure(figsize=(min(16.0, max(8.0, 0.3 * len(cats) * len(systems))), 4.8))
    ax = fig.add_subplot()
    for k, system in enumerate(systems):
        values = [100 * (run.summary(system, c)["answer_acc"] or 0.0) for c in cats]
        ax.bar([i + (k - (len(systems) - 1) / 2) * width for i in range(len(cats))], values, width, label=system)
    ax.set_xticks(range(len(cats)), cats, rotation=30, ha="right")
    ax.set_ylim(0, 112)  # headroom for the legend above 100%
    ax.set_ylabel("answer accuracy (%)")
    ax.set_title(f"Answer accuracy by category ({len(run.items)} items)")
    ax.legend(loc="upper center", ncols=len(systems), frameon=False)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def write_report(run: EvalRun, report_dir: str | Path | None = None) -> list[Path]:
    """Write latest.md, latest.json and latest.png into report_dir; the paths written."""
    folder = Path(report_dir or DEFAULT_REPORT_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    chart = plot_accuracy(run, folder / "latest.png")
    md = folder / "latest.md"
    md.write_text(render_markdown(run, chart.name if chart else None), encoding="utf-8")
    data = folder / "latest.json"
    data.write_text(json.dumps(report_json(run), ensure_ascii=False, indent=1), encoding="utf-8")
    return [md, data] + ([chart] if chart else [])
