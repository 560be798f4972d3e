"""The Assistant: corpus + index + retriever + answerer behind one `ask()`."""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Iterator

from assistant.answer import ASKS_LIST, ASKS_MEASURES, ASKS_VALUE, COVERAGE_MIN, Answerer, plan_free
from assistant.chunking import CHUNKER_VERSION, chunk_document
from assistant.config import Settings
from assistant.conversation import Resolved, resolve
from assistant.corpus import Corpus, load_corpus
from assistant.embeddings import Embedder, get_embedder
from assistant.errors import IndexStateError, InputError
from assistant.index import (
    ChromaIndex,
    build_index,
    cached_vectors,
    embed_chunks,
    expected_manifest,
    is_current,
    live_manifest,
    open_index,
)
from assistant.llm import OpenAIChatAnswerer  # [ISSUE 5] imports no langchain_openai by itself
from assistant.quotes import check_quote, extract_quote
from assistant.retrieve import Retriever
from assistant.structure import section_path
from assistant.text import char_bigrams, normalize_question
from assistant.types import Answer, Chunk, Citation, Hit

log = logging.getLogger(__name__)
PLAN_KEYS = {"women": "women", "children": "children", "妇女": "women", "儿童": "children",
             "妇女规划": "women", "儿童规划": "children"}
VERDICT = {"exact": "原文一致", "differs": "与原文不一致", "not_found": "未找到"}


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


def load_chunks(settings: Settings) -> tuple[Corpus, list[Chunk]]:
    """Parse the corpus and chunk it (pure work, no index)."""
    corpus = load_corpus(settings.corpus_dir)
    chunks = [c for d in corpus.documents.values() for c in chunk_document(d, settings.chunk_max_tokens)]
    return corpus, chunks


def build(settings: Settings, force: bool = False, progress: Callable[[str, int, int], None] | None = None,
          prepared: tuple[Corpus, list[Chunk]] | None = None) -> bool:
    """Build the index if the corpus, chunker or embedder changed; True when it built."""
    corpus, chunks = prepared or load_chunks(settings)
    embedder = get_embedder(settings)
    manifest = expected_manifest(corpus.sha256, CHUNKER_VERSION, embedder.id, settings)
    if not force and is_current(live_manifest(settings), manifest):  # [ISSUE 6] index_dir or Chroma server
        return False
    log.info("building index: %d chunks with %s", len(chunks), embedder.id)
    report = (lambda d, t: progress("embedding", d, t)) if progress else None
    cached = {} if force else cached_vectors(settings)  # [ISSUE 6] embed only new or changed chunks
    build_index(settings, chunks, embed_chunks(embedder, chunks, progress=report, cached=cached), manifest)
    return True


