"""Hybrid retrieval: jieba BM25 + dense vectors, fused by reciprocal rank, plus indicator lookup.

The indicator lookup answers "婚前医学检查率目标是多少" from the table row directly: a question
that names an indicator gets that row first, whatever the rank fusion says.

The work of a question grows with its distinct content, not with the corpus or with its length:
BM25 reads only the postings of the question's distinct terms from a sparse matrix, the indicator
lookup scores only the rows that share a bigram with the question, and a plan or document filter is
a mask applied inside both searches (the dense side filters inside Chroma).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from assistant.query import normalize
from assistant.targets import row_name
from assistant.text import char_bigrams, search_terms
from assistant.thresholds import INDICATOR_NAMED, INDICATOR_NAMED_WHOLE, INDICATOR_TIE
from assistant.types import Chunk, Hit

# BM25Okapi as rank_bm25 has it (the rankings and thresholds were tuned on it): k1, b, and the floor
# of a negative IDF (a term in over half the chunks) at EPSILON x the mean IDF.
K1, B, EPSILON = 1.5, 0.75, 0.25
NO_TERMS = "∅"  # the one term of a chunk that has none, so that every chunk is a row of the matrix
KEYWORDS_VERSION = 1  # bump when search_terms, char_bigrams or the scoring change: stored indexes go stale
ARRAYS = ("data", "indices", "indptr")  # the matrix, as KeywordIndex.save writes it (bm25_<name>.npy)
MASKS_KEPT = 64  # filter masks cached (plans x documents asked together)


@dataclass
class IndicatorMatch:
    chunk: Chunk
    score: float  # IDF-weighted share of the name's bigrams found in the question
    whole: bool = False  # every content word of the question is in the name


def fingerprint(chunks: list[Chunk]) -> str:
    """What a keyword index was built from: the chunks' ids and indexed texts, and the index version."""
    h = hashlib.sha256(f"keywords-v{KEYWORDS_VERSION}\n".encode())
    for c in chunks:
        h.update(f"{c.id}\0{c.embed_text}\0".encode())
    return h.hexdigest()


