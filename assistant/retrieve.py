"""Hybrid retrieval: jieba BM25 + dense vectors, fused by reciprocal rank, plus indicator lookup.

The indicator lookup answers "婚前医学检查率目标是多少" from the table row directly: a question
that names an indicator gets that row first, whatever the rank fusion says.

The work of a question grows with its distinct content, not with the corpus or with its length:
BM25 reads only the postings of the question's distinct terms from a sparse matrix, the indicator
lookup scores only the rows that share a bigram with the question, and a plan or document filter is
a mask applied inside both searches (the dense side filters inside Chroma).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from assistant.keywords import KeywordIndex, top
from assistant.query import CorpusWords, embedding_text, normalize
from assistant.targets import row_name
from assistant.text import char_bigrams, search_terms
from assistant.thresholds import INDICATOR_NAMED, INDICATOR_NAMED_WHOLE, INDICATOR_TIE
from assistant.types import Chunk, Hit

MASKS_KEPT = 64  # filter masks cached (plans x documents asked together)


@dataclass
class IndicatorMatch:
    chunk: Chunk
    score: float  # IDF-weighted share of the name's bigrams found in the question
    whole: bool = False  # every content word of the question is in the name


class IndicatorNames:
    """Indicator row names behind an inverted index of their bigrams: a question is scored only
    against the rows sharing a bigram with it ("婴儿死亡率目标" reaches 婴儿死亡率（‰）, not 婚前医学检查率)."""

    def __init__(self, rows: list[Chunk], weight: Callable[[str], float]) -> None:
        self.rows = rows
        self.weight = weight
        self.cores = [_core(row_name(c)) for c in rows]
        # sorted: the same name sums to the same float in every row
        self.totals = np.array([sum(weight(g) for g in sorted(char_bigrams(core))) for core in self.cores])
        self.postings = _postings(self.cores)
        self.whole = _postings([row_name(c) for c in rows])  # whole names, units too (what a row's text holds)

    def held(self, grams: set[str] | frozenset[str]) -> tuple[np.ndarray, np.ndarray]:
        """(rows, weight): the rows whose whole name holds some of `grams`, in row order, and the IDF
        weight of the ones it holds."""
        return self._summed(self.whole, grams)

    def shares(self, grams: set[str]) -> tuple[np.ndarray, np.ndarray]:
        """(rows, share): the rows whose name shares a bigram with `grams`, in row order, and the
        IDF-weighted share of each name's bigrams found."""
        rows, found = self._summed(self.postings, grams)
        return rows, found / self.totals[rows]

    def _summed(self, postings: dict[str, np.ndarray],
                grams: set[str] | frozenset[str]) -> tuple[np.ndarray, np.ndarray]:
        found = np.zeros(len(self.rows))
        for g in sorted(grams & postings.keys()):
            found[postings[g]] += self.weight(g)
        rows = np.flatnonzero(found)
        return rows, found[rows]


def _postings(names: list[str]) -> dict[str, np.ndarray]:
    """Each bigram's rows (ascending) among these names."""
    postings: dict[str, list[int]] = {}
    for r, name in enumerate(names):
        for g in char_bigrams(name):
            postings.setdefault(g, []).append(r)
    return {g: np.array(rs) for g, rs in postings.items()}


def _core(name: str) -> str:
    """A row name without its unit: "婚前医学检查率（％）" -> "婚前医学检查率"."""
    return name.rsplit("（", 1)[0] if name.endswith("）") else name


