"""Baseline systems for the evaluation: plain retrieval, top chunk as the answer.

They answer with the Answer type of the assistant, so the harness scores them the same way:
    naive  fixed 500-char windows (50 overlap) over the corpus text, dense retrieval only
    bm25   BM25 only, over the assistant's chunks
    dense  dense retrieval only, over the assistant's chunks (the assistant's own vectors)
None of them refuses, resolves a follow-up or checks a quotation.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.corpus import Corpus
from assistant.index import ChromaIndex, build_index, embed_chunks, expected_manifest, open_index
from assistant.types import Answer, Chunk, Citation, Hit

if TYPE_CHECKING:
    from assistant.core import Assistant

NAIVE_SIZE = 500  # characters per window
NAIVE_OVERLAP = 50
NAIVE_VERSION = f"naive-{NAIVE_SIZE}-{NAIVE_OVERLAP}"

Search = Callable[[str, int], list[tuple[Chunk, float]]]


class TopChunkBaseline:
    """Retrieve, then answer with the top chunk's text and cite the chunk's span."""

    def __init__(self, name: str, search: Search, corpus: Corpus, k: int = 10) -> None:
        self.name = name
        self.search = search
        self.corpus = corpus
        self.k = k

    def ask(self, question: str) -> Answer:
        """The top chunk as the answer; answerable whenever anything was retrieved."""
        hits = [Hit(chunk, score) for chunk, score in self.search(question, self.k)]
        if not hits:
            return Answer(question, "", False, [], [], kind="baseline")
        top = hits[0].chunk
        cite = Citation(plan=top.plan_name, section=top.section, quote=self.corpus.quote(top.doc, top.start, top.end),
                        start=top.start, end=top.end, doc=top.doc)
        return Answer(question, top.text, True, [cite], hits, kind="baseline")


def naive_chunks(corpus: Corpus, size: int = NAIVE_SIZE, overlap: int = NAIVE_OVERLAP) -> list[Chunk]:
    """Fixed-size character windows over each document, blind to structure."""
    chunks = []
    for doc in corpus.documents.values():
        text = doc.text
        for n, start in enumerate(range(0, max(len(text) - overlap, 1), size - overlap)):
            end = min(start + size, len(text))
            chunks.append(Chunk(id=f"{doc.doc}/naive/{n}", doc=doc.doc, plan="", plan_name="", kind="naive",
                                section=f"第{start}-{end}字", item="", start=start, end=end,
                                text=text[start:end], embed_text=text[start:end]))
    return chunks


def build_naive_index(assistant: Assistant, workdir: Path) -> ChromaIndex:
    """Embed the naive windows with the assistant's embedder into a private index under workdir."""
    settings = assistant.settings.with_(index_dir=str(workdir / "naive-index"))
    chunks = naive_chunks(assistant.corpus)
    manifest = expected_manifest(assistant.corpus.sha256, NAIVE_VERSION, assistant.embedder.id, settings)
    build_index(settings, chunks, embed_chunks(assistant.embedder, chunks), manifest)
    return open_index(settings, assistant.corpus)


def naive_baseline(assistant: Assistant, workdir: Path) -> TopChunkBaseline:
    """Naive windows + dense retrieval."""
    index = build_naive_index(assistant, workdir)
    embed = assistant.embedder.embed_query
    return TopChunkBaseline("naive", lambda q, n: index.search_vector(embed(q), n), assistant.corpus,
                            assistant.settings.top_k)


def bm25_baseline(assistant: Assistant, workdir: Path) -> TopChunkBaseline:
    """The assistant's chunks, BM25 only."""
    return TopChunkBaseline("bm25", assistant.retriever.search_text, assistant.corpus, assistant.settings.top_k)


def dense_baseline(assistant: Assistant, workdir: Path) -> TopChunkBaseline:
    """The assistant's chunks and vectors, dense only."""
    return TopChunkBaseline("dense", assistant.retriever.search_vector, assistant.corpus, assistant.settings.top_k)


BASELINES: dict[str, Callable[[Assistant, Path], TopChunkBaseline]] = {
    "naive": naive_baseline,
    "bm25": bm25_baseline,
    "dense": dense_baseline,
}

DESCRIPTIONS: dict[str, str] = {
    "ours": "the assistant: hybrid retrieval, extractive answer, refusal, follow-ups, quotation check",
    "naive": f"fixed {NAIVE_SIZE}-char windows ({NAIVE_OVERLAP} overlap), dense only, top window as the answer",
    "bm25": "the assistant's chunks, BM25 only, top chunk as the answer",
    "dense": "the assistant's chunks, dense only (same vectors), top chunk as the answer",
}


def make_baselines(assistant: Assistant, workdir: Path) -> dict[str, TopChunkBaseline]:
    """Every baseline, ready to ask, sharing the assistant's corpus and embedder."""
    return {name: make(assistant, workdir) for name, make in BASELINES.items()}
