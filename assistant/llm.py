"""Optional LLM answers over any OpenAI-compatible endpoint, checked against the passages they cite.

The extractive answer stays the default and the safety net: the model rewrites it from numbered
passages ([1]..[n]: the extractive citations, then the top retrieved chunks), and its text is shown
only when every number and quoted phrase is in a passage it cites. Anything else — a failed check, a
timeout, an HTTP error, an empty reply — shows the extractive answer and logs why.
`langchain_openai` is imported only when a model is configured.
"""

from __future__ import annotations

import logging
import queue
import re
import string
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from assistant.config import ROOT, Settings
from assistant.corpus import Corpus
from assistant.errors import AssistantError
from assistant.grounding import (
    MARKER,
    Passage,
    StreamCheck,
    addresses_the_model,
    check_grounding,
    cited,
    plain,
    values,
)
from assistant.query import Query, with_text
from assistant.refusal import REFUSAL
from assistant.text import char_bigrams
from assistant.types import Answer, Chunk, Citation, Plan

log = logging.getLogger(__name__)
T = TypeVar("T")

PROMPTS_DIR = ROOT / "prompts"
PROMPT_VARIABLES = {  # file stem -> the variables its template must be given
    "system": {"not_found", "plans"},
    "context": {"passages", "question"},
    "passage": {"number", "source", "text"},
    "condense": {"history", "question"},
}
MAX_CHUNKS = 2  # retrieved chunks given after the extractive citations
CONDENSE_TURNS = 3  # recent turns shown when condensing a follow-up
MAX_CONDENSED = 200  # a condensed question this long or longer is not trusted
NO_KEY = "unused"
THINK = re.compile(r"<think>.*?</think>", re.S)
MAX_TOKENS = 700  # a model reply longer than this is cut by the server (and then too long to show)


class PromptError(AssistantError):
    """A prompt file is missing or rendered without one of its variables."""


class LLMConfigError(AssistantError):
    """The LLM endpoint settings are incomplete or malformed."""


# ---- prompts ------------------------------------------------------------------------------------


# The value an indicator answer states first for each row (the aspect asked): "…“残疾儿童康复救助人数
# （人）”：2025年目标为应救尽救，2020年为514人" -> 应救尽救.
ROW_VALUE = re.compile(r"重点指标“[^”]+”：(?:\d{4}年(?:目标)?为)?(.+?)(?=，\d{4}年|；|\[|。|（与第|$)")


def render(name: str, folder: Path = PROMPTS_DIR, **values: object) -> str:
    """Fill prompts/<name>.txt (`${var}` placeholders); a missing variable raises PromptError."""
    path = folder / f"{name}.txt"
    try:
        template = string.Template(path.read_text(encoding="utf-8").rstrip("\n"))
        return template.substitute({k: str(v) for k, v in values.items()})
    except OSError as exc:
        raise PromptError(f"prompt file {path} cannot be read: {exc}") from exc
    except (KeyError, ValueError) as exc:
        raise PromptError(f"prompt {path.name}: missing or malformed variable {exc}") from exc


def check_prompts(folder: Path = PROMPTS_DIR) -> None:
    """Render every prompt with its variables once, so a broken file fails at startup."""
    for name, variables in PROMPT_VARIABLES.items():
        render(name, folder, **{v: "x" for v in variables})


# ---- passages and the grounding check (pure) ----------------------------------------------------

PERIOD = re.compile(r"((?:19|20)\d{2})\s*[—–\-－~至到]\s*((?:19|20)\d{2})\s*年")
PERIOD_CHARS = 600  # where a plan states its period: its title and the start of its text


def plan_years(plan: Plan, text: str) -> tuple[str, str, str] | None:
    """(base year, first year, last year) of a plan's period ("规划期限为2021—2025年" -> 2020, 2021, 2025),
    from its title and the start of its text; None when it states none."""
    m = PERIOD.search(plain(plan.title)) or PERIOD.search(plain(text[plan.start:plan.start + PERIOD_CHARS]))
    if not m:
        return None
    first, last = m.group(1), m.group(2)
    return str(int(first) - 1), first, last


def squashed(text: str) -> str:
    """Normalised (plain) and without whitespace: how a reply and its passages are compared."""
    return "".join(plain(text).split())


