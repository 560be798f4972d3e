"""View models the UI renders: plan outline, indicator rows, citation cards, quote diffs. Pure.

Every string that came from a user or from the plan text is data: it is HTML-escaped here, and
only the tags written in this module reach the page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from difflib import SequenceMatcher
from html import escape
from urllib.parse import quote

from assistant.corpus import Corpus, plan_filter
from assistant.quotes import extract_quote
from assistant.refusal import REFUSAL
from assistant.types import Answer, Citation, Document, Indicator, Node, Plan

ALL_PLANS = "全部"
VERDICTS = {"exact": "原文一致", "differs": "与原文不一致", "not_found": "未找到"}
INDICATOR_HEADERS = ["规划", "领域", "序号", "指标", "2020年", "2025年"]
CONTEXT_CHARS = 160  # paragraph text kept on each side of a quote in a citation card
MARKER = re.compile(r"\[(\d+)\]")
NUMERIC = set("0123456789.．％%‰")
QUOTE_MARKS = "“”\"'‘’「」『』 \t\r\n。，；"
Span = tuple[int, int]


def plan_labels(corpus: Corpus) -> list[str]:
    """One label per plan of the corpus, read from it: its name ("妇女规划"), or its title when two
    documents hold a plan of one kind (then its name is its title: structure.parse_document)."""
    return list(dict.fromkeys(p.name for _, p in iter_plans(corpus)))


def plan_key(label: str | None) -> str | None:
    """The plan filter a label stands for: "全部", "" or None -> None (every plan); any other label is
    a plan's name, title or key, resolved against the corpus where it is used."""
    return None if not label or label == ALL_PLANS else label


def iter_plans(corpus: Corpus, plan: str | None = None) -> Iterator[tuple[Document, Plan]]:
    """(document, plan) pairs, optionally only the plans a label names (as the assistant's filter
    reads it: an unknown label, or a kind two documents hold, is an InputError that says so)."""
    keys = plan_filter(plan, corpus.plans())
    for doc in corpus.documents.values():
        for p in doc.plans:
            if keys is None or p.key in keys:
                yield doc, p


def anchor(node_id: str) -> str:
    """An HTML id for a node id: "doc/women/2/2" -> "n-doc-women-2-2"."""
    return "n-" + re.sub(r"[^A-Za-z0-9_-]", "-", node_id)


def own_span(node: Node) -> Span:
    """The node's heading and text up to its first child (an item's whole text)."""
    return node.start, node.children[0].start if node.children else node.end


# ---- outline -------------------------------------------------------------------------------------


def _node_dict(text: str, node: Node) -> dict:
    s, e = own_span(node)
    return {"id": node.id, "anchor": anchor(node.id), "level": node.level, "heading": node.heading,
            "start": node.start, "end": node.end, "text": text[s:e].strip(),
            "children": [_node_dict(text, c) for c in node.children]}


def outline(corpus: Corpus, plan: str | None = None) -> list[dict]:
    """The plan tree as JSON: plan > part > section > item, each node with its own text."""
    out = []
    for doc, p in iter_plans(corpus, plan):
        preamble = doc.text[p.preamble.start:p.preamble.end].strip() if p.preamble else ""
        out.append({"doc": doc.doc, "key": p.key, "name": p.name, "title": p.title, "preamble": preamble,
                    "nodes": [_node_dict(doc.text, n) for n in p.parts]})
    return out


def _outline_items(nodes: list[Node]) -> str:
    items = "".join(f'<li><a href="#{anchor(n.id)}" class="ol-{n.level}">{escape(n.heading)}</a>'
                    f"{_outline_items(n.children) if n.children else ''}</li>" for n in nodes)
    return f"<ul>{items}</ul>"


def outline_html(plan: Plan) -> str:
    """The plan's outline as nested links to the nodes of `plan_text_html`."""
    table = f'<li><a href="#{anchor(plan.key + "-table")}">重点指标目标表</a></li>' if plan.indicators else ""
    top = f'<ul><li><a href="#{anchor(plan.key + "-title")}">{escape(plan.title)}</a></li>{table}</ul>'
    return f'<nav class="outline">{top}{_outline_items(plan.parts)}</nav>'


# ---- plan text -----------------------------------------------------------------------------------


def render_span(text: str, start: int, end: int, bold: Span = (0, 0), mark: Span = (0, 0)) -> str:
    """Escaped text[start:end]; the `bold` part in <strong>, the `mark` part in <mark class="cited">."""
    cuts = sorted({start, end, *(min(max(x, start), end) for x in (*bold, *mark))})
    out = []
    for a, b in zip(cuts, cuts[1:]):
        piece = escape(text[a:b])
        if bold[0] <= a and b <= bold[1]:
            piece = f"<strong>{piece}</strong>"
        if mark[0] <= a and b <= mark[1] and mark[0] < mark[1]:
            piece = _mark(piece)
        out.append(piece)
    return "".join(out)


