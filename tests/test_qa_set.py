"""Validate the evaluation set evals/qa.jsonl against the plan corpus.

Only the standard library and pytest are used.  Run with:

    python -m pytest tests/test_qa_set.py -q
"""

import json
import re
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
QA_PATH = ROOT / "evals" / "qa.jsonl"
CORPUS_PATH = ROOT / "corpus" / "jiaxing_women_children_plans_2021-2025.txt"

CATEGORIES = {
    "indicator_target",
    "indicator_baseline",
    "text_target",
    "task_lookup",
    "responsibility",
    "key_project",
    "definition_scope",
    "ambiguous",
    "multi_turn",
    "unanswerable",
    "citation_check",
}
PLANS = {"women", "children", "both", "none"}
MIN_PER_CATEGORY = 6
MIN_TOTAL = 120

REQUIRED_FIELDS = {
    "id": str,
    "question": str,
    "category": str,
    "expected_answer": str,
    "must_include": list,
    "must_not_include": list,
    "answerable": bool,
    "plan": str,
    "source_quote": str,
    "section": str,
}
OPTIONAL_FIELDS = {"turns": list}

# Verdict phrases of citation_check items.  Note that "与原文不一致"
# contains "原文一致" as a substring, so the order of the checks matters.
VERDICT_DIFFERS = "与原文不一致"
VERDICT_EXACT = "原文一致"
VERDICT_NOT_FOUND = "未找到"

PLAN_TITLES = {
    "妇女规划": "嘉兴市妇女发展“十四五”规划",
    "儿童规划": "嘉兴市儿童发展“十四五”规划",
}
PLAN_OF_SHORT_NAME = {"妇女规划": "women", "儿童规划": "children"}
NOTICE = "通知"
TABLE = "重点指标目标表"
ALT_SEP = " | "
PATH_SEP = " > "

_WS = re.compile(r"\s+")


def _strip_ws(text):
    return _WS.sub("", text)


# --------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus():
    return CORPUS_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def raw_lines():
    assert QA_PATH.exists(), f"missing {QA_PATH}"
    lines = QA_PATH.read_text(encoding="utf-8").splitlines()
    return [(n, line) for n, line in enumerate(lines, 1) if line.strip()]


@pytest.fixture(scope="module")
def items(raw_lines):
    out = []
    for n, line in raw_lines:
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            out.append(None)
    return out


@pytest.fixture(scope="module")
def plan_docs(corpus):
    """Split the corpus into the notice and the two plans (lists of lines)."""
    lines = corpus.split("\n")
    stripped = [ln.strip() for ln in lines]
    w = stripped.index(PLAN_TITLES["妇女规划"])
    c = stripped.index(PLAN_TITLES["儿童规划"])
    assert w < c
    return {
        NOTICE: stripped[:w],
        "妇女规划": stripped[w:c],
        "儿童规划": stripped[c:],
    }


# --------------------------------------------------------------------------
# Section path resolution
# --------------------------------------------------------------------------

_LEVEL_PATTERNS = [
    (1, re.compile(r"^[一二三四五六七八九十]+、")),
    (2, re.compile(r"^（[一二三四五六七八九十]+）")),
    (3, re.compile(r"^\d+．")),
]


def _heading_level(line):
    for level, pat in _LEVEL_PATTERNS:
        if pat.match(line):
            return level
    return None


def _is_heading_line(line, heading):
    if not line.startswith(heading):
        return False
    rest = line[len(heading):]
    return rest == "" or rest.startswith("。")


def _table_region(doc_lines):
    start = next(i for i, ln in enumerate(doc_lines) if ln.endswith(TABLE))
    end = next(i for i, ln in enumerate(doc_lines) if i > start and _heading_level(ln) == 1)
    return doc_lines[start:end]