def value_missing(text: str, answer: Answer) -> str:
    """An indicator answer's value that the model's text leaves out ('' when all are there).

    Every number the model writes may be in the passages and still be the wrong one: measured with
    the real local model, "514[1]" (the 2020 value) answered a 2025 target of 应救尽救, and "≥99%"
    the row after "倒数第二个" whose target is 100％. So the model must state the value the
    extractive answer gives first for each row: its numbers, or its words when it has none."""
    if answer.kind != "indicator":
        return ""
    have = {v.number for v in values(plain(MARKER.sub(" ", text)))}
    flat = squashed(text)
    for value in ROW_VALUE.findall(answer.answer):
        numbers = {v.number for v in values(plain(value))}
        words = squashed(value).strip("％")
        if (numbers and not numbers <= have) or (not numbers and words and words not in flat):
            return f"value {value} of the row left out"
    return ""


RESTATED_GRAMS = 3  # a reply must bring at least this many bigrams of its passages that the question lacks


def restates_the_question(text: str, question: str, passages: list[Passage]) -> str:
    """A reply that only says the question again ('' when it brings something from its passages).

    Seen with the real local model: "心理健康这块 要搞啥项目[1][2]" and "问题问的是小孩玩手机打游戏上瘾的
    规划怎么管。[1][2]" pass every number and quote check, and say nothing."""
    source = frozenset().union(*(char_bigrams(squashed(p.evidence)) for p in passages))
    brought = (char_bigrams(squashed(MARKER.sub(" ", text))) - char_bigrams(squashed(question))) & source
    return "" if len(brought) >= RESTATED_GRAMS else "restates the question"


def renumber(text: str, passages: list[Passage]) -> tuple[str, list[Citation]]:
    """Markers renumbered 1..m in order of first use, and the citations they now point to."""
    order = cited(text)
    new = {old: i + 1 for i, old in enumerate(order)}

    def swap(m: re.Match) -> str:
        return "".join(f"[{new[n]}]" for n in cited(m.group(0)))

    return MARKER.sub(swap, text), [passages[n - 1].citation for n in order]


def strip_think(text: str) -> str:
    """The reply without a reasoning model's <think>…</think> block ('' while one is still open)."""
    text = THINK.sub("", text)
    return "" if "<think>" in text else text.strip()


def failure_reason(exc: BaseException) -> str:
    """A short, key-free reason for a failed model call: "timeout", "HTTP 500", "connection error"."""
    status = getattr(exc, "status_code", None)
    names = [k.__name__ for k in type(exc).__mro__]
    if isinstance(status, int):
        return f"HTTP {status}"
    if any("Timeout" in n for n in names):
        return "timeout"
    if any("Connection" in n for n in names):
        return "connection error"
    return type(exc).__name__


def clean_condensed(text: str) -> str:
    """The first line of a condensation reply without labels or quotes ("问题：…" -> "…")."""
    lines = [ln.strip() for ln in strip_think(text).splitlines() if ln.strip()]
    line = lines[0] if lines else ""
    line = re.sub(r"^(?:改写后的问题|独立问题|问题)[：:]\s*", "", line).strip("“”\"'「」 ")
    return "".join(ch for ch in line if ch.isprintable())


def with_note(answer: Answer, note: str) -> Answer:
    """A copy of the answer recording which path produced it in context["llm"]."""
    return replace(answer, context={**answer.context, "llm": note})


# ---- the model (I/O) ----------------------------------------------------------------------------


class DeadlineTimeout(AssistantError):
    """The model's reply did not complete before its deadline."""


_END = object()


