"""BM25 over jieba terms as a sparse chunk-by-term matrix: built once with the index, saved with it.

A question reads only the postings of its own distinct terms, and the best chunks are picked by
partial selection, so the work of a question does not grow with the corpus or with its length.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.text import char_bigrams, search_terms
from assistant.types import Chunk

# BM25Okapi as rank_bm25 has it (the rankings and thresholds were tuned on it): k1, b, and the floor
# of a negative IDF (a term in over half the chunks) at EPSILON x the mean IDF.
K1, B, EPSILON = 1.5, 0.75, 0.25
NO_TERMS = "∅"  # the one term of a chunk that has none, so that every chunk is a row of the matrix
KEYWORDS_VERSION = 1  # bump when search_terms, char_bigrams or the scoring change: stored indexes go stale
ARRAYS = ("data", "indices", "indptr")  # the matrix, as KeywordIndex.save writes it (bm25_<name>.npy)
TERM_ARRAYS = ("terms", "lengths")  # each chunk's terms as columns, in order (bm25_<name>.npy; builds only)


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
                 grams: dict[str, int], n_docs: int, source: str, terms: list[list[str]] | None = None) -> None:
        self.data, self.indices, self.indptr = data, indices, indptr  # CSC: column t = indptr[t]:indptr[t+1]
        self.vocab = vocab  # term -> column
        self.grams = grams  # character bigram -> number of chunks holding it
        self.n_docs = n_docs
        self.source = source  # fingerprint() of the chunks it was built from
        self.terms = terms  # each chunk's terms, when built here (a server build stores them per chunk)

    @classmethod
    def build(cls, chunks: list[Chunk], known: Tokenized | None = None) -> KeywordIndex:
        """Tokenize and index the chunks' embed_text (jieba search terms and character bigrams).

        `known`: what an earlier build tokenized (`load_terms`): its texts are not tokenized again and
        its bigram counts are updated by the texts that came and went, so a build after a small edit
        tokenizes only what changed. The index is the same as a build from scratch."""
        if known is None:
            return cls.from_terms(chunks, [search_terms(c.embed_text) or [NO_TERMS] for c in chunks])
        now = Counter(c.embed_text for c in chunks)
        grams = Counter(known.grams)
        for texts, sign in ((now - known.texts, 1), (known.texts - now, -1)):
            for text, n in texts.items():
                for g in char_bigrams(text):
                    grams[g] += sign * n
        docs = [known.terms.get(c.embed_text) or search_terms(c.embed_text) or [NO_TERMS] for c in chunks]
        return cls.from_terms(chunks, docs, {g: n for g, n in grams.items() if n > 0})

    @classmethod
    def from_terms(cls, chunks: list[Chunk], docs: list[list[str]],
                   grams: dict[str, int] | None = None) -> KeywordIndex:
        """Index the chunks from their terms as `build` tokenized them (stored with a server build).
        `grams`: the chunks' bigram counts, when known (counted here otherwise)."""
        if len(docs) != len(chunks) or not all(docs):
            raise ValueError(f"{len(docs)} term lists for {len(chunks)} chunks, or an empty one")
        if grams is None:
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
        return cls(data, indices.astype(np.int32), indptr, vocab, dict(grams), n, fingerprint(chunks), docs)

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
        if self.terms is not None:  # for the next build (load_terms); serving never reads them
            lengths = np.array([len(doc) for doc in self.terms], dtype=np.int32)
            columns = np.fromiter((self.vocab[t] for doc in self.terms for t in doc), dtype=np.int32,
                                  count=int(lengths.sum()))
            for name, array in zip(TERM_ARRAYS, (columns, lengths)):
                np.save(folder / f"bm25_{name}.npy", array, allow_pickle=False)
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


@dataclass(frozen=True)
class Tokenized:
    """What a build tokenized: each chunk's terms by embed_text, and the bigram counts over the texts
    of its chunks (each text counted once per chunk holding it)."""

    terms: dict[str, list[str]]
    grams: dict[str, int]
    texts: Counter[str]


def load_terms(folder: str | Path, chunks: list[Chunk]) -> Tokenized | None:
    """What the index in `folder` tokenized, `chunks` being the chunks it was built from; None when
    it is missing, stale or holds no terms (the next build tokenizes everything)."""
    folder = Path(folder)
    try:
        meta = json.loads((folder / "keywords.json").read_text(encoding="utf-8"))
        columns, lengths = (np.load(folder / f"bm25_{name}.npy", allow_pickle=False) for name in TERM_ARRAYS)
    except (OSError, ValueError):
        return None
    if (meta.get("version") != KEYWORDS_VERSION or meta.get("source") != fingerprint(chunks)
            or len(lengths) != len(chunks) or int(lengths.sum()) != len(columns)):
        return None
    names = list(meta["vocab"])  # columns in order: vocab is term -> column, first-seen
    if any(meta["vocab"][t] != i for i, t in enumerate(names)):
        return None
    ends = np.cumsum(lengths).tolist()
    terms, start = {}, 0
    for chunk, end in zip(chunks, ends):
        terms[chunk.embed_text] = [names[i] for i in columns[start:end].tolist()]
        start = end
    return Tokenized(terms, meta["grams"], Counter(c.embed_text for c in chunks))


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