def resolve_section(path, plan_docs):
    """Return (plan_short_name, block_text) for a section path or raise AssertionError.

    block_text is the text the source quote is expected to come from.
    """
    parts = path.split(PATH_SEP)
    head = parts[0]
    assert head in plan_docs, f"unknown plan name {head!r} in {path!r}"
    doc = plan_docs[head]
    if len(parts) == 1:
        return head, "\n".join(doc)

    if parts[1] == TABLE:
        assert head in PLAN_TITLES, f"table path outside a plan: {path!r}"
        assert len(parts) == 4, f"table path needs domain and indicator: {path!r}"
        domain, indicator = parts[2], parts[3]
        cells = [ln for ln in _table_region(doc) if ln]
        m = re.match(r"^(\d+)．(.+)$", indicator)
        assert m, f"indicator must look like 'N．name': {indicator!r}"
        num, name = m.group(1), _strip_ws(m.group(2))
        # a row is: number cell, indicator cell (possibly wrapped over lines), values
        row = next(
            (
                i
                for i, ln in enumerate(cells)
                if ln == num and "".join(cells[i + 1 : i + 4]).startswith(name)
            ),
            None,
        )
        assert row is not None, f"indicator row {indicator!r} not found in {head} table"
        starts = [
            j for j in range(row) if cells[j].startswith("妇女与") or cells[j].startswith("儿童与")
        ]
        assert starts, f"no domain before {indicator!r}"
        dom_cells = []
        for cell in cells[starts[-1] : row]:
            if cell.isdigit():
                break
            dom_cells.append(cell)
        found = "".join(dom_cells)
        assert found == _strip_ws(domain), (
            f"indicator {indicator!r} belongs to domain {found!r}, not {domain!r}"
        )
        return head, "\n".join(_table_region(doc))

    prev_idx, prev_level = 0, 0
    for comp in parts[1:]:
        idx = next(
            (i for i in range(prev_idx, len(doc)) if _is_heading_line(doc[i], comp)),
            None,
        )
        assert idx is not None, f"heading {comp!r} of {path!r} not found in {head}"
        level = _heading_level(comp)
        assert level is not None and level > prev_level, f"bad heading level for {comp!r}"
        # the heading must lie inside the block of its parent
        for j in range(prev_idx + 1, idx):
            lv = _heading_level(doc[j])
            assert lv is None or lv > prev_level, f"{comp!r} is not under its parent in {path!r}"
        prev_idx, prev_level = idx, level
    end = next(
        (
            j
            for j in range(prev_idx + 1, len(doc))
            if _heading_level(doc[j]) is not None and _heading_level(doc[j]) <= prev_level
        ),
        len(doc),
    )
    return head, "\n".join(doc[prev_idx:end])


# --------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------


def test_every_line_is_json(raw_lines, items):
    bad = [n for (n, _), it in zip(raw_lines, items) if not isinstance(it, dict)]
    assert not bad, f"lines that are not JSON objects: {bad}"


def test_required_fields_and_types(items):
    problems = []
    for it in items:
        if not isinstance(it, dict):
            continue
        for field, typ in REQUIRED_FIELDS.items():
            if field not in it:
                problems.append((it.get("id"), f"missing {field}"))
            elif not isinstance(it[field], typ):
                problems.append((it.get("id"), f"{field} is not {typ.__name__}"))
        for field in ("must_include", "must_not_include"):
            if isinstance(it.get(field), list) and not all(
                isinstance(s, str) and s for s in it[field]
            ):
                problems.append((it.get("id"), f"{field} must hold non-empty strings"))
        for field in ("id", "question", "expected_answer"):
            if isinstance(it.get(field), str) and not it[field].strip():
                problems.append((it.get("id"), f"{field} is empty"))
        unknown = set(it) - set(REQUIRED_FIELDS) - set(OPTIONAL_FIELDS)
        if unknown:
            problems.append((it.get("id"), f"unknown fields {sorted(unknown)}"))
    assert not problems, problems


def test_ids_unique(items):
    counts = Counter(it["id"] for it in items)
    dups = [i for i, c in counts.items() if c > 1]
    assert not dups, f"duplicate ids: {dups}"


def test_categories_and_counts(items):
    cats = Counter(it["category"] for it in items)
    unknown = set(cats) - CATEGORIES
    assert not unknown, f"unknown categories: {unknown}"
    small = {c: cats.get(c, 0) for c in CATEGORIES if cats.get(c, 0) < MIN_PER_CATEGORY}
    assert not small, f"categories with fewer than {MIN_PER_CATEGORY} items: {small}"
    assert len(items) >= MIN_TOTAL, f"only {len(items)} items"


def test_plan_values(items):
    bad = [(it["id"], it["plan"]) for it in items if it["plan"] not in PLANS]
    assert not bad, bad


def test_source_quotes_are_in_corpus(items, corpus):
    bad = [it["id"] for it in items if it["source_quote"] and it["source_quote"] not in corpus]
    assert not bad, f"source_quote not an exact substring of the corpus: {bad}"


def test_answerable_only_false_for_unanswerable(items):
    bad = [
        it["id"]
        for it in items
        if it["answerable"] != (it["category"] != "unanswerable")
    ]
    assert not bad, f"answerable must be False exactly for unanswerable items: {bad}"


