"""Building the index from the corpus: parse, chunk, embed, keyword-index, write aside, make live. [I/O]

What a build computes is stored with the index (the chunks and the keyword index beside the
vectors; the sentence and indicator-name vectors in their caches), so a process that opens a
current index parses the corpus's structure but chunks, tokenizes and embeds nothing. core,
ingest and the CLI all build through `build`.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

from assistant.chunking import CHUNKER_VERSION, chunk_document
from assistant.config import Settings
from assistant.corpus import Corpus
from assistant.corpusdir import read_corpus
from assistant.embeddings import get_embedder
from assistant.index import (
    LiveBuild,
    build_index,
    cached_vectors,
    embed_chunks,
    expected_manifest,
    index_store,
    is_current,
    live_manifest,
    writer_lock,
)
from assistant.keywords import KeywordIndex
from assistant.sentences import name_vectors, sentence_store, sentence_vectors
from assistant.types import Chunk, Document

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]


def chunk_corpus(corpus: Corpus, settings: Settings) -> list[Chunk]:
    """Every document's chunks, documents in corpus order."""
    return [c for d in corpus.documents.values() for c in chunk_document(d, settings.chunk_max_tokens)]


def document_key(document: Document, max_tokens: int) -> str:
    """What a document's chunks are a function of: its parse (text, plans, headings, rows: all of
    the Document), the chunker's version and the token budget. Equal keys, equal chunks."""
    h = hashlib.sha256(f"{CHUNKER_VERSION}\0{max_tokens}\0{document.doc}\0{document.sha256}\0".encode())
    h.update(repr((document.plans, document.front)).encode())
    return h.hexdigest()


def chunk_reusing(corpus: Corpus, settings: Settings, live: LiveBuild | None) -> tuple[list[Chunk], dict[str, str]]:
    """chunk_corpus, taking the live build's chunks of each document whose parse key is unchanged;
    also each document's key (stored with the build, for the next one)."""
    keys = {doc: document_key(d, settings.chunk_max_tokens) for doc, d in corpus.documents.items()}
    before: dict[str, list[Chunk]] = {}
    if live is not None:
        for c in live.chunks:
            before.setdefault(c.doc, []).append(c)
    chunks: list[Chunk] = []
    for doc, d in corpus.documents.items():
        same = live is not None and live.documents.get(doc) == keys[doc] and doc in before
        chunks += before[doc] if same else chunk_document(d, settings.chunk_max_tokens)
    return chunks, keys


def load_chunks(settings: Settings) -> tuple[Corpus, list[Chunk]]:
    """Parse the corpus and chunk it (no index); an unfinished ingest is waited for or rolled back first."""
    corpus = read_corpus(settings)
    return corpus, chunk_corpus(corpus, settings)


def build(settings: Settings, force: bool = False, progress: Progress | None = None,
          corpus: Corpus | None = None) -> bool:
    """Build the index if the corpus, chunker or embedder changed; True when it built.

    `corpus`: the corpus already read (the caller holds it under reading_corpus); it is chunked
    only when a build is needed."""
    corpus = corpus if corpus is not None else read_corpus(settings)
    embedder = get_embedder(settings)
    manifest = expected_manifest(corpus.sha256, CHUNKER_VERSION, embedder.id, settings)
    if not force and is_current(live_manifest(settings), manifest):  # [ISSUE 6] index_dir or Chroma server
        return False
    # Processes that find the index stale at once (eight `ask`s after an ingest) build one after
    # another: under the lock, each one checks again and finds the build of the one before it.
    with writer_lock(settings):
        if not force and is_current(live_manifest(settings), manifest):
            log.info("another process built this index meanwhile")
            return False
        # [ISSUE 12] reuse what did not change: chunks of unchanged documents, terms, vectors, Chroma files
        live = None if force else index_store(settings).reusable()
        chunks, documents = chunk_reusing(corpus, settings, live)
        log.info("building index: %d chunks with %s", len(chunks), embedder.id)
        report = (lambda d, t: progress("embedding", d, t)) if progress else None
        cached = {} if force else (live.vectors if live is not None else cached_vectors(settings))
        vectors = embed_chunks(embedder, chunks, progress=report, cached=cached)  # [ISSUE 6] only new texts
        keywords = KeywordIndex.build(chunks, known=live.terms if live is not None else None)
        build_index(settings, chunks, vectors, manifest, keywords=keywords, documents=documents, base=live)
        # the sentences' and the indicator names' vectors too, so that the first start embeds nothing
        sentence_vectors(corpus, chunks, embedder, sentence_store(settings, embedder.id),
                         progress=(lambda d, t: progress("sentences", d, t)) if progress else None, persist=True)
        name_vectors(chunks, embedder, settings, persist=True)
    return True