class KeywordIndex:
    """BM25 over jieba terms as a sparse chunk-by-term matrix, and the chunks' bigram frequencies.

    The matrix holds each (chunk, term) score precomputed, column by column (CSC: column t is
    data/indices[indptr[t]:indptr[t+1]]), so a question reads only its own terms' columns. Scores
    are rank_bm25's BM25Okapi, float for float (its expression and its IDF floor; only a repeated
    term, added once times its count, may differ in the last bit). bm25s is as fast but has no such
    floor: its closest variant (atire, robertson IDF) orders 17% of the eval questions' 40 candidates
    otherwise. Plain arrays and JSON: a build can `save` it beside the vector index, processes `load` it.
    """

    def __init__(self, data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, vocab: dict[str, int],
                 grams: dict[str, int], n_docs: int, source: str) -> None:
        self.data, self.indices, self.indptr = data, indices, indptr  # CSC: column t = indptr[t]:indptr[t+1]
        self.vocab = vocab  # term -> column
        self.grams = grams  # character bigram -> number of chunks holding it
        self.n_docs = n_docs
        self.source = source  # fingerprint() of the chunks it was built from

    @classmethod
    def build(cls, chunks: list[Chunk]) -> KeywordIndex:
        """Tokenize and index the chunks' embed_text (jieba search terms and character bigrams)."""
        docs = [search_terms(c.embed_text) or [NO_TERMS] for c in chunks]
        grams = Counter(g for c in chunks for g in char_bigrams(c.embed_text))
        n = len(docs)
        # columns in first-seen order, as rank_bm25 counts them: its mean IDF sums in that order
        vocab = {t: i for i, t in enumerate(dict.fromkeys(t for doc in docs for t in doc))}
        lengths = np.array([len(doc) for doc in docs], dtype=np.int64)
        terms = np.fromiter((vocab[t] for doc in docs for t in doc), dtype=np.int64, count=int(lengths.sum()))
        pairs, tf = np.unique(terms * n + np.repeat(np.arange(n), lengths), return_counts=True)
        cols, indices = np.divmod(pairs, max(n, 1))  # sorted by term, then chunk: column-major (CSC)
        df = np.bincount(cols, minlength=len(vocab))
        indptr = np.concatenate([[0], np.cumsum(df)])
        avgdl = int(lengths.sum()) / max(n, 1)
        dl = lengths[indices]
        # rank_bm25's expression, term for term, so that every float is the same
        data = _okapi_idf(df, n)[cols] * (tf * (K1 + 1) / (tf + K1 * (1 - B + B * dl / avgdl)))
        return cls(data, indices.astype(np.int32), indptr, vocab, dict(grams), n, fingerprint(chunks))

    def scores(self, terms: list[str], mask: np.ndarray | None = None) -> np.ndarray:
        """BM25 of every chunk (0 for chunks without a term, or outside `mask`).

        A term asked twice counts twice, as in rank_bm25, but its column is read once: the work is
        the distinct terms' postings, however long the question."""
        counts = Counter(t for t in terms if t in self.vocab)
        cols = [self.vocab[t] for t in counts]  # first-seen order: rank_bm25 adds terms in question order
        spans = [(int(self.indptr[c]), int(self.indptr[c + 1])) for c in cols]
        if not spans:
            return np.zeros(self.n_docs)
        rows = np.concatenate([self.indices[s:e] for s, e in spans])
        weights = np.concatenate([self.data[s:e] * n for (s, e), n in zip(spans, counts.values())])
        if mask is not None:
            keep = mask[rows]
            rows, weights = rows[keep], weights[keep]
        return np.bincount(rows, weights=weights, minlength=self.n_docs)

    def save(self, folder: str | Path) -> None:
        """Write the index into `folder` (three .npy arrays and keywords.json)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name in ARRAYS:
            np.save(folder / f"bm25_{name}.npy", getattr(self, name), allow_pickle=False)
        meta = {"version": KEYWORDS_VERSION, "k1": K1, "b": B, "epsilon": EPSILON, "n_docs": self.n_docs,
                "source": self.source, "vocab": self.vocab, "grams": self.grams}
        (folder / "keywords.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: str | Path, chunks: list[Chunk] | None = None) -> KeywordIndex | None:
        """The index saved in `folder`; None when there is none, or it is of another version or of
        other chunks than `chunks` (when given): the caller builds it again."""
        folder = Path(folder)
        try:
            meta = json.loads((folder / "keywords.json").read_text(encoding="utf-8"))
            arrays = [np.load(folder / f"bm25_{name}.npy", allow_pickle=False) for name in ARRAYS]
        except (OSError, ValueError):
            return None
        if [meta.get(k) for k in ("version", "k1", "b", "epsilon")] != [KEYWORDS_VERSION, K1, B, EPSILON]:
            return None
        if chunks is not None and meta["source"] != fingerprint(chunks):
            return None
        return cls(*arrays, meta["vocab"], meta["grams"], meta["n_docs"], meta["source"])


def _okapi_idf(df: np.ndarray, n: int) -> np.ndarray:
    """rank_bm25's BM25Okapi IDF per column: log((N-df+0.5)/(df+0.5)), a negative one floored at
    EPSILON x the mean (summed in column order, which is its order)."""
    idf = np.array([math.log(n - d + 0.5) - math.log(d + 0.5) for d in df.tolist()])
    total = 0.0
    for v in idf.tolist():
        total += v
    idf[idf < 0] = EPSILON * (total / max(len(idf), 1))
    return idf


def top(scores: np.ndarray, n: int) -> list[tuple[int, float]]:
    """The n best positive scores as (position, score), best first; equal scores in position order
    (a stable sort's order), found by partial selection, not by sorting every score."""
    if n <= 0:
        return []
    found = np.flatnonzero(scores > 0)
    values = scores[found]
    if len(found) > n:
        nth = values[np.argpartition(-values, n - 1)[:n]].min()
        above = np.flatnonzero(values > nth)
        ties = np.flatnonzero(values == nth)[: n - len(above)]
        keep = np.sort(np.concatenate([above, ties]))
        found, values = found[keep], values[keep]
    order = np.lexsort((found, -values))
    return [(int(i), float(s)) for i, s in zip(found[order], values[order])]


class IndicatorNames:
    """Indicator row names behind an inverted index of their bigrams: a question is scored only
    against the rows sharing a bigram with it ("婴儿死亡率目标" reaches 婴儿死亡率（‰）, not 婚前医学检查率)."""

    def __init__(self, rows: list[Chunk], weight: Callable[[str], float]) -> None:
        self.rows = rows
        self.weight = weight
        self.cores = [_core(row_name(c)) for c in rows]
        postings: dict[str, list[int]] = {}
        self.totals = np.zeros(len(rows))
        for r, core in enumerate(self.cores):
            grams = sorted(char_bigrams(core))  # sorted: the same name sums to the same float in every row
            self.totals[r] = sum(weight(g) for g in grams)
            for g in grams:
                postings.setdefault(g, []).append(r)
        self.postings = {g: np.array(rs) for g, rs in postings.items()}

    def shares(self, grams: set[str]) -> tuple[np.ndarray, np.ndarray]:
        """(rows, share): the rows whose name shares a bigram with `grams`, in row order, and the
        IDF-weighted share of each name's bigrams found."""
        found = np.zeros(len(self.rows))
        for g in sorted(grams & self.postings.keys()):
            found[self.postings[g]] += self.weight(g)
        rows = np.flatnonzero(found)
        return rows, found[rows] / self.totals[rows]


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
        self.indicators = [c for c in chunks if c.kind == "indicator"]
        self._names = IndicatorNames(self.indicators, self.weight)
        self._plan_of = np.array([c.plan for c in chunks], dtype=str)
        self._doc_of = np.array([c.doc for c in chunks], dtype=str)
        self._masks: dict[tuple, np.ndarray] = {}

    def weight(self, gram: str) -> float:
        return self.idf.get(gram, self._max_idf)

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
        scope = {"docs": docs} if docs else {}  # an index without a doc filter still serves unfiltered queries
        return self.index.search_vector(vector or self.embedder.embed_query(query), n, plans=plans, **scope)

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
            if plans:
                mask &= np.isin(self._plan_of, list(plans))
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
