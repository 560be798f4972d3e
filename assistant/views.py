"""View models the UI renders: plan outline, indicator rows, citation cards, quote diffs. Pure.

Every string that came from a user or from the plan text is data: it is HTML-escaped here, and
only the tags written in this module reach the page.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from difflib import SequenceMatcher
from html import escape
from urllib.parse import quote

from assistant.corpus import Corpus, plan_filter
from assistant.documents import STAGES, Job, Preview
from assistant.ingest import DocumentInfo
from assistant.quotes import extract_quote
from assistant.refusal import REFUSAL
from assistant.types import Answer, Citation, Document, Indicator, Node, Plan

ALL_PLANS = "全部"
VERDICTS = {"exact": "原文一致", "differs": "与原文不一致", "not_found": "未找到"}
INDICATOR_HEADERS = ["规划", "领域", "序号", "指标", "2020年", "2025年"]
IND_CLASSES = ["domain", "seq", "name", "base", "target"]  # CSS classes of the columns after 规划
CONTEXT_CHARS = 160  # paragraph text kept on each side of a quote in a citation card
MARKER = re.compile(r"\[(\d+)\]")
NUMERIC = set("0123456789.．％%‰")
QUOTE_MARKS = "“”\"'‘’「」『』 \t\r\n。，；"
Span = tuple[int, int]
GENERIC_TITLE = "规划问答"  # the heading when the plans' titles do not merge into one (page_title)
PLACE_ENDS = "省市县区州盟旗镇乡"  # where a shared start of titles may end: a place name, "嘉兴市"
MAX_MERGED = 4  # plans whose titles page_title merges into one heading; more read as a list
MAX_TITLE_CHARS = 40  # a merged heading longer than this is no heading
MAX_NAMED = 4  # plans page_intro names one by one; beyond, the first three and "等N份"
# A clause worth checking as a quote: 8-30 characters with a number, no quotation marks or brackets.
ITEM_NUMBER = re.compile(r"^\s*[0-9]+[．.、]")  # "1．" before an item's heading is no number to check
QUOTABLE = re.compile(r"(?=[^“”《》（）()]*[0-9])[^“”《》（）()\s]{8,30}")


def plan_labels(corpus: Corpus) -> list[str]:
    """One label per plan of the corpus, read from it: its name ("妇女规划"), or its title when two
    documents hold a plan of one kind (then its name is its title: structure.parse_document)."""
    return list(dict.fromkeys(p.name for _, p in iter_plans(corpus)))


def page_title(corpus: Corpus) -> str:
    """The app's heading, from the plans' titles: one plan, "《title》问答"-like; plans whose titles
    differ in one middle part, merged ("嘉兴市妇女发展“十四五”规划" + "嘉兴市儿童发展“十四五”规划"
    -> "嘉兴市妇女、儿童发展“十四五”规划问答"); anything else, GENERIC_TITLE."""
    titles = list(dict.fromkeys(p.title for _, p in iter_plans(corpus) if p.title))
    if len(titles) == 1:
        return titles[0] + "问答"
    merged = _merged_title(titles)
    return merged + "问答" if merged else GENERIC_TITLE


def _merged_title(titles: list[str]) -> str:
    """"A甲C" + "A乙C" -> "A甲、乙C" when the common end C names a plan ("…规划"), the common start A is
    empty or a place ("嘉兴市"), and every middle has two characters or more; "" otherwise."""
    if not 2 <= len(titles) <= MAX_MERGED:
        return ""
    head = len(os.path.commonprefix(titles))
    tail = len(os.path.commonprefix([t[::-1] for t in titles]))
    tail = min(tail, min(len(t) for t in titles) - head)
    start = titles[0][:head]
    while start and start[-1] not in PLACE_ENDS:  # "嘉兴市妇" of "嘉兴市妇女…" / "嘉兴市妇联…": back to "嘉兴市"
        start = start[:-1]
    end = titles[0][len(titles[0]) - tail:] if tail else ""
    middles = [t[len(start):len(t) - len(end)] for t in titles]
    if not end.endswith("规划") or any(len(m) < 2 for m in middles):
        return ""
    merged = start + "、".join(middles) + end
    return merged if len(merged) <= MAX_TITLE_CHARS else ""


def page_intro(corpus: Corpus) -> str:
    """What the app answers from, named by the plans' titles, and how it answers."""
    titles = [f"《{t}》" for t in dict.fromkeys(p.title for _, p in iter_plans(corpus) if p.title)]
    if not titles:
        source = "规划原文"
    elif len(titles) <= MAX_NAMED:
        source = ("、".join(titles[:-1]) + "和" if len(titles) > 1 else "") + titles[-1] + "原文"
    else:
        source = "、".join(titles[:MAX_NAMED - 1]) + f"等{len(titles)}份规划的原文"
    return f"依据{source}回答，每个回答都标出处，可点开核对原文。规划没有写明的内容会如实说明。"