def _heading_end(text: str, node: Node) -> int:
    """End of the heading inside the node's first line ("3．提升妇女生殖健康服务水平" of "3．提升…。将…")."""
    line_end = text.find("\n", node.start)
    line_end = node.end if line_end < 0 else min(line_end, node.end)
    i = text.find(node.title, node.start, line_end)
    return i + len(node.title) if i >= 0 and node.title else node.start


def _node_html(text: str, node: Node, mark: Span) -> str:
    s, e = own_span(node)
    body = render_span(text, s, e, (s, _heading_end(text, node)), mark).strip()
    children = "".join(_node_html(text, c, mark) for c in node.children)
    selected = " selected" if mark[0] < mark[1] and _overlaps((s, e), mark) else ""
    return (f'<section id="{anchor(node.id)}" class="node node-{node.level}{selected}">'
            f'<div class="node-text">{body}</div>{children}</section>')


def indicator_table_html(plan: Plan, mark: Span = (0, 0)) -> str:
    """The plan's target table; rows whose cells overlap `mark` are highlighted."""
    rows = []
    for ind in plan.indicators:
        hit = mark[0] < mark[1] and (_overlaps((ind.start, ind.end), mark)
                                     or _overlaps((ind.target_start, ind.target_end), mark))
        cells = "".join(f"<td>{escape(v)}</td>" for v in indicator_cells(ind)[1:])
        cls = ' class="cited"' if hit else ""
        rows.append(f'<tr id="{anchor(f"{plan.key}-ind-{ind.number}")}"{cls}>{cells}</tr>')
    head = "".join(f"<th>{h}</th>" for h in INDICATOR_HEADERS[1:])
    return (f'<section id="{anchor(plan.key + "-table")}" class="node node-table">'
            f"<h4>{escape(plan.table_title or '重点指标目标表')}</h4>"
            f'<table class="indicators"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
            "</section>")


def plan_text_html(doc: Document, plan: Plan, mark: Span = (0, 0)) -> str:
    """The plan's full text in document order, one anchored block per node; `mark` highlighted."""
    blocks = [(plan.start, f'<h3 id="{anchor(plan.key + "-title")}">{escape(plan.title)}</h3>')]
    if plan.preamble:
        p = plan.preamble
        blocks.append((p.start, f'<div class="node-text">{render_span(doc.text, p.start, p.end, mark=mark)}</div>'))
    if plan.indicators:
        blocks.append((plan.indicators[0].start, indicator_table_html(plan, mark)))
    blocks += [(n.start, _node_html(doc.text, n, mark)) for n in plan.parts]
    blocks.sort(key=lambda b: b[0])
    return f'<article class="plan-text">{"".join(html for _, html in blocks)}</article>'


def locate(corpus: Corpus, doc: str, start: int) -> tuple[Document, Plan] | None:
    """The document and plan a character offset falls in."""
    return corpus.locate(doc, start)


def _mark(html: str) -> str:
    return f'<mark class="cited">{html}</mark>'


def _overlaps(a: Span, b: Span) -> bool:
    return a[0] < b[1] and b[0] < a[1]


# ---- indicator tables ----------------------------------------------------------------------------


def indicator_cells(ind: Indicator, plan_name: str = "") -> list[str]:
    """One table row: 规划, 领域, 序号, 指标, 2020年, 2025年 ("－" where the source has none)."""
    target = ind.target or "－"
    if ind.target_shared_with:
        target += f"（与第{ind.target_shared_with}项共用）"
    return [plan_name, ind.domain, str(ind.number), ind.name, ind.baseline or "－", target]


def _matching(corpus: Corpus, plan: str | None, query: str) -> list[tuple[Plan, Indicator, list[str]]]:
    words = query.lower().split()
    out = []
    for _, p in iter_plans(corpus, plan):
        for ind in p.indicators:
            row = indicator_cells(ind, p.name)
            if all(w in " ".join(row).lower() for w in words):
                out.append((p, ind, row))
    return out


def indicator_rows(corpus: Corpus, plan: str | None = None, query: str = "") -> list[list[str]]:
    """Rows of both target tables, filtered by plan key and by words that must all appear."""
    return [row for _, _, row in _matching(corpus, plan, query)]


def indicator_dicts(corpus: Corpus, plan: str | None = None, query: str = "") -> list[dict]:
    """The filtered rows as JSON objects for the API ("" where the table has no value)."""
    return [{"plan": p.key, "plan_name": p.name, "domain": ind.domain, "number": ind.number, "name": ind.name,
             "unit": ind.unit, "baseline": ind.baseline, "target": ind.target,
             "target_shared_with": ind.target_shared_with}
            for p, ind, _ in _matching(corpus, plan, query)]