class Assistant:
    """Ask questions about the plans; every answer cites the plan text exactly."""

    def __init__(self, settings: Settings | None = None, *, auto_build: bool = True,
                 progress: Callable[[str, int, int], None] | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self.corpus, self.chunks = load_chunks(self.settings)
        if auto_build:
            build(self.settings, progress=progress, prepared=(self.corpus, self.chunks))
        self.index: ChromaIndex = open_index(self.settings, prepared=(self.corpus, self.chunks))  # server mode: no second parse
        if self.index.manifest.get("corpus_sha256") != self.corpus.sha256:
            raise IndexStateError("the index was built from another version of the corpus; "
                                  "run `python -m assistant build`")
        self.embedder: Embedder = get_embedder(self.settings)
        self.retriever = Retriever(self.index.chunks, self.index, self.embedder,
                                   rrf_k=self.settings.rrf_k, candidates=self.settings.candidates)
        self.answerer = Answerer(self.corpus, self.retriever)
        # [ISSUE 5] optional LLM answers: None without a base URL (no network, no langchain_openai).
        self.llm: OpenAIChatAnswerer | None = None
        if self.settings.llm_base_url:
            self.llm = OpenAIChatAnswerer(self.settings, self.corpus, self.index.chunks)

    # ---- questions ---------------------------------------------------------------------------

    def retrieve(self, question: str, plan: str | None = None, k: int | None = None,
                 doc: str | None = None) -> list[Hit]:
        """Top hits for a question, optionally within one plan or one document."""
        return self.retriever.retrieve(question, k or self.settings.top_k, _plans(plan), docs=self._docs(doc))

    def ask(self, question: str, history: list | None = None, plan: str | None = None,
            doc: str | None = None) -> Answer:
        """Answer a question (resolving follow-ups against `history`) with exact citations; `doc` limits the search."""
        answer = self._ask_extractive(question, history, plan, doc)
        # [ISSUE 5] a configured model rewrites the answer; a failed grounding check keeps the extractive one.
        return self.llm.rewrite(answer) if self.llm else answer

    # [ISSUE 5] streaming for the app: partial texts (checked sentences), then the final Answer.
    def ask_stream(self, question: str, history: list | None = None,
                   plan: str | None = None, doc: str | None = None) -> Iterator[str | Answer]:
        """Yield partial answer texts while the model writes, then the final Answer (extractive: just it)."""
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
        turns = self._history(history or [], plan, doc)
        resolved = resolve(q, turns, _plans(plan))
        if self.llm:  # [ISSUE 5] the model may condense a follow-up; the rule-based resolution is the fallback
            resolved = self.llm.condense(q, turns, resolved)
        resolved.docs = docs
        answer = self._answer(q, resolved)
        answer.question = q  # what the user typed; the resolved form is kept beside it
        answer.resolved_question = resolved.question
        return answer

    def check_quote(self, passage: str, doc: str | None = None) -> Answer:
        """Is this passage in the plan? exact / differs (and where) / not found."""
        passage = clean_question(passage, self.settings.max_question_chars)
        return self._quote_answer(passage, passage, self._docs(doc))

    # [ISSUE 6] documents to search: None = all; an unknown id is the user's mistake, said clearly.
    def _docs(self, doc: str | None) -> list[str] | None:
        if not doc or doc in ("all", "全部"):
            return None
        if not isinstance(doc, str) or doc not in self.corpus.documents:
            raise InputError(f"没有文档“{doc}”；可选：{'、'.join(sorted(self.corpus.documents))}")
        return [doc]

    def _history(self, history: list, plan: str | None, doc: str | None = None) -> list[Answer]:
        """History as Answers; plain strings (earlier user messages) are answered again."""
        turns: list[Answer] = []
        for item in history:
            if isinstance(item, Answer):
                turns.append(item)
            elif isinstance(item, str) and item.strip():
                try:
                    turns.append(self._ask_extractive(item, turns, plan, doc))  # no model calls for replayed turns
                except InputError:
                    continue
        return turns

    def _answer(self, q: str, r: Resolved) -> Answer:
        a = self.answerer
        quote = extract_quote(q)
        if quote and not r.followup:
            return self._quote_answer(q, quote, r.docs)
        if r.item:
            chunk = self.index.by_id[r.item]
            return a.detail_answer(q, chunk, [Hit(chunk, 1.0)])
        if r.plans is None:
            r.plans = named_plans(q, self.answerer.plan_names)
        hits = self.retriever.retrieve(r.question, self.settings.top_k, r.plans, docs=r.docs)
        indicators = self._indicators(r)
        if r.indicators and not indicators:
            names = "、".join(f"“{self.index.by_id[i].section.rsplit('．', 1)[-1]}”" for i in r.indicators
                             if i in self.index.by_id)
            plan_name = "、".join(self.answerer.plan_names.get(p, p) for p in r.plans or [])
            return a.refuse(q, hits, f"{plan_name}的重点指标目标表中没有{names}这一指标。")
        if indicators and not ASKS_MEASURES.search(q):
            answer = a.indicator_answer(q, indicators, hits, r.year)
        elif (hits and hits[0].chunk.kind == "indicator" and ASKS_VALUE.search(q) and not ASKS_MEASURES.search(q)
              and re.search(r"[\u4e00-\u9fff]", q)):  # an English question has no wording of its own to check
            # Not named outright ("托儿所位置" for 托位数) but the best hit is a table row:
            # answer from it, and let the evidence check judge the match.
            answer = a.indicator_answer(q, [hits[0].chunk], hits, r.year, named=False)
        else:
            answer = self._text_answer(r.question, hits, r.plans, r.docs)
        ok, why = a.evidence_ok(r.question, answer)
        return answer if ok else a.refuse(q, hits, why)

    def _indicators(self, r: Resolved) -> list[Chunk]:
        if r.indicators:
            chunks = [self.index.by_id[i] for i in r.indicators if i in self.index.by_id]
            if r.plans and not any(c.plan in r.plans for c in chunks):
                # "那儿童规划呢？": the same indicator in the other plan's table, if it has one.
                # Plan words are dropped: 建立妇女活动中心的… matches 建立儿童活动中心的….
                names = re.sub(r"妇女|女性|女生|儿童|未成年人", "", " ".join(c.section.rsplit("．", 1)[-1] for c in chunks))
                return [m.chunk for m in self.retriever.match_indicators(names, r.plans, self.answerer.key_terms(names),
                                                                         docs=r.docs)]
            return chunks
        q = normalize_question(r.question)
        return [m.chunk for m in self.retriever.match_indicators(q, r.plans, self.answerer.key_terms(q), docs=r.docs)]

    def _text_answer(self, q: str, hits: list[Hit], plans: list[str] | None, docs: list[str] | None = None) -> Answer:
        a = self.answerer
        if ASKS_MEASURES.search(q) or ASKS_LIST.search(q):
            listed = self._heading_list(q, plans, docs)
            if listed is not None:
                return listed
        if ASKS_MEASURES.search(q):
            grams = a.key_grams(q)
            # Items (or projects) that are about the question's topic, best first.
            relevant = [h.chunk for h in hits[:6] if h.chunk.kind != "indicator"
                        and a.coverage(grams, h.chunk.text + h.chunk.section) >= COVERAGE_MIN]
            if len(relevant) >= 2:
                return a.list_answer(q, "规划中的相关任务和措施：", relevant[:3], hits)
        return a.sentence_answer(q, hits)

    def _heading_list(self, q: str, plans: list[str] | None, docs: list[str] | None = None) -> Answer | None:
        """"妇女与健康领域有哪些任务": every item under the section (or part) the question names."""
        grams = char_bigrams(normalize_question(q))
        found = []  # (plan, heads, node) whose whole title is in the question, best per plan
        for doc in self.corpus.documents.values():
            for plan in doc.plans if not docs or doc.doc in docs else []:
                if plans and plan.key not in plans:
                    continue
                named = [(len(n.title), heads, n) for part in plan.parts
                         for heads, n in [((part,), part)] + [((part, sec), sec) for sec in part.children]
                         if n.children and char_bigrams(n.title) and char_bigrams(n.title) <= grams]
                if named:
                    found.append((doc, plan, *max(named, key=lambda x: x[0])[1:]))
        if not found:
            return None
        if len(found) > 1 and not plan_free(q):
            named = [f for f in found if f[1].name[:2] in q] or found[:1]
            found = named[:1]
        items: list[Chunk] = []
        for doc, plan, heads, node in found:
            seen = set()
            for c in self.index.chunks:
                if (c.doc == doc.doc and c.kind != "indicator" and node.start <= c.start < node.end
                        and c.section != section_path(plan, *heads) and c.section not in seen):
                    seen.add(c.section)
                    items.append(c)
        if not items:
            return None
        names = "；".join(f"{plan.name} > {' > '.join(h.heading for h in heads)}" for _, plan, heads, _ in found)
        title = f"{names} 共{len(items)}项："
        return self.answerer.list_answer(q, title, items, [Hit(c, 1.0) for c in items], detail=False, limit=30)

    def _quote_answer(self, q: str, quote: str, docs: list[str] | None = None) -> Answer:
        corpus = Corpus({d: self.corpus.documents[d] for d in docs}) if docs else self.corpus
        check = check_quote(corpus, quote)
        hits = self.retriever.retrieve(quote, self.settings.top_k, docs=docs)
        verdict = VERDICT[check.verdict]
        if check.verdict == "not_found":
            return Answer(q, f"{verdict}：规划中没有找到这段话或相近的表述。", True, [], hits, kind="quote_check",
                          context={"quote_check": check.verdict})
        chunk = self._chunk_at(check.doc, check.start)
        text = self.corpus.text(check.doc)
        cite = Citation(plan=chunk.plan_name if chunk else "", section=chunk.section if chunk else "",
                        quote=text[check.start:check.end], start=check.start, end=check.end, doc=check.doc)
        where = cite.section or "规划"
        if check.verdict == "exact":
            msg = f"{verdict}：规划原文确有这段话，见{where}[1]。"
        else:
            diffs = "；".join(f"“{qd or '（无）'}”原文为“{sd or '（无）'}”" for qd, sd in check.diffs[:5])
            msg = f"{verdict}：原文是“{cite.quote}”[1]（{where}）。差异：{diffs}。"
        return Answer(q, msg, True, [cite], hits, kind="quote_check",
                      context={"quote_check": check.verdict, "diffs": check.diffs})

    def _chunk_at(self, doc: str, offset: int) -> Chunk | None:
        for c in self.index.chunks:
            if c.doc == doc and c.kind != "indicator" and c.start <= offset < c.end:
                return c
        return next((c for c in self.index.chunks if c.doc == doc and c.start <= offset < c.end), None)


def named_plans(question: str, plan_names: dict[str, str]) -> list[str] | None:
    """["children"] when the question names exactly one plan ("儿童规划里…"), else None."""
    named = [key for key, name in plan_names.items() if name in question or name.replace("规划", "发展规划") in question]
    return named if len(named) == 1 else None


def _plans(plan: object) -> list[str] | None:
    """Plan filter keys from a name ("women", "儿童规划") or a list of names; None = every plan."""
    if plan is None or (isinstance(plan, str) and plan in ("", "all", "全部")):
        return None
    names = [plan] if isinstance(plan, str) else list(plan) if isinstance(plan, list | tuple) else None
    if not names or not all(isinstance(p, str) and p for p in names):
        raise InputError("plan 只能是规划的名称，例如 women / children（妇女规划 / 儿童规划）。")
    return [PLAN_KEYS.get(p, p) for p in names]