def example_questions(corpus: Corpus, curated: dict[str, list[tuple[str, str]]]) -> dict[str, list[str]]:
    """The example questions of each group: the curated ones whose subject (the second of each pair)
    is in the corpus; a group left empty gets questions made from the corpus (example_fallback)."""
    text = "".join(d.text for d in corpus.documents.values())
    made = example_fallback(corpus)
    out = {}
    for group, pairs in curated.items():
        kept = [q for q, subject in pairs if subject in text] or made.get(group, [])
        if kept:
            out[group] = kept
    return out


def example_fallback(corpus: Corpus) -> dict[str, list[str]]:
    """Questions made from the corpus for the three example groups: indicator targets, a section's
    tasks, and a quote to check (a sentence with a number in it)."""
    plans = [p for _, p in iter_plans(corpus)]
    names = [re.sub(r"（[^（）]*）$", "", i.name) for p in plans for i in p.indicators]
    sections = [n for p in plans for part in p.parts for n in part.children if n.level == "section" and n.children]
    clauses = (ITEM_NUMBER.sub("", c) for doc, p in iter_plans(corpus) for part in p.parts
               for c in re.split(r"[。；！？，\n]", doc.text[part.start:part.end]))
    quotes = [c for c in clauses if QUOTABLE.fullmatch(c)]
    return {
        "市民常问": [f"{n}的目标是多少" for n in dict.fromkeys(names)][:3],
        "新入职工作人员": [f"“{s.title}”有哪些任务" for s in sections][:3],
        "培训师核对引文": [f"规划里是不是说“{q}”？" for q in quotes][:2],
    }


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


def indicators_html(corpus: Corpus, plan: str | None = None, query: str = "") -> str:
    """The filtered rows as one table under heading rows (the plan, then each 领域); a clear message
    when no row matches.

    The columns are 序号, 指标, 2020年, 2025年: with 规划 and 领域 as heading rows, a phone (whose
    CSS also drops 序号, .ind-seq) shows the indicator's name beside both years without a sideways scroll."""
    matching = _matching(corpus, plan, query)
    if not matching:
        words = "”“".join(query.split())
        what = f"包含“{escape(words)}”的指标" if words else "指标"
        hint = "可以换个词，或把规划改为“全部”。" if words else "这个规划没有重点指标目标表。"
        return f'<div class="ind-empty"><p>没有找到{what}。{hint}</p></div>'
    columns = list(zip(IND_CLASSES, INDICATOR_HEADERS[1:]))[1:]  # 领域 is a heading row
    head = "".join(f'<th class="ind-{c}">{h}</th>' for c, h in columns)
    rows, plan_now, domain_now = [], None, None
    for p, ind, row in matching:
        if p is not plan_now:
            plan_now, domain_now = p, None
            title = f"（{escape(p.title)}）" if p.title and p.title != p.name else ""
            rows.append(f'<tr class="ind-plan"><th colspan="{len(columns)}">{escape(p.name)}{title}</th></tr>')
        if ind.domain != domain_now:
            domain_now = ind.domain
            rows.append(f'<tr class="ind-area"><th colspan="{len(columns)}">{escape(ind.domain or "其他")}</th></tr>')
        rows.append("<tr>" + "".join(f'<td class="ind-{c}">{escape(v)}</td>'
                                     for (c, _), v in zip(columns, row[2:])) + "</tr>")
    return (f'<div class="ind-wrap"><table class="ind-table"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>'
            f'<p class="ind-count">共 {len(matching)} 项</p></div>')


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
    tds = "".join(f'<td class="ind-{c}">{_mark(escape(v)) if hit else escape(v)}</td>'
                  for c, v, hit in zip(IND_CLASSES, cells, cited))
    head = "".join(f'<th class="ind-{c}">{h}</th>' for c, h in zip(IND_CLASSES, INDICATOR_HEADERS[1:]))
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
    """The answer first (markers linked), then one card per citation, then the share button (its
    plain text, `share_text`, rides along hidden); refusals say so plainly."""
    cards = "".join(citation_card_html(corpus, c, i, turn) for i, c in enumerate(answer.citations, 1))
    if answer.kind == "error":
        return error_html(answer.answer)
    if answer.kind != "streaming":
        cards += share_html(share_text(answer, corpus))
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


