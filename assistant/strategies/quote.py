"""Quote check: is a trainer's passage in the plan word for word, close but different, or absent?"""

from __future__ import annotations

from assistant.compose import Draft
from assistant.corpus import Corpus
from assistant.query import Query
from assistant.quotes import check_quote
from assistant.strategies.base import Strategy
from assistant.types import DialogueState, Hit, Intent

VERDICT = {"exact": "原文一致", "differs": "与原文不一致", "not_found": "未找到"}


class QuoteCheckStrategy(Strategy):
    name = "quote_check"

    def match(self, query: Query, state: DialogueState | None) -> bool:
        return query.intent == Intent.QUOTE and bool(query.quote)

    def answer(self, query: Query, hits: list[Hit]) -> Draft | None:
        return self.check(query.quote or query.raw, query.docs)

    def check(self, passage: str, docs: tuple[str, ...] | list[str] | None = None) -> Draft:
        """The verdict on one passage, citing the closest source passage when there is one."""
        corpus = self.kit.corpus
        if docs:
            corpus = Corpus({d: corpus.documents[d] for d in docs})
        check = check_quote(corpus, passage)
        verdict = VERDICT[check.verdict]
        context = {"quote_check": check.verdict, "diffs": check.diffs}
        if check.verdict == "not_found":
            return Draft(
                f"{verdict}：规划中没有找到这段话或相近的表述。",
                [],
                "quote_check",
                self.name,
                exact=True,
                context=context,
            )
        chunk = self.kit.chunk_at(check.doc, check.start)
        cite = self.kit.cite_span(
            check.doc, chunk.plan_name if chunk else "", chunk.section if chunk else "", check.start, check.end
        )
        where = cite.section or "规划"
        if check.verdict == "exact":
            text = f"{verdict}：规划原文确有这段话，见{where}[1]。"
        else:
            diffs = "；".join(_difference(q, s) for q, s in check.diffs[:5])
            text = f"{verdict}：原文是“{cite.quote}”[1]（{where}）。差异：{diffs}。"
        return Draft(
            text,
            [cite],
            "quote_check",
            self.name,
            exact=True,
            chunks=[chunk] if chunk else [],
            context=context,
            plans=(chunk.plan,) if chunk else (),
        )


def _difference(quoted: str, source: str) -> str:
    """One difference, in the plan's words: a changed word or number is given as the plan has it and
    not repeated as quoted (an answer never states the wrong figure); only an added word is named."""
    if quoted and source:
        return f"原文为“{source}”"
    if source:
        return f"原文还有“{source}”"
    return f"原文没有“{quoted}”"
