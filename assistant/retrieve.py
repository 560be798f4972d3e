"""Hybrid retrieval: jieba BM25 + dense vectors, fused by reciprocal rank, plus indicator lookup.

The indicator lookup answers "婚前医学检查率目标是多少" from the table row directly: a question
that names an indicator gets that row first, whatever the rank fusion says.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict
from rank_bm25 import BM25Okapi

from assistant.query import normalize
from assistant.targets import row_name
from assistant.text import char_bigrams, search_terms
from assistant.thresholds import INDICATOR_NAMED, INDICATOR_NAMED_WHOLE, INDICATOR_TIE
from assistant.types import Chunk, Hit


@dataclass
class IndicatorMatch:
    chunk: Chunk
    score: float  # IDF-weighted share of the name's bigrams found in the question
    whole: bool = False  # every content word of the question is in the name


class Retriever:
    """Keyword + vector + indicator retrieval over one index's chunks."""

    def __init__(self, chunks: list[Chunk], index=None, embedder=None, rrf_k: int = 60,
                 candidates: int = 40) -> None:
        self.chunks = chunks
        self.index = index
        self.embedder = embedder
        self.rrf_k = rrf_k
        self.candidates = candidates
        self._bm25 = BM25Okapi([search_terms(c.embed_text) or ["∅"] for c in chunks])
        grams = Counter(g for c in chunks for g in char_bigrams(c.embed_text))
        n = len(chunks)
        self.idf = {g: math.log(1 + n / df) for g, df in grams.items()}
        self._max_idf = math.log(1 + n)
        self.indicators = [c for c in chunks if c.kind == "indicator"]
        self._names = {c.id: row_name(c) for c in self.indicators}

    def weight(self, gram: str) -> float:
        return self.idf.get(gram, self._max_idf)

    def search_text(self, query: str, n: int, plans: list[str] | None = None,
                    docs: list[str] | None = None) -> list[tuple[Chunk, float]]:
        """BM25 over jieba terms, best first, optionally within some plans and documents."""
        terms = search_terms(query)
        if not terms:
            return []
        scores = self._bm25.get_scores(terms)
        order = sorted(range(len(self.chunks)), key=lambda i: -scores[i])
        out = [(self.chunks[i], float(scores[i])) for i in order if scores[i] > 0]
        return [h for h in out if _allowed(h[0], plans, docs)][:n]

    def search_vector(self, query: str, n: int, plans: list[str] | None = None,
                      docs: list[str] | None = None, vector: list[float] | None = None) -> list[tuple[Chunk, float]]:
        """Dense nearest neighbours from the vector index, best first (`vector`: the query's, if embedded)."""
        if self.index is None or self.embedder is None:
            return []
        scope = {"docs": docs} if docs else {}  # an index without a doc filter still serves unfiltered queries
        return self.index.search_vector(vector or self.embedder.embed_query(query), n, plans=plans, **scope)

    def match_indicators(self, query: str, plans: list[str] | None = None,
                         key_terms: list[str] | None = None, docs: list[str] | None = None) -> list[IndicatorMatch]:
        """Indicator rows whose name the question mentions, strongest first.

        A row matches when most of its name's bigrams are in the question (IDF-weighted), or
        when every content word of the question is in its name and half of the name is
        asked ("高中阶段毛入学率" names 高中阶段女生毛入学率 too).
        """
        q = char_bigrams(query)
        terms = [t for t in (key_terms or []) if len(t) > 1]
        out = []
        for c in self.indicators:
            if not _allowed(c, plans, docs):
                continue
            name = self._names[c.id]
            core = name.rsplit("（", 1)[0] if name.endswith("）") else name
            grams = char_bigrams(core)
            if not grams:
                continue
            total = sum(self.weight(g) for g in grams)
            forward = sum(self.weight(g) for g in grams & q) / total
            whole = bool(terms) and all(t in core for t in terms)
            if forward >= INDICATOR_NAMED or (whole and forward >= INDICATOR_NAMED_WHOLE):
                out.append(IndicatorMatch(c, forward, whole))
        out.sort(key=lambda m: (-m.score, not m.whole))
        if out:  # the best row, and rows the question names as fully (the same name in both plans)
            best = out[0]
            out = [m for m in out if m is best or (m.whole and best.whole) or m.score >= best.score - INDICATOR_TIE]
        return out

    def retrieve(self, query: str, k: int = 10, plans: list[str] | None = None,
                 docs: list[str] | None = None, vector: list[float] | None = None) -> list[Hit]:
        """Fused hits for a normalized question, best first, optionally within some plans and documents."""
        ranked = {"bm25": self.search_text(query, self.candidates, plans, docs),
                  "dense": self.search_vector(query, self.candidates, plans, docs, vector)}
        hits: dict[str, Hit] = {}
        for name, results in ranked.items():
            for rank, (chunk, score) in enumerate(results):
                hit = hits.setdefault(chunk.id, Hit(chunk, 0.0))
                hit.score += 1.0 / (self.rrf_k + rank + 1)
                hit.ranks[name] = rank + 1
                if name == "dense":
                    hit.dense = score
        for m in self.match_indicators(query, plans, docs=docs):
            hit = hits.setdefault(m.chunk.id, Hit(m.chunk, 0.0))
            hit.score += 2.0 / (self.rrf_k + 1) * m.score  # a named indicator outranks any fused hit
            hit.ranks["indicator"] = 1
        return sorted(hits.values(), key=lambda h: -h.score)[:k]


def _allowed(chunk: Chunk, plans: list[str] | None, docs: list[str] | None = None) -> bool:
    return (not plans or chunk.plan in plans) and (not docs or chunk.doc in docs)


class PlanRetriever(BaseRetriever):
    """The hybrid retriever as a LangChain `BaseRetriever` (metadata carries the citation)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    retriever: Retriever
    k: int = 10
    plans: list[str] | None = None
    docs: list[str] | None = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[LCDocument]:
        return [
            LCDocument(page_content=h.chunk.text, metadata={**h.chunk.metadata(), "score": h.score})
            for h in self.retriever.retrieve(normalize(query), self.k, self.plans, self.docs)
        ]