def share_html(text: str) -> str:
    """The share button and the text it copies (in the page's script: a click on a.share), kept on one
    line: a raw blank line would end the chat's HTML block and turn the rest into Markdown."""
    kept = escape(text).replace("\n", "&#10;")
    return ('<div class="share-row"><a class="share" href="#share" role="button" title="复制这条回答和出处（纯文本）">'
            f'复制回答和出处</a></div><div class="share-text" hidden>{kept}</div>')


def share_text(answer: Answer, corpus: Corpus) -> str:
    """The answer as plain text for training material: the question, the answer with its [n] markers,
    then each citation's plan title, section path and the quoted text.

        问：婚前医学检查率目标是多少
        答：……2020年为92.41％[1]……
        出处：
        [1] 《嘉兴市妇女发展“十四五”规划》重点指标目标表 › 妇女与健康 › 3．婚前医学检查率（％）
            原文：婚前医学检查率（％）；2020年：92.41；2025年：>85
    """
    lines = [f"问：{answer.question.strip()}", f"答：{answer.answer.strip()}"]
    if answer.citations:
        lines += ["", "出处：" if answer.answerable else "最接近的段落（供参考，并非答案）："]
    for n, c in enumerate(answer.citations, 1):
        lines += [f"[{n}] {citation_place(corpus, c)}", f"    原文：{citation_quote(corpus, c)}"]
    return "\n".join(lines)


def citation_place(corpus: Corpus, c: Citation) -> str:
    """Where a citation is: 《plan title》 then its section path without the plan's short name."""
    located = corpus.locate(c.doc, c.start)
    title = located[1].title if located else c.plan
    path = " › ".join(c.section.split(" > ")[1:])
    return f"《{title}》{path}"


def citation_quote(corpus: Corpus, c: Citation) -> str:
    """The quoted text on one line; a table row as its named cells ("婚前医学检查率（％）；2020年：92.41；…")."""
    ind = indicator_at(corpus, c.doc, c.start)
    if ind is not None:
        cells = indicator_cells(ind)
        return f"{cells[3]}；{INDICATOR_HEADERS[4]}：{cells[4]}；{INDICATOR_HEADERS[5]}：{cells[5]}"
    return "“" + " ".join(c.quote.split()) + "”"


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
    """The quote check as JSON: verdict, label, source wording, section, span and differences; for a
    passage not found, the plan's sentence most about the same thing as `related` (it is no source)."""
    verdict = answer.context.get("quote_check", "not_found")
    found = answer.citations[0] if answer.citations and verdict != "not_found" else None
    near = answer.citations[0] if answer.citations and verdict == "not_found" else None
    return {"verdict": verdict, "label": VERDICTS.get(verdict, verdict), "answer": answer.answer,
            "source": found.quote if found else "", "section": found.section if found else "",
            "doc": found.doc if found else "", "start": found.start if found else None,
            "end": found.end if found else None,
            "diffs": [{"quoted": q, "source": s} for q, s in answer.context.get("diffs", [])],
            "related": {"quote": near.quote, "section": near.section, "doc": near.doc,
                        "start": near.start, "end": near.end} if near else None}


