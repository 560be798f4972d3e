"""Quote check: is a trainer's passage in the plan word for word, close but different, or absent?"""

from __future__ import annotations

from dataclasses import replace

from assistant import thresholds as T
from assistant.compose import Draft, flat
from assistant.corpus import Corpus
from assistant.query import Query, key_grams
from assistant.quotes import check_quote
from assistant.strategies.base import Strategy
from assistant.types import Chunk, DialogueState, Hit, Intent

VERDICT = {"exact": "原文一致", "differs": "与原文不一致", "not_found": "未找到"}


class QuoteCheckStrategy(Strategy):
    name = "quote_check"

    def match(self, query: Query, state: DialogueState | None) -> bool:
        return query.intent == Intent.QUOTE and bool(query.quote)

    def answer(self, query: Query, hits: list[Hit]) -> Draft | None:
        return self.check(query.quote or query.raw, query.docs, query, hits)

    def check(self, passage: str, docs: tuple[str, ...] | list[str] | None = None,
              query: Query | None = None, hits: list[Hit] | None = None) -> Draft:
        """The verdict on one passage, citing the closest source passage when there is one; when there
        is none, the plan's sentence most about the same thing (from `hits`), so that a trainer sees
        what the plan does say."""
        corpus = self.kit.corpus
        if docs:
            corpus = Corpus({d: corpus.documents[d] for d in docs})
        check = check_quote(corpus, passage)
        verdict = VERDICT[check.verdict]
        context = {"quote_check": check.verdict, "diffs": check.diffs}
        if check.verdict == "not_found":
            text, cites, chunks = f"{verdict}：规划中没有找到这段话或相近的表述。", [], []
            related = self._related(passage, query, hits or [], docs)
            if related is not None:
                chunk, start, end = related
                cites = [self.kit.cite(chunk, start, end)]
                chunks = [chunk]
                text += f"与此最相关的原文是：“{flat(cites[0].quote)}”[1]（{chunk.section}）。"
            return Draft(text, cites, "quote_check", self.name, exact=True, chunks=chunks, context=context,
                         plans=tuple(c.plan for c in chunks))
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


    def _related(self, passage: str, query: Query | None, hits: list[Hit],
                 docs: tuple[str, ...] | list[str] | None) -> tuple[Chunk, int, int] | None:
        """The retrieved sentence that holds most of the passage's words, when it holds enough of them."""
        if query is None or not hits:
            return None
        hits = [h for h in hits if not docs or h.chunk.doc in docs]
        grams = key_grams(passage)
        best = self.kit.best_sentences(replace(query, grams=grams), hits, limit=1)
        if not best:
            return None
        chunk, start, end, _ = best[0]
        if self.kit.coverage(grams, self.kit.text_of(chunk, start, end)) < T.QUOTE_RELATED_MIN:
            return None
        return chunk, start, end


def _difference(quoted: str, source: str) -> str:
    """One difference, in the plan's words: a changed word or number is given as the plan has it and
    not repeated as quoted (an answer never states the wrong figure); only an added word is named."""
    if quoted and source:
        return f"原文为“{source}”"
    if source:
        return f"原文还有“{source}”"
    return f"原文没有“{quoted}”"
