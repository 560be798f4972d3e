"""Document facts: who issued the plans, when, to whom, on what basis, for which period.

Read from the cover notice (印发通知) and each plan's preamble, by the shape of the text (a date
line, a short signature line, the line ending in "：", the sentence with 根据 or 规划期限), so
any plan document with a notice and a preamble is answered the same way.
"""

from __future__ import annotations

import re

from assistant import lexicon
from assistant.compose import Draft
from assistant.query import Query, has_cue
from assistant.strategies.base import Strategy
from assistant.structure import ANNEX_LIST
from assistant.text import DOC_NUMBER_RX, sentence_spans
from assistant.types import Citation, DialogueState, Document, Hit, Intent, Plan

DATE = re.compile(r"(?:19|20)\d\d\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日")
PERIOD_YEARS = re.compile(r"((?:19|20)\d\d)\s*[—\-－~～至到]+\s*((?:19|20)\d\d)\s*年")
DOC_NUMBER = re.compile(DOC_NUMBER_RX)
PAGE_DATE = re.compile(r"(?:发布时间|发布日期)：\s*(?:19|20)\d\d[-年./]\d{1,2}")
BASIS = re.compile(r"根据|依据|按照")
PERIOD = re.compile(r"规划期限|规划期|实施期")
ISSUER_END = re.compile(r"(人民政府|委员会|办公室|办公厅|政府|工委|联合会|局|厅|部|委)$")


class DocumentFactsStrategy(Strategy):
    name = "document_facts"

    def match(self, query: Query, state: DialogueState | None) -> bool:
        return query.intent == Intent.DOCUMENT

    def answer(self, query: Query, hits: list[Hit]) -> Draft | None:
        facet = facet_of(query.text)
        if facet is None:
            return None
        cites: list[Citation] = []
        lines: list[str] = []
        docs = self._documents(query)
        if facet == "number":
            for doc in docs:
                line = self._number(doc, cites)
                if line:
                    lines.append(line)
        elif facet == "annex":
            for doc in docs:
                line = self._annexes(doc, cites)
                if line:
                    lines.append(line)
        elif facet in ("issuer", "date", "addressee"):
            for doc in docs:
                line = self._notice(doc, facet, cites)
                if line:
                    lines.append(line)
        else:
            for doc, plan in self._plans(query):
                line = self._preamble(doc, plan, facet, cites)
                if line:
                    lines.append(line)
        if not lines:
            return None
        return Draft(
            "\n".join(lines),
            cites,
            "document",
            self.name,
            exact=True,
            named=True,
            plans=tuple(dict.fromkeys(p.key for _, p in self._plans(query))),
        )

    def _documents(self, query: Query) -> list[Document]:
        seen = {doc.doc: doc for doc, _ in self._plans(query)}
        return list(seen.values())

    def _plans(self, query: Query) -> list[tuple[Document, Plan]]:
        return [
            (doc, plan)
            for key, (doc, plan) in self.kit.plans.items()
            if (not query.plans or key in query.plans) and (not query.docs or doc.doc in query.docs)
        ]

    # ---- the cover notice ------------------------------------------------------------------------

    def _number(self, doc: Document, cites: list[Citation]) -> str | None:
        """The issuing number (文号, "国卫妇幼发〔2015〕53号"): in the notice, else in the title lines."""
        head_end = doc.front.end if doc.front is not None else min((p.start for p in doc.plans), default=0)
        m = DOC_NUMBER.search(doc.text, 0, max(head_end, doc.plans[0].start if doc.plans else 0) + 200)
        if m is None:
            return None
        names = "、".join(f"《{p.title}》" for p in doc.plans)
        return f"{names}的文号为{self._cite(doc, (m.start(), m.end()), cites)}。"

    def _annexes(self, doc: Document, cites: list[Citation]) -> str | None:
        """Which annex of a notice the document is ("附件 2" above its title: "…是国卫办妇幼函〔2021〕635号
        的附件2"), and the annexes it has itself ("附：1.…绩效考核指标表 2.…流程图"), each cited."""
        head = doc.text[: (doc.plans[0].start if doc.plans else 0) + HEAD_CHARS]
        names = "、".join(f"《{p.title}》" for p in doc.plans)
        parts = []
        if (of := ANNEX_OF.search(head)) is not None:
            number = DOC_NUMBER.search(head)
            notice = f"{self._cite(doc, (number.start(), number.end()), cites)}文" if number else "印发通知"
            parts.append(f"{names}是{notice}的{self._cite(doc, of.span(1), cites).replace(' ', '')}")
        listed = annex_list(doc.text)
        if listed:
            items = "；".join(self._cite(doc, span, cites) for span in listed)
            parts.append(f"{names if not parts else '它'}后附{len(listed)}个附件：{items}")
        return "；".join(parts) + "。" if parts else None

    def _notice(self, doc: Document, facet: str, cites: list[Citation]) -> str | None:
        if doc.front is None:
            return None
        lines = notice_lines(doc.text, doc.front.start, doc.front.end)
        date = next(((s, e) for s, e in lines if DATE.fullmatch(doc.text[s:e].strip())), None)
        names = "、".join(f"《{p.title}》" for p in doc.plans)
        if facet == "addressee":
            to = next(((s, e) for s, e in lines if doc.text[s:e].rstrip().endswith(("：", ":"))), None)
            if to is None:
                return None
            return f"{names}印发给：{self._cite(doc, to, cites)}。"
        issuer = self._issuer(doc, lines, date)
        if issuer is None and date is None:
            return None
        parts = []
        if issuer is not None:
            parts.append(f"{names}由{self._cite(doc, issuer, cites)}印发")
        if date is not None:
            parts.append(f"印发日期为{self._cite(doc, date, cites)}")
        # a scraped page's own date ("发布时间：2020-11-25"), kept by reflow as a line of the notice
        posted = next(((s, e) for s, e in lines if PAGE_DATE.match(doc.text[s:e].strip())), None)
        if facet == "date" and posted is not None:
            parts.append(f"网页{self._cite(doc, posted, cites)}")
        return "，".join(parts) + "。"

    @staticmethod
    def _issuer(doc: Document, lines: list[tuple[int, int]], date: tuple[int, int] | None) -> tuple[int, int] | None:
        """The signature line (short, a body's name, just above the date), else the title's issuer."""
        if date is not None:
            before = [(s, e) for s, e in lines if e <= date[0]]
            if before:
                s, e = before[-1]
                if len(doc.text[s:e].strip()) <= 30 and ISSUER_END.search(doc.text[s:e].strip()):
                    return s, e
        first_s, first_e = lines[0]
        m = re.match(r"(.{2,30}?)关于", doc.text[first_s:first_e])
        return (first_s, first_s + len(m.group(1))) if m else None

    def _cite(self, doc: Document, span: tuple[int, int], cites: list[Citation]) -> str:
        s, e = span
        chunk = self.kit.chunk_at(doc.doc, s)
        cites.append(
            self.kit.cite_span(
                doc.doc, chunk.plan_name if chunk else "印发通知", chunk.section if chunk else "印发通知", s, e
            )
        )
        return f"{doc.text[s:e].strip()}[{len(cites)}]"

    # ---- a plan's preamble -----------------------------------------------------------------------

    def _preamble(self, doc: Document, plan: Plan, facet: str, cites: list[Citation]) -> str | None:
        if plan.preamble is None:
            return None
        pattern = BASIS if facet == "basis" else PERIOD
        for s, e in sentence_spans(doc.text[plan.preamble.start : plan.preamble.end], plan.preamble.start):
            sent = doc.text[s:e]
            if facet == "basis" and pattern.search(sent):
                m = re.search(r"(?:根据|依据|按照)(.+?)(?:精神|要求|规定)?，", sent)
                span = (s + m.start(), s + m.end() - 1) if m else (s, e)
                chunk = self.kit.chunk_at(doc.doc, s)
                cites.append(self.kit.cite_span(doc.doc, plan.name, chunk.section if chunk else plan.name, *span))
                return f"{plan.name}：{doc.text[span[0] : span[1]]}[{len(cites)}]。"
            if facet == "period" and pattern.search(sent):
                chunk = self.kit.chunk_at(doc.doc, s)
                cites.append(self.kit.cite_span(doc.doc, plan.name, chunk.section if chunk else plan.name, s, e))
                return f"{plan.name}：{sent.rstrip('。')}[{len(cites)}]。"
        return None