# ---- 文档管理 ------------------------------------------------------------------------------------

DOCUMENT_HEADERS = ["文档", "原文件", "规划", "指标行", "检索段落"]
UPLOAD_STATUS = {"added": "新增文档", "replaced": "替换已有文档", "unchanged": "与已有文档相同"}


def preview_html(p: Preview) -> str:
    """An upload's parse summary before it is committed: title, headings, table rows, warnings."""
    stored = f"{escape(p.doc)}.txt（{UPLOAD_STATUS.get(p.status, p.status)}"
    stored += f"，原文件 {escape(p.replaces)}）" if p.replaces else "）"
    headings = "、".join(f"{what} {n} 个" for what, n in (
        ("一级标题", sum(s.parts for s in p.plans)), ("二级标题", sum(s.sections for s in p.plans)),
        ("条目", sum(s.items for s in p.plans))))
    facts = [("文件", escape(p.file)), ("标题", escape(p.title)), ("存为", stored), ("章节", headings),
             ("指标表", f"{p.table_rows} 行"), ("文字", f"{p.chars:,} 字，约 {p.chunks} 个检索段落")]
    if len(p.plans) > 1:
        facts[1] = ("规划", "<br>".join(f"{escape(s.title)}（标题 {s.parts + s.sections + s.items} 个，"
                                        f"指标表 {s.table_rows} 行）" for s in p.plans))
    rows = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in facts)
    warnings = "".join(f"<li>{escape(w)}</li>" for w in p.warnings)
    checks = (f'<div class="doc-warnings"><b>请注意：</b><ul>{warnings}</ul></div>' if warnings
              else '<p class="doc-ok">解析未发现问题。</p>')
    return (f'<div class="doc-summary"><div class="doc-head">解析结果（尚未提交）</div>'
            f'<table class="doc-facts">{rows}</table>{checks}'
            "<p>核对无误后，点“提交”添加到文档库并重建索引。</p></div>")


def job_html(job: Job | None) -> str:
    """A running change with its stage and a progress bar, or how the last one ended."""
    if job is None:
        return ""
    if not job.running:
        cls = "doc-done" if job.ok else "doc-failed"
        when = time.strftime("%H:%M", time.localtime(job.finished or job.started))
        return (f'<div class="doc-job {cls}">{"✓" if job.ok else "✗"} {escape(job.message)}'
                f'<span class="doc-when">（{when}）</span></div>')
    stage = STAGES.get(job.stage, job.stage)
    count = f" {job.done}/{job.total}" if job.total else ""
    bar = (f'<progress max="{job.total}" value="{job.done}"></progress>' if job.total
           else "<progress></progress>")
    return (f'<div class="doc-job doc-running">正在{escape(job.describe())}：{stage}{count}{bar}'
            "<div>构建期间仍按原有文档回答问题。</div></div>")


def documents_html(docs: list[DocumentInfo]) -> str:
    """The list of documents as a table: id, original file, plans, indicator rows, passages."""
    head = "".join(f"<th>{h}</th>" for h in DOCUMENT_HEADERS)
    rows = "".join(f"<tr><td>{escape(d.doc)}</td><td>{escape(d.file)}</td><td>{'<br>'.join(map(escape, d.plans))}"
                   f"</td><td>{d.indicators}</td><td>{d.chunks}</td></tr>" for d in docs)
    return (f'<table class="doc-list"><caption>文档库（{len(docs)} 个文档）</caption><thead><tr>{head}</tr></thead>'
            f"<tbody>{rows}</tbody></table>")