class Retriever:
    """Keyword + vector + indicator retrieval over one index's chunks.

    `keywords`: a KeywordIndex of these chunks (loaded with the index); built here when not given."""

    def __init__(self, chunks: list[Chunk], index=None, embedder=None, rrf_k: int = 60,
                 candidates: int = 40, keywords: KeywordIndex | None = None) -> None:
        self.chunks = chunks
        self.index = index
        self.embedder = embedder
        self.rrf_k = rrf_k
        self.candidates = candidates
        self.keywords = keywords if keywords is not None else KeywordIndex.build(chunks)
        if self.keywords.n_docs != len(chunks):
            raise ValueError(f"a keyword index of {self.keywords.n_docs} chunks for {len(chunks)} chunks")
        n = len(chunks)
        self.idf = {g: math.log(1 + n / df) for g, df in self.keywords.grams.items()}
        self._max_idf = math.log(1 + n)
        self.words = CorpusWords(self.keywords.grams, lambda: (c.text for c in chunks))  # for typo repair
        self.indicators = [c for c in chunks if c.kind == "indicator"]
        self._names = IndicatorNames(self.indicators, self.weight)
        self._plan_of = np.array([c.plan for c in chunks], dtype=str)
        self._doc_of = np.array([c.doc for c in chunks], dtype=str)
        self._front_docs = {c.doc for c in chunks if not c.plan}
        self._plan_docs: dict[str, set[str]] = {}
        for c in chunks:
            self._plan_docs.setdefault(c.plan, set()).add(c.doc)
        self._masks: dict[tuple, np.ndarray] = {}

    def weight(self, gram: str) -> float:
        return self.idf.get(gram, self._max_idf)

    def chunks_using(self, term: str) -> int:
        """How many chunks hold the jieba term (its keyword column's length): O(1)."""
        col = self.keywords.vocab.get(term)
        return 0 if col is None else int(self.keywords.indptr[col + 1] - self.keywords.indptr[col])

    def search_text(self, query: str, n: int, plans: list[str] | None = None,
                    docs: list[str] | None = None) -> list[tuple[Chunk, float]]:
        """BM25 over jieba terms, best first, optionally within some plans and documents."""
        terms = search_terms(query)
        if not terms:
            return []
        scores = self.keywords.scores(terms, self._mask(plans, docs))
        return [(self.chunks[i], s) for i, s in top(scores, n)]

    def search_vector(self, query: str, n: int, plans: list[str] | None = None,
                      docs: list[str] | None = None, vector: list[float] | None = None) -> list[tuple[Chunk, float]]:
        """Dense nearest neighbours from the vector index, best first (`vector`: the query's, if embedded)."""
        if self.index is None or self.embedder is None:
            return []
        scope: dict = {"docs": docs} if docs else {}  # an index without a doc filter still serves unfiltered queries
        if plans:
            scope["fronts"] = self.fronts(plans)
        return self.index.search_vector(vector or self.embedder.embed_query(embedding_text(query)), n, plans=plans,
                                        **scope)

    def fronts(self, plans: list[str]) -> list[str]:
        """Documents holding these plans that have front matter (a cover notice is every one of its plans')."""
        return sorted({d for p in plans for d in self._plan_docs.get(p, ())} & self._front_docs)

    def rows_holding(self, grams: set[str] | frozenset[str], least: float, plans: list[str] | None = None,
                     docs: list[str] | None = None) -> list[Chunk]:
        """Indicator rows whose name holds at least `least` IDF weight of `grams` (by the names' inverted
        index, not a scan of every row), within the plans and documents."""
        rows, weight = self._names.held(grams)
        return [c for c in (self.indicators[r] for r in rows[weight >= least].tolist()) if _allowed(c, plans, docs)]

    def match_indicators(self, query: str, plans: list[str] | None = None,
                         key_terms: list[str] | None = None, docs: list[str] | None = None) -> list[IndicatorMatch]:
        """Indicator rows whose name the question mentions, strongest first.

        A row matches when most of its name's bigrams are in the question (IDF-weighted), or
        when every content word of the question is in its name and half of the name is
        asked ("高中阶段毛入学率" names 高中阶段女生毛入学率 too). Both need a shared bigram, so
        only the rows sharing one are looked at.
        """
        terms = [t for t in (key_terms or []) if len(t) > 1]
        rows, shares = self._names.shares(char_bigrams(query))
        out = []
        for r, forward in zip(rows.tolist(), shares.tolist()):
            c = self.indicators[r]
            if not _allowed(c, plans, docs):
                continue
            whole = bool(terms) and all(t in self._names.cores[r] for t in terms)
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

    def _mask(self, plans: list[str] | None, docs: list[str] | None) -> np.ndarray | None:
        """Chunks within the plans and documents (None: no filter), cached per filter."""
        if not plans and not docs:
            return None
        key = (tuple(plans or ()), tuple(docs or ()))
        mask = self._masks.get(key)
        if mask is None:
            mask = np.ones(len(self.chunks), dtype=bool)
            if plans:  # the plans' chunks and their documents' front matter
                front = (self._plan_of == "") & np.isin(self._doc_of, self.fronts(list(plans)))
                mask &= np.isin(self._plan_of, list(plans)) | front
            if docs:
                mask &= np.isin(self._doc_of, list(docs))
            if len(self._masks) >= MASKS_KEPT:
                self._masks.clear()
            self._masks[key] = mask
        return mask


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
