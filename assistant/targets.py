"""Target resolution by meaning: indicator names embedded once, matched to a question's vector.

A citizen says "女的平均能活多少岁" for 妇女人均预期寿命: few of the name's characters are asked,
but the multilingual embedder places the two close. The names are short and each distinct name is
embedded once, so this takes well under a second at start-up; the vectors are kept per embedder and corpus.
"""

from __future__ import annotations

import numpy as np

from assistant.embeddings import Embedder
from assistant.types import Chunk


class NameIndex:
    """Unit vectors of indicator names (e5 "query:" side, like the question: both are short asks)."""

    def __init__(self, embedder: Embedder, rows: list[Chunk], vectors: dict[str, np.ndarray] | None = None) -> None:
        """`vectors`: unit vectors by name (sentences.name_vectors, cached with the index); else embedded here."""
        self.rows = rows
        self.names = [row_name(c) for c in rows]
        self._last: tuple[tuple[float, ...], dict[str, float]] | None = None  # the last vector's cosines
        if rows:
            if vectors is None:
                # Each distinct name once: plans of one template repeat their names (100 cities' plans,
                # 40 names), and a name's vector does not depend on the batch it is embedded in.
                distinct = list(dict.fromkeys(self.names))
                found = np.asarray(embedder.embed_batch(distinct, "query"), dtype=np.float32)
                found = found / np.maximum(np.linalg.norm(found, axis=1, keepdims=True), 1e-9)
                vectors = dict(zip(distinct, found))
            self.vectors = np.stack([vectors[name] for name in self.names]).astype(np.float32)
        else:
            self.vectors = np.zeros((0, 1), dtype=np.float32)

    def similarities(self, vector: list[float] | None) -> dict[str, float]:
        """Cosine of the question to every name, by chunk id; empty without a vector. The last
        question's are kept: its strategies ask for them several times."""
        if vector is None or not self.rows:
            return {}
        key = tuple(vector)
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        q = np.asarray(vector, dtype=np.float32)
        q = q / max(float(np.linalg.norm(q)), 1e-9)
        sims = self.vectors @ q
        found = {c.id: float(s) for c, s in zip(self.rows, sims.tolist())}
        self._last = (key, found)
        return found


def row_name(chunk: Chunk) -> str:
    """The indicator name of a table-row chunk: "婚前医学检查率（％）"."""
    return chunk.section.rsplit(" > ", 1)[-1].split("．", 1)[-1]