# ---- chat ----------------------------------------------------------------------------------------


def text_html(text: str) -> str:
    """Plain text as HTML: escaped, line breaks kept."""
    return escape(text).replace("\n", "<br>")


def question_html(question: str) -> str:
    """A user's question shown as text, never as markup."""
    return f'<div class="question">{text_html(question.strip()) or "（空）"}</div>'


def error_html(message: str) -> str:
    """A clear message instead of an answer."""
    return f'<div class="answer error"><p>⚠️ {text_html(message)}</p></div>'


def markers_html(answer_text: str, turn: int) -> str:
    """Answer text escaped, with each [n] a link to citation card n of this turn."""
    return MARKER.sub(lambda m: f'<sup class="marker"><a href="#c{turn}-{m.group(1)}">[{m.group(1)}]</a></sup>',
                      text_html(answer_text))


def cite_ref(c: Citation) -> str:
    """What a card link carries to the plan browser: "doc|start|end"."""
    return f"{c.doc}|{c.start}|{c.end}"


def cite_href(c: Citation) -> str:
    """The card link's href, "#cite:" + the url-quoted reference (chat sanitizing keeps only href)."""
    return "#cite:" + quote(cite_ref(c), safe="")


def paragraph_span(text: str, start: int, end: int) -> Span:
    """The lines around a quote, cut to CONTEXT_CHARS on each side."""
    s = text.rfind("\n", 0, start) + 1
    e = text.find("\n", end)
    e = len(text) if e < 0 else e
    while s < start and text[s].isspace():
        s += 1
    return max(s, start - CONTEXT_CHARS), min(e, end + CONTEXT_CHARS)


def indicator_at(corpus: Corpus, doc: str, start: int) -> Indicator | None:
    """The indicator table row whose cells (or shared target cell) contain an offset."""
    d = corpus.documents.get(doc)
    for p in d.plans if d else []:
        for ind in p.indicators:
            if ind.start <= start < ind.end or ind.target_start <= start < ind.target_end:
                return ind
    return None


def indicator_row_html(ind: Indicator, mark: Span) -> str:
    """A one-row table with its header; the cited cells marked."""
    cells = indicator_cells(ind)[1:]
    own_end = ind.target_start if ind.start <= ind.target_start < ind.end else ind.end
    row = _overlaps((ind.start, own_end), mark)
    cited = [False, row, row, row, _overlaps((ind.target_start, ind.target_end), mark)]
    tds = "".join(f"<td>{_mark(escape(v)) if hit else escape(v)}</td>" for v, hit in zip(cells, cited))
    head = "".join(f"<th>{h}</th>" for h in INDICATOR_HEADERS[1:])
    return f'<table class="mini"><tr>{head}</tr><tr>{tds}</tr></table>'


def paragraph_html(text: str, start: int, end: int) -> str:
    """The quote highlighted inside its paragraph (cut with "…" when the paragraph is long)."""
    s, e = paragraph_span(text, start, end)
    body = render_span(text, s, e, mark=(start, end)).replace("\n\t", " ｜ ").replace("\n", "<br>")
    cut_left = text[text.rfind("\n", 0, s) + 1:s].strip()
    return ("…" if cut_left else "") + body + ("…" if e < len(text) and text[e] != "\n" else "")


def citation_card_html(corpus: Corpus, c: Citation, n: int, turn: int) -> str:
    """One card: number, plan, section path, and the quote highlighted inside its paragraph (or table row)."""
    ind = indicator_at(corpus, c.doc, c.start)
    body = indicator_row_html(ind, (c.start, c.end)) if ind else paragraph_html(corpus.text(c.doc), c.start, c.end)
    path = " › ".join(escape(p) for p in c.section.split(" > ")[1:]) or escape(c.section)
    return (f'<div class="card" id="c{turn}-{n}"><div class="card-head"><span class="card-n">[{n}]</span> '
            f'<span class="card-plan">{escape(c.plan)}</span> <span class="card-path">{path}</span></div>'
            f'<div class="card-body">{body}</div>'
            f'<a class="goto" href="{escape(cite_href(c))}">在规划原文中查看 ›</a></div>')


