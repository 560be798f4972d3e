"""Document -> Chunks: one per numbered item where it fits, split at sentence ends otherwise. Pure.

A long item is split at 。；！？ under a jieba-token budget, never inside a word or a number;
a heading alone ("（一）妇女与家庭建设。") is never a chunk. Each indicator row is a chunk too.
A document with no recognisable structure is chunked by paragraphs (blank-line separated).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from assistant.structure import indicator_path, section_path
from assistant.text import safe_cut, sentence_spans, tokens
from assistant.types import Chunk, Document, Indicator, Node, Plan

CHUNKER_VERSION = "6"  # with the parse: a change of either rebuilds the index
HEADING_END = "。；;：:"  # punctuation that may close a heading line without adding content
BLANK_LINE = re.compile(r"\n[^\S\n]*\n")


def chunk_document(document: Document, max_tokens: int = 200) -> list[Chunk]:
    """All chunks of a document, in document order within each kind."""
    chunks: list[Chunk] = []
    if document.front is not None:
        chunks += _text_chunks(document, None, [document.front], max_tokens)
    for plan in document.plans:
        if plan.preamble is not None:
            for node in _preamble_nodes(document, plan):
                chunks += _text_chunks(document, plan, [node], max_tokens)
        for path in _leaf_paths(plan.parts, []):
            chunks += _text_chunks(document, plan, path, max_tokens)
        chunks += [indicator_chunk(document, plan, ind) for ind in plan.indicators]
    return chunks


def _preamble_nodes(document: Document, plan: Plan) -> list[Node]:
    """The preamble as one node; for a plan with no headings and no table, one node per paragraph."""
    node = plan.preamble
    if node is None or plan.parts or plan.indicators:
        return [node] if node is not None else []
    text, spans, pos = document.text, [], node.start
    for m in BLANK_LINE.finditer(text, node.start, node.end):
        spans.append((pos, m.start()))
        pos = m.end()
    spans.append((pos, node.end))
    spans = [(s, e) for s, e in (_trim(text, s, e) for s, e in spans) if s < e]
    return [Node(f"{node.id}/p{k}", "text", "", "", "", s, e) for k, (s, e) in enumerate(spans, 1)]


def _leaf_paths(nodes: list[Node], above: list[Node]) -> Iterator[list[Node]]:
    """Paths to nodes whose own text is a chunk: leaves, and parents with text before a child."""
    for node in nodes:
        path = above + [node]
        if node.children:
            yield path + [_intro(node)]
            yield from _leaf_paths(node.children, path)
        else:
            yield path


def _intro(node: Node) -> Node:
    """The text of a parent before its first child (usually only its heading)."""
    return Node(node.id + "/intro", "intro", "", node.title, "", node.start, node.children[0].start)


def _text_chunks(document: Document, plan: Plan | None, path: list[Node], max_tokens: int) -> list[Chunk]:
    node = path[-1]
    text = document.text
    body = text[node.start : node.end].rstrip()
    if node.level == "intro":
        path = path[:-1]
        # Only a heading line ("（一）妇女与家庭建设。"): nothing to retrieve on its own. An item's
        # heading line above its （1）（2） sub-items stays a chunk: items carry text, not structure.
        if path[-1].level in ("part", "section") and heading_only(body, path[-1].heading):
            return []
    pieces = split_text(text, node.start, node.start + len(body), max_tokens)
    heads = [n for n in path if n.heading]
    where = section_path(plan, *heads) if plan else heads[-1].heading
    item = path[-1].number if path[-1].level == "item" else ""
    out = []
    for k, (s, e) in enumerate(pieces):
        chunk_id = f"{node.id}#{k}" if len(pieces) > 1 else node.id
        out.append(Chunk(
            id=chunk_id, doc=document.doc, plan=plan.key if plan else "",
            plan_name=plan.name if plan else heads[-1].heading,
            kind="task" if item else "text", section=where, item=item, start=s, end=e,
            text=text[s:e], embed_text=f"{where}\n{text[s:e]}",
        ))
    return out


def heading_only(body: str, heading: str) -> bool:
    """True when body is just the heading: "(一) 妇女与家庭建设；" is "（一）妇女与家庭建设"."""
    def norm(text: str) -> str:
        return "".join(text.split()).rstrip(HEADING_END).replace("(", "（").replace(")", "）")

    return norm(body) == norm(heading)


def split_text(text: str, start: int, end: int, max_tokens: int) -> list[tuple[int, int]]:
    """Spans covering text[start:end], each within max_tokens jieba tokens where possible."""
    if len(tokens(text[start:end])) <= max_tokens:
        return [(start, end)]
    pieces: list[tuple[int, int]] = []
    for s, e in _fit(text, sentence_spans(text[start:end], start), max_tokens):
        if pieces and len(tokens(text[pieces[-1][0] : e])) <= max_tokens:
            pieces[-1] = (pieces[-1][0], e)  # greedy: add the sentence to the open piece
        else:
            pieces.append((s, e))
    return [_trim(text, s, e) for s, e in pieces]


def _trim(text: str, s: int, e: int) -> tuple[int, int]:
    """The span without blanks at either end (a cut between words may leave "… " behind)."""
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


def _fit(text: str, spans: list[tuple[int, int]], max_tokens: int) -> Iterator[tuple[int, int]]:
    """Sentences, with any sentence over budget cut at jieba token boundaries."""
    for s, e in spans:
        toks = tokens(text[s:e])
        if len(toks) <= max_tokens:
            yield s, e
            continue
        pos, piece_start, count = s, s, 0
        for tok in toks:
            if count >= max_tokens and safe_cut(text, pos) and not text[pos].isspace():
                yield piece_start, pos
                piece_start, count = pos, 0
            pos += len(tok)
            count += 1
        yield piece_start, e


def indicator_sentence(plan_name: str, ind: Indicator) -> str:
    """"妇女规划重点指标（妇女与健康）：婚前医学检查率（％），2020年为92.41，2025年目标为>85。"."""
    if ind.columns:  # a table of any header: every named cell
        cells = "；".join(f"{h}：{t}" for h, t, _, _ in ind.columns if t != ind.name)
        return f"{plan_name}{ind.table or '指标表'}：{ind.name}；{cells}。"
    base = ind.baseline or "无数据"
    shared = f"（与第{ind.target_shared_with}项共用目标）" if ind.target_shared_with else ""
    domain = f"（{ind.domain}）" if ind.domain else ""  # a table without a 领域 column
    name = ind.name if ind.unit in ind.name else f"{ind.name}（{ind.unit}）"  # a 单位 column
    return (f"{plan_name}重点指标{domain}：{name}，{ind.baseline_year}年为{base}，"
            f"{ind.target_year}年目标为{ind.target or '未列'}{shared}。")


def indicator_chunk(document: Document, plan: Plan, ind: Indicator) -> Chunk:
    where = indicator_path(plan, ind)
    sentence = indicator_sentence(plan.name, ind)
    return Chunk(
        id=f"{document.doc}/{plan.key}/table/{ind.number}", doc=document.doc, plan=plan.key,
        plan_name=plan.name, kind="indicator", section=where, item=str(ind.number),
        start=ind.start, end=ind.end, text=sentence, embed_text=f"{where}\n{sentence}",
    )