def test_unanswerable_have_no_must_include(items):
    bad = [it["id"] for it in items if it["category"] == "unanswerable" and it["must_include"]]
    assert not bad, bad


def test_answerable_items_have_must_include(items):
    # At most two table baselines given as "-" may legitimately have none.
    empty = [
        it["id"]
        for it in items
        if it["answerable"] and not it["must_include"]
    ]
    assert all(
        next(x for x in items if x["id"] == i)["category"] == "indicator_baseline" for i in empty
    ), f"answerable items without must_include: {empty}"
    assert len(empty) <= 2, f"too many items without must_include: {empty}"


def test_multi_turn_turns(items):
    problems = []
    for it in items:
        if it["category"] == "multi_turn":
            turns = it.get("turns")
            if not (isinstance(turns, list) and len(turns) >= 2 and all(isinstance(t, str) and t for t in turns)):
                problems.append((it["id"], "turns must be a list of >= 2 strings"))
            elif turns[-1] != it["question"]:
                problems.append((it["id"], "last turn must equal question"))
        elif "turns" in it:
            problems.append((it["id"], "turns only allowed for multi_turn"))
    assert not problems, problems


def test_citation_check_verdicts(items):
    problems = []
    for it in items:
        if it["category"] != "citation_check":
            continue
        inc = it["must_include"]
        if VERDICT_DIFFERS in inc:
            if len(inc) < 2:
                problems.append((it["id"], "differs-verdict needs the correct source value too"))
            if VERDICT_NOT_FOUND in inc:
                problems.append((it["id"], "two verdicts"))
        elif VERDICT_EXACT in inc:
            if VERDICT_NOT_FOUND in inc:
                problems.append((it["id"], "two verdicts"))
            if "不一致" not in it["must_not_include"]:
                problems.append((it["id"], "exact verdict must forbid '不一致'"))
        elif VERDICT_NOT_FOUND not in inc:
            problems.append((it["id"], "no verdict phrase in must_include"))
    assert not problems, problems


def test_gold_answer_satisfies_its_own_checks(items):
    problems = []
    for it in items:
        ans = it["expected_answer"]
        for s in it["must_include"]:
            if s not in ans:
                problems.append((it["id"], f"must_include {s!r} missing from expected_answer"))
        for s in it["must_not_include"]:
            if s in ans:
                problems.append((it["id"], f"must_not_include {s!r} present in expected_answer"))
    assert not problems, problems


def test_must_include_strings_come_from_corpus(items, corpus):
    """Key phrases and numbers are copied from the plan text (line wraps ignored)."""
    flat = _strip_ws(corpus)
    verdicts = {VERDICT_DIFFERS, VERDICT_EXACT, VERDICT_NOT_FOUND}
    problems = []
    for it in items:
        for s in it["must_include"]:
            if it["category"] == "citation_check" and s in verdicts:
                continue
            if _strip_ws(s) not in flat:
                problems.append((it["id"], s))
    assert not problems, f"must_include strings not found in corpus: {problems}"


def test_sections_resolve_and_contain_quote(items, plan_docs):
    problems = []
    for it in items:
        section, quote, plan = it["section"], it["source_quote"], it["plan"]
        if not section:
            if quote:
                problems.append((it["id"], "source_quote given but section empty"))
            continue
        blocks, heads = [], []
        for alt in section.split(ALT_SEP):
            try:
                head, block = resolve_section(alt, plan_docs)
            except AssertionError as exc:  # collect all problems
                problems.append((it["id"], str(exc)))
                continue
            heads.append(head)
            blocks.append(block)
        if not blocks:
            continue
        if plan in ("women", "children"):
            wrong = [h for h in heads if PLAN_OF_SHORT_NAME.get(h) != plan]
            if wrong:
                problems.append((it["id"], f"section plan {wrong} does not match plan={plan}"))
        if quote and not any(quote in b for b in blocks):
            problems.append((it["id"], "source_quote not inside the named section"))
    assert not problems, problems


def test_none_plan_items_have_no_source(items):
    bad = [
        it["id"]
        for it in items
        if it["plan"] == "none" and (it["source_quote"] or it["section"])
    ]
    assert not bad, bad


def test_ambiguous_items_span_both_plans(items):
    bad = [
        it["id"]
        for it in items
        if it["category"] == "ambiguous"
        and (it["plan"] != "both" or not ("妇女规划" in it["section"] and "儿童规划" in it["section"]))
    ]
    assert not bad, bad