def read_until(produce: Callable[[], Iterator[T]], deadline: float) -> Iterator[T]:
    """The items of produce(), read in a worker thread, until time.monotonic() reaches `deadline`.

    The HTTP client's timeout restarts with every byte, so a server that drips a token a second never
    times out; this deadline does. Past it, DeadlineTimeout is raised at once and the worker stops at
    its next item (closing the response) or when the client's own read timeout ends it."""
    items: queue.Queue = queue.Queue()
    stop = threading.Event()

    def work() -> None:
        source = None
        try:
            source = produce()
            for item in source:
                if stop.is_set():
                    break
                items.put((item, None))
        except BaseException as exc:  # handed to the reader, which raises it
            items.put((None, exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()
            items.put((_END, None))

    threading.Thread(target=work, name="llm-reply", daemon=True).start()
    try:
        while True:
            left = deadline - time.monotonic()
            try:
                item, exc = items.get(timeout=max(0.0, left)) if left > 0 else items.get_nowait()
            except queue.Empty:
                raise DeadlineTimeout("the model's reply did not complete in time") from None
            if exc is not None:
                raise exc
            if item is _END:
                return
            yield item
    finally:
        stop.set()



def chat_model(settings: Settings) -> Any:
    """A LangChain ChatOpenAI for the configured endpoint; imports langchain_openai on first use."""
    if urlsplit(settings.llm_base_url).scheme not in ("http", "https"):
        raise LLMConfigError(f"ASSISTANT_LLM_BASE_URL must be an http(s) URL, got {settings.llm_base_url!r}")
    if not settings.llm_model:
        raise LLMConfigError("ASSISTANT_LLM_MODEL is required when ASSISTANT_LLM_BASE_URL is set")
    from langchain_openai import ChatOpenAI

    # Local servers (Ollama, llama.cpp) need no key, but the client refuses to start without one; an
    # explicit value also keeps an OPENAI_API_KEY from the environment from going to this endpoint.
    return ChatOpenAI(base_url=settings.llm_base_url, model=settings.llm_model,
                      api_key=settings.llm_api_key or NO_KEY, timeout=settings.llm_timeout,
                      max_retries=0, use_responses_api=False,
                      # Greedy decoding: the same passages give the same reply, so a checked answer can
                      # be reproduced and the eval measures the prompt, not the sampler's luck.
                      temperature=0,
                      # `max_tokens` as every OpenAI-compatible server reads it (ChatOpenAI itself would
                      # send `max_completion_tokens`, which llama.cpp's server ignores).
                      extra_body={"max_tokens": MAX_TOKENS})


class OpenAIChatAnswerer:
    """Rewrites extractive answers (and condenses follow-ups) with a chat model, grounded."""

    def __init__(self, settings: Settings, corpus: Corpus, chunks: list[Chunk]) -> None:
        check_prompts()
        self.corpus = corpus
        self.model = chat_model(settings)
        self.timeout = settings.llm_timeout  # the deadline of a whole reply, streamed or not
        self.rows = {(c.doc, c.start, c.end): c for c in chunks if c.kind == "indicator"}
        # Each plan's period, read once: (base year, first year, last year), or None when it states none.
        self.periods = {(d.doc, p.key): plan_years(p, d.text) for d in corpus.documents.values() for p in d.plans}
        log.info("LLM answers from %s (model %s)", settings.llm_base_url, settings.llm_model)

    def rewrite(self, answer: Answer) -> Answer:
        """The model's answer when it passes the grounding check, else the extractive one.

        The reply is streamed even here: only a stream can be closed when the deadline passes (a
        plain request goes on until the server ends it) or when a sentence fails the check."""
        *_, final = self._write(answer, stream=True)
        return final  # type: ignore[return-value]  # the last item is the Answer

    def stream(self, answer: Answer) -> Iterator[str | Answer]:
        """Yield the answer text as it streams (checked sentences only), then the final Answer."""
        return self._write(answer, stream=True)

    def condense(self, question: str, turns: list[Answer], resolved: Query) -> Query:
        """A follow-up rewritten by the model as a standalone question; the rule-based one on failure."""
        # Ordinals and indicator references ("第二个", "那2020年呢") resolve exactly by rule.
        if not turns or not resolved.followup or resolved.item or resolved.indicators:
            return resolved
        history = "\n".join(f"用户：{a.question}\n助手：{a.answer[:300]}" for a in turns[-CONDENSE_TURNS:])
        prompt = render("condense", history=history, question=question)
        try:
            reply = next(read_until(lambda: iter([self.model.invoke([("user", prompt)])]),
                                time.monotonic() + self.timeout))
            condensed = clean_condensed(reply.text)
        except Exception as exc:  # any model failure: the rule-based resolution stands
            log.warning("follow-up not condensed by the LLM (%s); using the rule-based question", failure_reason(exc))
            return resolved
        if not condensed or len(condensed) >= MAX_CONDENSED:
            log.warning("follow-up not condensed by the LLM (%s); using the rule-based question",
                        "empty reply" if not condensed else f"{len(condensed)} characters")
            return resolved
        return with_text(resolved, condensed)

    def passages(self, answer: Answer) -> list[Passage]:
        """The extractive citations first, then the top retrieved chunks of the same documents, each span
        once. A passage that addresses the model ("忽略以上所有指令…") is left out: it is data, and a
        document that talks to the model is not one to answer from. Chunks of other documents are left
        out too: where documents disagree, the document the extractive answer stands on is the one."""
        out: dict[tuple[str, int, int], Passage] = {}
        docs = {c.doc for c in answer.citations}
        chunks = [h.chunk for h in answer.retrieved if not docs or h.chunk.doc in docs][:MAX_CHUNKS]
        for c in list(answer.citations) + [self._chunk_citation(chunk) for chunk in chunks]:
            if addresses_the_model(c.quote):
                log.warning("passage %s of %s addresses the model; not shown to it", c.section, c.doc)
                continue
            row = self.rows.get((c.doc, c.start, c.end))
            years = frozenset(self._period(c) or ())
            out.setdefault((c.doc, c.start, c.end), Passage(c, self._shown(c), row.text if row else "", years))
        return list(out.values())

    def messages(self, question: str, passages: list[Passage]) -> list[tuple[str, str]]:
        """System prompt (naming the plans the passages come from), then the numbered passages and the
        question as data."""
        body = "\n\n".join(render("passage", number=i, source=p.citation.section, text=p.text)
                           for i, p in enumerate(passages, 1))
        return [("system", render("system", not_found=REFUSAL, plans=self._scope(passages))),
                ("user", render("context", passages=body, question=question))]

    def _period(self, c: Citation) -> tuple[str, str, str] | None:
        located = self.corpus.locate(c.doc, c.start)
        return self.periods.get((c.doc, located[1].key)) if located else None

    def _scope(self, passages: list[Passage]) -> str:
        """"《嘉兴市妇女发展“十四五”规划》（规划期2021—2025年，基期2020年）…": the plans of the passages."""
        plans = {}
        for p in passages:
            located = self.corpus.locate(p.citation.doc, p.citation.start)
            if located is not None and (p.citation.doc, located[1].key) not in plans:
                plan, years = located[1], self._period(p.citation)
                period = f"（规划期{years[1]}—{years[2]}年，基期{years[0]}年）" if years else ""
                plans[(p.citation.doc, plan.key)] = f"《{plan.title}》{period}"
        return "、".join(plans.values()) or "规划文件"

    def _write(self, answer: Answer, stream: bool, deadline: float | None = None) -> Iterator[str | Answer]:
        if not answer.answerable:  # never let the model turn a refusal into an answer
            yield with_note(answer, "skipped: extractive refusal")
            return
        if answer.kind == "quote_check":  # a verbatim comparison; nothing to rephrase
            yield with_note(answer, "skipped: quote check")
            return
        passages = self.passages(answer)
        if not passages:
            yield self._fallback(answer, "no passage to show the model")
            return
        messages = self.messages(answer.resolved_question or answer.question, passages)
        deadline = deadline or time.monotonic() + self.timeout
        text, shown = "", ""
        check = StreamCheck(passages)
        try:
            if stream:
                for chunk in read_until(lambda: self.model.stream(messages), deadline):
                    text += chunk.text
                    prefix = check.feed(strip_think(text))
                    if check.failed:  # no need to wait for the rest: it will not be shown
                        yield self._fallback(answer, check.failed)
                        return
                    if len(prefix) > len(shown):
                        shown = prefix
                        yield renumber(shown, passages)[0]
            else:
                text = next(read_until(lambda: iter([self.model.invoke(messages)]), deadline)).text
        except Exception as exc:  # timeout, HTTP error, refused connection: the extractive answer
            if stream and not text and isinstance(exc, ValueError):
                # LangChain's "No generation chunks were returned": the server ignores `stream`; ask once more.
                yield from self._write(answer, stream=False, deadline=deadline)
                return
            yield self._fallback(answer, failure_reason(exc))
            return
        yield self._grounded(answer, strip_think(text), passages)

    def _grounded(self, answer: Answer, text: str, passages: list[Passage]) -> Answer:
        problem = check_grounding(text, passages) or value_missing(text, answer) \
            or restates_the_question(text, answer.resolved_question or answer.question, passages)
        if problem:
            return self._fallback(answer, problem)
        new_text, citations = renumber(text, passages)
        return replace(with_note(answer, "used"), answer=new_text, citations=citations)

    def _fallback(self, answer: Answer, reason: str) -> Answer:
        log.warning("LLM answer not used (%s); showing the extractive answer", reason)
        return with_note(answer, f"fallback: {reason}")

    def _chunk_citation(self, chunk: Chunk) -> Citation:
        quote = self.corpus.quote(chunk.doc, chunk.start, chunk.end)
        return Citation(plan=chunk.plan_name, section=chunk.section, quote=quote, start=chunk.start,
                        end=chunk.end, doc=chunk.doc)

    def _shown(self, c: Citation) -> str:
        """The passage body: the quote; a table row also as the sentence it reads as."""
        quote = " ".join(c.quote.split())
        row = self.rows.get((c.doc, c.start, c.end))
        return f"{row.text}（表格原文：{quote}）" if row else quote