def answer_html(answer: Answer, corpus: Corpus, turn: int) -> str:
    """The answer first (markers linked), then one card per citation; refusals say so plainly."""
    cards = "".join(citation_card_html(corpus, c, i, turn) for i, c in enumerate(answer.citations, 1))
    if answer.kind == "error":
        return error_html(answer.answer)
    extra = ""
    if answer.kind == "quote_check" and answer.citations:
        extra = diff_block_html(answer, strip_quote(extract_quote(answer.question) or answer.question))
    if not answer.answerable:
        head = f'<div class="refusal-head">{escape(REFUSAL.rstrip("。"))}</div>'
        near = '<div class="cards-title">最接近的段落（供参考，并非答案）</div>' if cards else ""
        body = answer.answer.removeprefix(REFUSAL).strip()  # the heading says it once
        text = f"<p>{markers_html(body, turn)}</p>" if body else ""
        return f'<div class="answer refusal">{head}{text}{near}{cards}</div>'
    title = '<div class="cards-title">出处</div>' if cards else ""
    return f'<div class="answer"><p>{markers_html(answer.answer, turn)}</p>{extra}{title}{cards}</div>'


def answer_dict(answer: Answer) -> dict:
    """An answer as JSON for API users."""
    return {"question": answer.question, **answer.to_dict()}


# ---- quote checker -------------------------------------------------------------------------------


def strip_quote(passage: str) -> str:
    """The passage without surrounding quotation marks or closing punctuation."""
    return "".join(passage.split()).strip(QUOTE_MARKS)


def _widen(text: str, i: int, j: int) -> Span:
    """Widen a differing range that touches a number to the whole number ("2" in "12家" -> "12")."""
    if any(ch in NUMERIC for ch in text[max(i - 1, 0):j + 1]):
        while i > 0 and text[i - 1] in NUMERIC:
            i -= 1
        while j < len(text) and text[j] in NUMERIC:
            j += 1
    return i, j


def _marked(text: str, spans: list[Span], cls: str) -> str:
    out, pos = [], 0
    for i, j in sorted(spans):
        i = max(i, pos)
        out.append(escape(text[pos:i]))
        if j > i:
            out.append(f'<mark class="{cls}">{escape(text[i:j])}</mark>')
        pos = max(pos, j)
    return "".join(out) + escape(text[pos:])


def diff_html(quoted: str, source: str) -> tuple[str, str]:
    """Both wordings escaped, with the characters that differ marked (whole numbers when digits differ)."""
    q, s = "".join(quoted.split()), "".join(source.split())
    q_spans, s_spans = [], []
    for op, a0, a1, b0, b1 in SequenceMatcher(None, q, s, autojunk=False).get_opcodes():
        if op != "equal":
            q_spans.append(_widen(q, a0, a1))
            s_spans.append(_widen(s, b0, b1))
    return _marked(q, q_spans, "diff-quoted"), _marked(s, s_spans, "diff-source")


def diff_block_html(answer: Answer, passage: str) -> str:
    """Quoted vs source wording side by side, differing characters marked."""
    c = answer.citations[0]
    if answer.context.get("quote_check") == "exact":
        return ""
    mine, theirs = diff_html(passage, c.quote)
    return (f'<div class="diff"><div><span class="diff-label">引文：</span>{mine}</div>'
            f'<div><span class="diff-label">原文：</span>{theirs}</div></div>')


def quote_check_html(answer: Answer, passage: str, corpus: Corpus) -> str:
    """The quote checker's result: verdict, marked wording, location, a link into the plan."""
    verdict = answer.context.get("quote_check", "not_found")
    label = f'<div class="verdict verdict-{verdict}">{VERDICTS.get(verdict, verdict)}</div>'
    if verdict == "not_found" or not answer.citations:
        near = "".join(f"<li>{escape(h.chunk.section)}</li>" for h in answer.retrieved[:3])
        hint = f"<p>相关度较高的章节（仅供参考）：</p><ul>{near}</ul>" if near else ""
        mine = f'<div class="diff"><span class="diff-label">引文：</span>{text_html(passage.strip())}</div>'
        return f'<div class="quote-result">{label}{mine}<p>{text_html(answer.answer)}</p>{hint}</div>'
    c = answer.citations[0]
    where = f'<div class="where">位置：{escape(c.section)}</div>'
    card = citation_card_html(corpus, c, 1, 0)
    return (f'<div class="quote-result">{label}{diff_block_html(answer, strip_quote(passage))}'
            f"{where}{card}</div>")


def quote_check_dict(answer: Answer) -> dict:
    """The quote check as JSON: verdict, label, source wording, section, span and differences."""
    verdict = answer.context.get("quote_check", "not_found")
    c = answer.citations[0] if answer.citations else None
    return {"verdict": verdict, "label": VERDICTS.get(verdict, verdict), "answer": answer.answer,
            "source": c.quote if c else "", "section": c.section if c else "",
            "doc": c.doc if c else "", "start": c.start if c else None, "end": c.end if c else None,
            "diffs": [{"quoted": q, "source": s} for q, s in answer.context.get("diffs", [])]}
