"""The Assistant: corpus + index + retriever + answerer behind one `ask()`."""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import replace

from assistant.compose import Toolkit
from assistant.config import Settings
from assistant.corpus import plan_filter
from assistant.corpusdir import read_corpus, reading_corpus
from assistant.dialogue import may_lean, resolve
from assistant.embeddings import Embedder, get_embedder
from assistant.errors import IndexStateError, InputError
from assistant.index import ChromaIndex, open_index
from assistant.indexing import build
from assistant.limits import OverBudget, check_deadline, within
from assistant.llm import OpenAIChatAnswerer  # [ISSUE 5] imports no langchain_openai by itself
from assistant.query import Query, embedding_text, normalize, parse_query
from assistant.retrieve import Retriever
from assistant.router import Router, joined
from assistant.sentences import name_vectors, sentence_store, sentence_vectors
from assistant.targets import NameIndex
from assistant.thresholds import MAX_REPLAY, MAX_REPLAY_CHARS
from assistant.types import Answer, DialogueState, Hit, Intent

log = logging.getLogger(__name__)
POOL = 30  # fused hits the strategies see (the answer shows top_k of them)


def clean_question(question: object, max_chars: int) -> str:
    """A usable question, or an InputError with a message a user understands (in Chinese)."""
    if not isinstance(question, str):
        raise InputError("问题必须是文本。")
    text = "".join(ch for ch in question if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        raise InputError("问题是空的，请输入要查询的内容。")
    if len(text) > max_chars:
        raise InputError(f"问题太长（{len(text)}字），请控制在{max_chars}字以内。")
    if not re.search(r"[\u4e00-\u9fffA-Za-z0-9]", text):
        raise InputError("没有看懂这个问题，请用文字描述要查询的内容。")
    return text


class Assistant:
    """Ask questions about the plans; every answer cites the plan text exactly."""

    def __init__(self, settings: Settings | None = None, *, auto_build: bool = True,
                 progress: Callable[[str, int, int], None] | None = None) -> None:
        self.settings = settings or Settings.from_env()
        # An ingest that starts meanwhile waits until this index is open, so the index opened is the
        # one of the corpus loaded (reading_corpus also rolls back an ingest that was killed).
        with reading_corpus(self.settings):
            self.corpus = read_corpus(self.settings)
            if auto_build:
                build(self.settings, progress=progress, corpus=self.corpus)
            # the build's chunks and keyword index: nothing is chunked or tokenized here
            self.index: ChromaIndex = open_index(self.settings, corpus=self.corpus)
        self.chunks = self.index.chunks
        if self.index.manifest.get("corpus_sha256") != self.corpus.sha256:
            raise IndexStateError("the index was built from another version of the corpus; "
                                  "run `python -m assistant build`")
        self.embedder: Embedder = get_embedder(self.settings)
        self.retriever = Retriever(self.index.chunks, self.index, self.embedder, rrf_k=self.settings.rrf_k,
                                   candidates=self.settings.candidates, keywords=self.index.keywords)
        sentences = sentence_vectors(self.corpus, self.index.chunks, self.embedder,
                                     sentence_store(self.settings, self.embedder.id),
                                     progress=(lambda d, t: progress("sentences", d, t)) if progress else None)
        names = NameIndex(self.embedder, self.retriever.indicators,
                          name_vectors(self.index.chunks, self.embedder, self.settings))
        self.kit = Toolkit(self.corpus, self.retriever, names, sentences)
        self.router = Router(self.kit)
        # [ISSUE 5] optional LLM answers: None without a base URL (no network, no langchain_openai).
        self.llm: OpenAIChatAnswerer | None = None
        if self.settings.llm_base_url:
            self.llm = OpenAIChatAnswerer(self.settings, self.corpus, self.index.chunks)

    # ---- questions ---------------------------------------------------------------------------

    def retrieve(self, question: str, plan: str | None = None, k: int | None = None,
                 doc: str | None = None) -> list[Hit]:
        """Top hits for a question, optionally within one plan or one document."""
        k = k or self.settings.top_k
        plans = plan_filter(plan, self.kit.plan_by_key)
        return self.retriever.retrieve(normalize(question), k, plans, docs=self._docs(doc))

    def ask(self, question: str, history: list | None = None, plan: str | None = None,
            doc: str | None = None) -> Answer:
        """Answer a question (resolving follow-ups against `history`) with exact citations; `doc` limits the search.

        The extractive work runs within settings.request_budget seconds (OverBudget past it); a
        model's rewrite has its own deadline (settings.llm_timeout)."""
        with within(self.settings.request_budget):
            answer = self._ask_extractive(question, history, plan, doc)
        # [ISSUE 5] a configured model rewrites the answer; a failed grounding check keeps the extractive one.
        return self.llm.rewrite(answer) if self.llm else answer

    # [ISSUE 5] streaming for the app: partial texts (checked sentences), then the final Answer.
    def ask_stream(self, question: str, history: list | None = None,
                   plan: str | None = None, doc: str | None = None) -> Iterator[str | Answer]:
        """Yield partial answer texts while the model writes, then the final Answer (extractive: just it)."""
        with within(self.settings.request_budget):  # no yield inside: the deadline stays in this thread
            answer = self._ask_extractive(question, history, plan, doc)
        if self.llm is None:
            yield answer
        else:
            yield from self.llm.stream(answer)

    def _ask_extractive(self, question: str, history: list | None, plan: str | None,
                        doc: str | None = None) -> Answer:
        q = clean_question(question, self.settings.max_question_chars)
        if history and len(history) > self.settings.max_history_turns:
            raise InputError(f"这段对话已超过{self.settings.max_history_turns}轮，请开始新的对话再提问。")
        docs = self._docs(doc)  # [ISSUE 6] an unknown document is an InputError before any work
        plans = plan_filter(plan, self.kit.plan_by_key)
        turns = self._history(history or [], plans, docs)
        check_deadline()
        state = next((t.state for t in reversed(turns) if t.state is not None), None)
        query = resolve(parse_query(q, self.kit.plan_names, plans, docs, known=self.retriever.words,
                                       title_words=self.kit.title_words), state)
        if self.llm and self.settings.llm_condense:  # the model may condense a follow-up (off by default)
            query = self.llm.condense(q, turns, query)
        return self._answer(query, state)

    def _answer(self, query: Query, state: DialogueState | None) -> Answer:
        """The answer to the query; separate things asked in one breath ("老公打老婆 家长打孩子 规划里有啥
        说法") are each answered on their own when the whole question's answer leaves one out."""
        answer = self._answer_one(query, state)
        if len(query.parts) < 2 or query.followup:
            return answer
        plans, docs = list(query.plans or ()) or None, list(query.docs or ()) or None
        parts = [self._answer_one(parse_query(part, self.kit.plan_names, plans, docs,
                                              known=self.retriever.words, title_words=self.kit.title_words), None)
                 for part in query.parts]
        return joined(answer, parts)

    def _answer_one(self, query: Query, state: DialogueState | None) -> Answer:
        """Retrieve once for the resolved query, then route it to a strategy and the refusal step."""
        plans = list(query.plans) if query.plans else None
        docs = list(query.docs) if query.docs else None
        text = query.quote if query.intent == Intent.QUOTE and query.quote else query.text
        # once: dense retrieval and name matching share it; a long text by its distinct content only
        vector = self.embedder.embed_query(embedding_text(text))
        query = replace(query, vector=tuple(vector))
        hits = self.retriever.retrieve(text, max(self.settings.top_k, POOL), plans, docs=docs, vector=vector)
        if query.item and query.item in self.index.by_id:  # "第二个": that item first
            item = self.index.by_id[query.item]
            hits = [Hit(item, 1.0, dense=1.0)] + [h for h in hits if h.chunk.id != item.id]
        return self.router.answer(query, state, hits, self.settings.top_k)

    def check_quote(self, passage: str, doc: str | None = None) -> Answer:
        """Is this passage in the plan? exact / differs (and where) / not found (within settings.request_budget)."""
        passage = clean_question(passage, self.settings.max_question_chars)
        docs = self._docs(doc)
        with within(self.settings.request_budget):
            query = replace(parse_query(passage, self.kit.plan_names, docs=docs), intent=Intent.QUOTE,
                            quote=passage)
            return self._answer(query, None)

    # [ISSUE 6] documents to search: None = all; an unknown id is the user's mistake, said clearly.
    def _docs(self, doc: str | None) -> list[str] | None:
        if not doc or doc in ("all", "全部"):
            return None
        if not isinstance(doc, str) or doc not in self.corpus.documents:
            raise InputError(f"没有文档“{doc}”；可选：{'、'.join(sorted(self.corpus.documents))}")
        return [doc]

    def _history(self, history: list, plans: list[str] | None, docs: list[str] | None) -> list[Answer]:
        """History as Answers. Plain strings (earlier user messages) are answered again, but only back to
        the last self-contained question, at most MAX_REPLAY of them and MAX_REPLAY_CHARS characters
        in all: the state needs no more, and each one replayed is a question answered again."""
        answers = [h for h in history if isinstance(h, Answer)]
        if len(answers) == len(history):
            return answers
        strings = [h for h in history if isinstance(h, str) and h.strip()][-self.settings.max_history_turns:]
        replay: list[str] = []
        chars = 0
        for text in reversed(strings):
            chars += len(text)
            if chars > MAX_REPLAY_CHARS:
                break
            replay.insert(0, text)
            try:
                parsed = parse_query(clean_question(text, self.settings.max_question_chars), self.kit.plan_names,
                                     title_words=self.kit.title_words)
            except InputError:
                continue
            if len(replay) >= MAX_REPLAY or not may_lean(parsed):
                break
        turns: list[Answer] = []
        for text in replay:
            check_deadline()
            try:
                turns.append(self._ask_extractive(text, turns, plans and list(plans), docs and docs[0]))
            except OverBudget:
                raise
            except InputError:
                continue
        return turns