HEAD_CHARS = 200  # how far past a plan's title its head lines ("附件 2", the 文号) may sit
ANNEX_OF = re.compile(r"(?m)^\s*(附件\s*\d{1,2})\s*$")  # "附件 2": the document is a notice's second annex
ANNEX_ITEM = re.compile(r"[ \t]*\d{1,2}\s*[.．、]\s*\S[^\n]*")


def annex_list(text: str) -> list[tuple[int, int]]:
    """The spans of the entries of a document's list of annexes ("1.乳腺癌筛查绩效考核指标表"), in order."""
    # the line the parse opens the annexes' part at ("附件：", "附：1.…"), read past its colon
    line = next((m for m in re.finditer(r"(?m)^[^\n]*", text) if ANNEX_LIST.match(m.group().strip())), None)
    if line is None:
        return []
    colon = re.search(r"[:：]\s*", line.group())
    after = line.start() + colon.end() if colon else line.end()
    out, pos = [], re.compile(r"\s*").match(text, after).end()
    while (item := ANNEX_ITEM.match(text, pos)) is not None:
        start = item.start() + len(item.group(0)) - len(item.group(0).lstrip())
        out.append((start, item.end()))
        pos = item.end() + 1 if item.end() < len(text) and text[item.end()] == "\n" else item.end()
    return out


def facet_of(text: str) -> str | None:
    """Which document fact the question asks for."""
    for facet, cues in lexicon.DOCUMENT_FACETS.items():
        if has_cue(text, cues):
            return facet
    return None


def notice_lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Non-blank lines of the notice, trimmed of surrounding blanks."""
    out, pos = [], start
    for line in text[start:end].split("\n"):
        s = pos + len(line) - len(line.lstrip())
        e = pos + len(line.rstrip())
        if e > s:
            out.append((s, e))
        pos += len(line) + 1
    return out
