"""Gradio app: chat with sources, plan browser, indicator tables, quote checker, feedback.

The UI renders what an `Assistant` returns (through `assistant.views`); it holds no retrieval logic.
Every feature is also a named API endpoint (/ask, /check_quote, /indicators, /outline, /feedback),
and questions and quote checks are plain JSON endpoints too, beside Gradio (POST /api/ask and
POST /api/check_quote, see `JsonApi`), with the same limits and login.

    python app.py [--host 127.0.0.1] [--port 7860]
"""

import argparse
import asyncio
import base64
import binascii
import hmac
import json
import logging
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported: no usage reporting

import gradio as gr  # noqa: E402
from starlette.exceptions import HTTPException  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402
from starlette.middleware.body_limit import RequestBodyLimitMiddleware  # noqa: E402
from starlette.requests import ClientDisconnect, Request  # noqa: E402
from starlette.responses import PlainTextResponse, Response  # noqa: E402
from starlette.routing import Route  # noqa: E402
from starlette.types import ASGIApp, Message, Receive, Scope, Send  # noqa: E402

from assistant import views  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.core import Assistant, clean_question  # noqa: E402
from assistant.documents import Documents, size_text  # noqa: E402
from assistant.errors import AssistantError, DocumentError, InputError  # noqa: E402
from assistant.feedback import FeedbackError, record_feedback  # noqa: E402
from assistant.index import live_manifest  # noqa: E402
from assistant.limits import (  # noqa: E402
    InFlightLimiter,
    OverBudget,
    TokenBucketLimiter,
    client_key,
    parse_proxies,
    text_cost,
)
from assistant.thresholds import MAX_REPLAY_CHARS  # noqa: E402
from assistant.types import Answer  # noqa: E402

log = logging.getLogger("assistant.app")
T = TypeVar("T")
RELOAD_CHECK_SECONDS = 2.0  # how often a request compares the live index with the one it is served from

UNEXPECTED = "抱歉，处理这个请求时出了问题，请稍后再试或换一种问法。"
BUSY = "您的上一个请求还在处理中，请等它完成后再提问。"
NO_UPLOADS = "此应用不接受文件上传。"
FEEDBACK_BURST = 5  # ratings a client may send at once, before settings.feedback_per_minute applies
# The largest request body accepted: a 2,000-character question with 20 history turns of 2,000
# characters is ~130 KB of JSON. Also Gradio's max_file_size, should an upload ever get through.
MAX_BODY_BYTES = 1_000_000
# Gradio's delete_cache: every hour, delete the files this app stored that are over an hour old
# (and all of them when the server stops). The app stores none of its own; this is a backstop.
CACHE_CLEANUP = (3600, 3600)
# Routes that store an uploaded file. No component of this app takes a file, so they are refused.
UPLOAD_ROUTES = ("/gradio_api/upload", "/gradio_api/process_recording")
# With a login, the 文档管理 tab takes one file at a time through /gradio_api/upload, of up to
# settings.max_file_bytes (ingest's limit); the multipart framing around it is a few hundred bytes.
DOCUMENT_UPLOAD = "/gradio_api/upload"
MULTIPART_SLACK = 64_000
FOLLOW_SECONDS = 0.5  # how often the 文档管理 tab shows a running build's progress
OMP_THREADS = "1"  # the embedding engine's threads per answer when OMP_NUM_THREADS is not set (main())
# Example questions by who asks them, each with the words the corpus must hold for it to be shown
# (views.example_questions): after an ingest of other plans, questions made from those plans instead.
EXAMPLES = {
    "市民常问": [("婚前医学检查率目标是多少", "婚前医学检查率"), ("婴儿死亡率要控制在多少", "婴儿死亡率"),
             ("普惠托育服务项目要做什么", "普惠托育")],
    "新入职工作人员": [("妇女与健康领域有哪些任务", "妇女与健康"), ("儿童与安全领域有哪些任务", "儿童与安全"),
                ("规划的组织实施由谁负责", "组织实施")],
    "培训师核对引文": [("规划里是不是说“至少设有2家危重新生儿救治中心”？", "危重新生儿救治中心"),
                ("规划里是不是说“婚前医学检查率保持在85％以上”？", "婚前医学检查率保持在85％以上")],
}

CSS = """
.answer p { margin: 0 0 .6em; line-height: 1.7; }
.answer .marker a { text-decoration: none; font-weight: 600; }
.cards-title { margin: .8em 0 .3em; font-weight: 600; color: #555; }
.card { border: 1px solid #d9dce3; border-left: 4px solid #c0392b; border-radius: 6px; padding: .5em .7em;
        margin: .4em 0; background: #fafafa; color: #222; }
.card-head { font-size: .9em; color: #444; margin-bottom: .3em; }
.card-n { font-weight: 700; color: #c0392b; }
.card-plan { background: #fdecea; color: #a93226; border-radius: 3px; padding: 0 .35em; }
.card-body { line-height: 1.7; }
.card mark, .plan-text mark.cited { background: #ffe58f; color: inherit; padding: 0 1px; }
.card a.goto { font-size: .85em; }
.card table.mini { border-collapse: collapse; margin: .2em 0; font-size: .92em; }
.card table.mini th, .card table.mini td { border: 1px solid #d9dce3; padding: .1em .45em; }
.card table.mini th { background: #f0f1f4; font-weight: 600; }
.refusal-head { font-weight: 700; color: #a15c00; margin-bottom: .3em; }
.refusal .card { border-left-color: #b0b4bd; }
.error p { color: #a93226; }
.diff { margin: .5em 0; line-height: 1.8; }
.diff-label { color: #555; }
mark.diff-quoted { background: #f8c4c4; text-decoration: line-through; }
mark.diff-source { background: #bfe8c4; font-weight: 700; }
.verdict { display: inline-block; font-weight: 700; font-size: 1.2em; padding: .1em .6em; border-radius: 4px; }
.verdict-exact { background: #d4f4dd; color: #1e6b34; }
.verdict-differs { background: #fde2e2; color: #a93226; }
.verdict-not_found { background: #eceff3; color: #444; }
.where { margin: .4em 0; color: #444; }
#outline-panel, #plan-text-panel { max-height: 75vh; overflow-y: auto; }
.outline ul { list-style: none; padding-left: 1em; margin: 0; }
.outline a { text-decoration: none; line-height: 1.8; }
.outline .ol-part { font-weight: 700; }
.plan-text .node-text { white-space: pre-wrap; line-height: 1.8; margin: .3em 0; }
.plan-text .node-part > .node-text { font-size: 1.1em; margin-top: 1em; }
.plan-text section.selected > .node-text { background: #eef5ff; }
.plan-text table.indicators { border-collapse: collapse; margin: .5em 0; }
.plan-text table.indicators td, .plan-text table.indicators th { border: 1px solid #ccc; padding: .2em .5em; }
.plan-text tr.cited td { background: #ffe58f; }
/* the chat: nothing floats over the messages. No label, no top icons (Gradio's trash would clear the
   messages but not the conversation 开始新对话 clears); the ↓ button gets a band under the list. */
#chatbot .icon-button-wrapper.top-panel { display: none; }
#chatbot .bubble-wrap { height: calc(100% - 34px); }
#chatbot .scroll-down-button-container { bottom: 4px; }
.share-row { margin-top: .5em; }
a.share { display: inline-block; font-size: .85em; text-decoration: none; border: 1px solid #c9ccd4;
          border-radius: 4px; padding: .1em .6em; color: #444; background: #fff; }
.share-text { display: none; }
.card table.mini th, .card table.mini td.ind-base, .card table.mini td.ind-target,
.card table.mini td.ind-domain, .card table.mini td.ind-seq { white-space: nowrap; }
/* the indicator tables (指标表) */
.ind-table { border-collapse: collapse; width: 100%; }
.ind-table th, .ind-table td { border: 1px solid #d9dce3; padding: .3em .5em; text-align: left; vertical-align: top; }
.ind-table thead th { background: #f0f1f4; white-space: nowrap; position: sticky; top: 0; }
.ind-table tr.ind-plan th { background: #fdecea; color: #a93226; }
.ind-table tr.ind-area th { background: #f7f8fa; color: #333; font-weight: 600; }
.ind-table td.ind-seq { width: 3em; }
.ind-table td.ind-base { width: 6em; }
.ind-table td.ind-base, .ind-table td.ind-target, .ind-table td.ind-seq { white-space: nowrap; }
.ind-table td.ind-target { white-space: normal; min-width: 4.5em; }
.ind-count { color: #666; font-size: .9em; margin: .4em 0; }
.ind-empty p { padding: .8em 1em; background: #f6f7f9; border-radius: 6px; color: #444; }
/* a phone: the width is for the text (narrow page margins, full-width answers); numbers and table
   headers stay whole; the indicator tables drop 序号 so that both years fit beside the indicator;
   the tab bar stays at the top, and the plan outline takes less height. */
@media (max-width: 640px) {
  #chatbot .message-row.bot-row { margin-left: 4px; margin-right: 4px; max-width: calc(100% - 8px); }
  #chatbot .message-row.user-row { margin-left: 24px; margin-right: 4px; max-width: calc(100% - 28px); }
  #chatbot .message-row .message { padding-left: 8px; padding-right: 8px; }
  .card { padding: .4em .5em; }
  .card table.mini th, .card table.mini td { padding: .1em .3em; }
  .card table.mini .ind-seq, .ind-table .ind-seq { display: none; }
  .ind-table th, .ind-table td { padding: .3em .35em; }
  .ind-table td.ind-base { width: 4.2em; }
  .ind-table td.ind-target { width: 6em; }
  .ind-table thead th { position: static; }  /* the tab bar holds the top of a phone's screen */
  #tabs > .tab-wrapper { position: sticky; top: 0; z-index: 20; background: var(--body-background-fill); }
  #outline-panel { max-height: 30vh; }
  #plan-text-panel { max-height: 65vh; }
}
"""

# FRAME_CSS styles what is around Gradio's .contain, which CSS (scoped inside it by Gradio) cannot reach.
FRAME_CSS = """
@media (max-width: 640px) {
  .gradio-container > .main { padding-left: 8px !important; padding-right: 8px !important; }
  .gradio-container { overflow: clip !important; }  /* not hidden: then the tab bar can stick to the top */
}
"""
# The page's script (ui/page.js): citation links set the hidden #goto box, whose input event asks the
# server for the plan text with the quote marked; outline links, the share button, where the chat and
# the plan browser scroll to, and Chinese names for the labels Gradio writes in English.
HEAD = (f"<style>{FRAME_CSS}</style>\n<script>\n"
        + (Path(__file__).resolve().parent / "ui" / "page.js").read_text(encoding="utf-8") + "</script>\n")
# Gradio's strings that its own zh-CN translation lacks: without them the screen reader's status line
# (a hidden live region) says "common.complete" after each answer, and "In queue: 1 of 2".
I18N = gr.I18n(**{"zh-CN": {"common.complete": "完成",
                            "status.queue_position": "排队中：第 {position} 位，共 {size} 位"}})
# First in the page's <head> (ChineseUi): Gradio reads the browser's language before any head= script runs.
LOCALE_SCRIPT = (b'<script>(() => { const zh = {configurable: true, get: () => "zh-CN"};'
                 b' const all = {configurable: true, get: () => ["zh-CN", "zh"]};'
                 b' try { Object.defineProperty(Navigator.prototype, "language", zh);'
                 b' Object.defineProperty(Navigator.prototype, "languages", all); } catch (e) {} })();</script>')


class Busy(InputError):
    """The client already has its share of the answering slots busy (BUSY)."""


class RateLimited(InputError):
    """The client is over its rate; `retry_after` seconds until this request would be allowed."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def fail_message(exc: Exception) -> str:
    """What a person is told when something goes wrong: the domain error's message, never a traceback."""
    if isinstance(exc, InputError | FeedbackError):
        return str(exc)
    if isinstance(exc, AssistantError):
        log.error("assistant error: %s", exc)
        return "抱歉，助手暂时无法回答：" + str(exc)
    log.exception("unexpected error in the app")
    return UNEXPECTED


def api_guard(fn: Callable[[], T]) -> T:
    """Run fn; any failure becomes a gr.Error with a clear Chinese message for API clients."""
    try:
        return fn()
    except Exception as exc:
        raise gr.Error(fail_message(exc), print_exception=False) from None


def replay_chars(history: list) -> int:
    """Characters of an API history that answering may replay: its plain strings, at most MAX_REPLAY_CHARS."""
    return min(MAX_REPLAY_CHARS, sum(len(h) for h in history if isinstance(h, str)))


@dataclass
class Turn:
    """One exchange of the chat: what the person typed and what the assistant answered."""

    question: str
    answer: Answer


class Handlers:
    """What each UI event and API endpoint does, on top of one Assistant."""

    def __init__(self, assistant: Assistant) -> None:
        self._assistant = assistant
        self._reload_lock = threading.Lock()
        self._checked = time.monotonic()  # when the live index was last compared with the one served
        self.settings = assistant.settings
        rate = self.settings.rate_limit_per_minute
        self.limiter = (TokenBucketLimiter(rate, per=60.0, burst=max(1, self.settings.rate_limit_burst))
                        if rate > 0 else None)
        ratings = self.settings.feedback_per_minute
        self.feedback_limiter = (TokenBucketLimiter(ratings, per=60.0, burst=min(FEEDBACK_BURST, ratings))
                                 if ratings > 0 else None)
        # Events that call the Assistant share one queue slot group (settings.app_concurrency).
        slots = max(1, self.settings.app_concurrency)
        self.queue = {"concurrency_id": "assistant", "concurrency_limit": slots}
        # One client may hold every answering slot but one: another client always finds one free.
        # Like the rate, it is per client, so rate_limit_per_minute=0 (a load test) turns it off too.
        self.in_flight = InFlightLimiter(max(1, slots - 1)) if rate > 0 else None
        # The answering slots themselves, shared by Gradio's queue and the JSON API (JsonApi): with
        # both in use, still at most app_concurrency questions are answered at the same time.
        self.slots = slots
        self._answering = threading.BoundedSemaphore(slots)

    @property
    def assistant(self) -> Assistant:
        """The assistant over the live index: after an `ingest` or `remove`, the next request is answered
        from the new index (checked at most every RELOAD_CHECK_SECONDS)."""
        self._reload()
        return self._assistant

    @property
    def corpus(self):
        return self.assistant.corpus

    def reload_now(self) -> None:
        """Answer from the live index from the next request on (a change of the documents made in this app)."""
        self._checked = time.monotonic() - RELOAD_CHECK_SECONDS
        self._reload()

    def _reload(self) -> None:
        now = time.monotonic()
        if now - self._checked < RELOAD_CHECK_SECONDS:
            return
        self._checked = now
        served = self._assistant.corpus.sha256
        if (live_manifest(self.settings) or {}).get("corpus_sha256", served) == served:
            return
        with self._reload_lock:  # one reload, however many requests notice the change at once
            if self._assistant.corpus.sha256 != served:
                return
            try:
                fresh = Assistant(self.settings, auto_build=False)
            except AssistantError as exc:  # a build in progress, a broken index: keep serving the old one
                log.warning("the corpus changed, but its index cannot be opened yet (%s); serving the old one", exc)
                return
            self._assistant = fresh
            log.warning("the corpus changed: now answering from %d documents (the plan lists in the page "
                        "stay as they were until the app restarts)", len(fresh.corpus.documents))

    @staticmethod
    def client(request: gr.Request | None) -> str | None:
        """Who is asking, by something the client does not choose: the peer address (its /64 for IPv6).

        Never the session hash: a raw API call picks its own, or none (then Gradio makes one per
        call). Uvicorn has already replaced the address by X-Forwarded-For's when, and only when,
        the connection comes from a trusted proxy (launch() sets that from settings.trusted_proxies).
        There is one shared login (ASSISTANT_APP_USER), so the username names no one person.
        """
        if request is None:
            return None
        return client_key(getattr(getattr(request, "client", None), "host", None))

    @contextmanager
    def admit(self, request: gr.Request | Request | None, chars: int) -> Iterator[None]:
        """Let one question in, charged by its length (`chars` of text to work on): an InputError with
        a clear message when the client already has its share of the slots busy (Busy) or is over its
        rate (RateLimited). `request` is Gradio's or, for the JSON API, Starlette's: both have .client."""
        if self.limiter is None or self.in_flight is None or (client := self.client(request)) is None:
            yield
            return
        if not self.in_flight.enter(client):
            raise Busy(BUSY)
        try:
            decision = self.limiter.check(client, text_cost(chars, self.limiter.capacity))
            if not decision.allowed:
                raise RateLimited(decision.message, decision.retry_after)
            yield
        finally:
            self.in_flight.leave(client)

    @contextmanager
    def answering(self) -> Iterator[None]:
        """Hold one of the app_concurrency answering slots while the Assistant works (blocks until one is free)."""
        with self._answering:
            yield

    def admit_feedback(self, request: gr.Request | None) -> None:
        """Count one rating against the client's feedback limit; InputError when over it."""
        client = self.client(request)
        if client is not None and self.feedback_limiter is not None:
            decision = self.feedback_limiter.check(client)
            if not decision.allowed:
                raise InputError(decision.message)

    # ---- chat (UI) ---------------------------------------------------------------------------

    def answer_stream(self, question: str, plan_label: str, turns: list[Turn],
                      request: gr.Request | None = None) -> Iterator[str | Answer]:
        """Partial texts while a model writes (none for extractive answers), then the Answer.

        An error becomes an Answer of kind "error" that carries the message to show.
        """
        history = [t.answer for t in turns if t.answer.kind != "error"]
        try:
            with self.admit(request, len(str(question or ""))):
                stream = self.assistant.ask_stream(question, history=history, plan=views.plan_key(plan_label))
                # The extractive answer is worked out before the first item: only that holds a slot,
                # never a model's streaming (nor a generator the client left suspended).
                with self.answering():
                    first = next(stream)
                yield first
                yield from stream
        except Exception as exc:
            yield Answer(question=str(question or ""), answer=fail_message(exc), answerable=False, kind="error")

    def messages(self, turns: list[Turn]) -> list[dict]:
        """The chat as messages: each turn is the question (as text) and the answer with its cards."""
        out = []
        for n, turn in enumerate(turns, 1):
            out.append({"role": "user", "content": views.question_html(turn.question)})
            out.append({"role": "assistant", "content": views.answer_html(turn.answer, self.corpus, n)})
        return out

    def chat(self, question: str, plan_label: str, turns: list[Turn] | None,
             request: gr.Request = None) -> Iterator[tuple[list, list, str]]:
        """Answer one message: stream (chat messages, turns, cleared textbox) as the answer grows."""
        turns = list(turns or [])
        q = str(question or "")
        for part in self.answer_stream(question, plan_label, turns, request):
            if isinstance(part, Answer):
                turns.append(Turn(q, part))
                break
            # A model's checked sentences so far; the cards come with the final, grounded Answer.
            growing = Answer(question=q, answer=part, answerable=True, kind="streaming")
            yield self.messages(turns + [Turn(q, growing)]), turns, ""
        yield self.messages(turns), turns, ""

    def like(self, turns: list[Turn] | None, data: gr.LikeData, request: gr.Request = None) -> str:
        """Record a thumbs up/down on an answer in the chat (message 2n+1 is turn n's answer)."""
        index = data.index if isinstance(data.index, int) else data.index[0]
        turns = turns or []
        if data.liked not in (True, False) or not 0 <= index // 2 < len(turns):
            return ""
        turn = turns[index // 2]
        if turn.answer.kind == "error":
            return "这条是提示信息，不是回答，无需评价。"
        try:
            self.admit_feedback(request)
            self.record(turn.question, turn.answer.answer, "up" if data.liked else "down")
        except Exception as exc:
            return "⚠️ " + fail_message(exc)
        return "已记录您的评价，谢谢！"

    # ---- plan browser, tables, quote checker (UI) --------------------------------------------

    def plan_view(self, plan_label: str) -> tuple[str, str]:
        """(outline, full text) of one plan."""
        found = next(views.iter_plans(self.corpus, views.plan_key(plan_label)), None)
        if found is None:
            return "", "<p>没有这个规划。</p>"
        return views.outline_html(found[1]), views.plan_text_html(found[0], found[1])

    def goto(self, ref: str) -> tuple:
        """A citation link: show the plan browser at the cited passage (ref = "doc|start|end|nonce")."""
        try:
            doc, start, end = ref.split("|")[:3]
            located = views.locate(self.corpus, doc, int(start))
        except ValueError:
            located = None
        if located is None:
            return gr.Tabs(selected="browser"), gr.Radio(), gr.HTML(), gr.HTML()
        doc, plan = located
        text = views.plan_text_html(doc, plan, (int(start), int(end)))
        return gr.Tabs(selected="browser"), gr.Radio(value=plan.name), views.outline_html(plan), text

    def indicator_table(self, plan_label: str, query: str) -> str:
        """The target tables filtered by plan and words, as HTML (a message when no row matches)."""
        return views.indicators_html(self.corpus, views.plan_key(plan_label), query or "")

    def quote_result(self, passage: str, request: gr.Request = None) -> str:
        """The quote checker's verdict as HTML."""
        try:
            with self.admit(request, len(str(passage or ""))), self.answering():
                answer = self.assistant.check_quote(passage)
        except Exception as exc:
            return views.error_html(fail_message(exc))
        return views.quote_check_html(answer, passage, self.corpus)

    # ---- API ---------------------------------------------------------------------------------

    def record(self, question: str, answer: str, rating: str) -> dict:
        return record_feedback(self.settings.feedback_path, self.settings.feedback_max_bytes,
                               question, answer, rating)

    @staticmethod
    def ask_chars(question: object, history: list) -> int:
        """The text a question makes the assistant work on, as the rate limit charges it."""
        return len(str(question or "")) + replay_chars(history)

    def ask_dict(self, question: str, plan: str | None, history: list) -> dict:
        """The answer as API users get it (both APIs), worked out in one answering slot."""
        with self.answering():
            return views.answer_dict(self.assistant.ask(question, history=history, plan=views.plan_key(plan)))

    def quote_dict(self, passage: str) -> dict:
        """The quote check as API users get it (both APIs), worked out in one answering slot."""
        with self.answering():
            return views.quote_check_dict(self.assistant.check_quote(passage))

    def api_ask(self, question: str, plan: str = "全部", history: list[str] | None = None,
                request: gr.Request = None) -> dict:
        """Answer a question; `history` lists the earlier questions of the conversation (for follow-ups)."""
        def run() -> dict:
            turns = list(history or [])
            with self.admit(request, self.ask_chars(question, turns)):
                return self.ask_dict(question, plan, turns)
        return api_guard(run)

    def api_check_quote(self, passage: str, request: gr.Request = None) -> dict:
        """Check a passage against the plan text: 原文一致 / 与原文不一致 / 未找到, with the source wording."""
        def run() -> dict:
            with self.admit(request, len(str(passage or ""))):
                return self.quote_dict(passage)
        return api_guard(run)

    def api_indicators(self, plan: str = "全部", query: str = "") -> list[dict]:
        """Rows of the indicator target tables, filtered by plan and by words."""
        return api_guard(lambda: views.indicator_dicts(self.corpus, views.plan_key(plan), query or ""))

    def api_outline(self, plan: str = "全部") -> list[dict]:
        """The plan structure (plan > part > section > item) with each node's text."""
        return api_guard(lambda: views.outline(self.corpus, views.plan_key(plan)))

    def api_feedback(self, question: str, answer: str, rating: str, request: gr.Request = None) -> dict:
        """Record a rating ("up" or "down") of an answer."""
        def run() -> dict:
            self.admit_feedback(request)
            return {"ok": True, "message": "已记录，谢谢！", "record": self.record(question, answer, rating)}
        return api_guard(run)


# ---- layout ------------------------------------------------------------------------------------


def chat_tab(h: Handlers) -> None:
    """问答: plan filter, the conversation, the question box, examples and feedback status."""
    plan = gr.Radio([views.ALL_PLANS, *views.plan_labels(h.corpus)], value=views.ALL_PLANS, label="检索范围",
                    elem_id="chat-plan")
    examples = views.example_questions(h.corpus, EXAMPLES)
    first = next(iter(examples.values()), ["……"])[0]
    # No autoscroll: Gradio's scrolls to the bottom of the last citation card. The page script
    # (ui/page.js) shows the start of each new answer instead, unless the reader scrolled meanwhile.
    # No label and no copy buttons: they float over the first lines, and Gradio's copy gives the
    # message's HTML (the answer's own 复制回答和出处 gives plain text).
    chatbot = gr.Chatbot(show_label=False, height=560, elem_id="chatbot", render_markdown=True, sanitize_html=True,
                         latex_delimiters=[], feedback_options=("Like", "Dislike"), autoscroll=False, buttons=[],
                         placeholder=f"请输入问题，例如：{first}")
    with gr.Row():
        question = gr.Textbox(label="问题", placeholder="输入问题后按回车或点“提问”", scale=5, max_lines=4,
                              elem_id="question", min_width=240)  # a phone: the button goes under the box
        send = gr.Button("提问", variant="primary", scale=1, elem_id="send")
    status = gr.Markdown(elem_id="status")
    clear = gr.Button("开始新对话", size="sm")
    turns = gr.State([])
    ask = {"fn": h.chat, "inputs": [question, plan, turns], "outputs": [chatbot, turns, question],
           "api_visibility": "private", **h.queue}
    for n, (label, questions) in enumerate(examples.items()):
        shown = gr.Examples([[q] for q in questions], inputs=[question], label=label, elem_id=f"examples-{n}")
        shown.load_input_event.then(**ask)  # a click asks the question, as 提问 would
    for trigger in (send.click, question.submit):
        trigger(**ask)
    clear.click(lambda: ([], [], ""), None, [chatbot, turns, status], api_visibility="private")
    chatbot.like(h.like, [turns], [status], api_visibility="private")


def browser_tab(h: Handlers, tabs: gr.Tabs, goto: gr.Textbox) -> None:
    """规划浏览: the outline beside the full text; citation links open it at the quoted passage."""
    labels = views.plan_labels(h.corpus)  # one entry per plan of the corpus, in corpus order
    outline, text = h.plan_view(labels[0])
    plan = gr.Radio(labels, value=labels[0], label="规划", elem_id="browser-plan")
    with gr.Row():
        with gr.Column(scale=1, elem_id="outline-panel"):
            outline_box = gr.HTML(outline, elem_id="outline")
        with gr.Column(scale=3, elem_id="plan-text-panel"):
            text_box = gr.HTML(text, elem_id="plan-text")
    # Another plan opens at its start; a citation, at the quote inside the text pane (ui/page.js).
    plan.input(h.plan_view, [plan], [outline_box, text_box], api_visibility="private").then(
        None, js="() => window.planPanesToTop && window.planPanesToTop()")
    goto.change(h.goto, [goto], [tabs, plan, outline_box, text_box], api_visibility="private").then(
        None, js="() => window.planScrollTo && window.planScrollTo('.plan-text .cited')")


def indicators_tab(h: Handlers) -> None:
    """指标表: both target tables, filtered by plan and by text."""
    with gr.Row():
        plan = gr.Radio([views.ALL_PLANS, *views.plan_labels(h.corpus)], value=views.ALL_PLANS, label="规划",
                        elem_id="indicator-plan")
        query = gr.Textbox(label="筛选", placeholder="例如：健康、死亡率、托位", elem_id="indicator-query")
    # An HTML table, not a gr.Dataframe: its columns are the page's to fit on a phone (the CSS drops
    # 序号 there), and a filter that matches nothing says so.
    table = gr.HTML(h.indicator_table(views.ALL_PLANS, ""), elem_id="indicator-table")
    for trigger in (plan.change, query.change):
        trigger(h.indicator_table, [plan, query], [table], api_visibility="private")


def quote_tab(h: Handlers) -> None:
    """引文核对: paste a passage, see whether the plan says exactly that."""
    passage = gr.Textbox(label="粘贴要核对的引文", lines=3, elem_id="passage",
                         placeholder="例如：至少设有2家危重新生儿救治中心")
    check = gr.Button("核对", variant="primary", elem_id="check")
    result = gr.HTML(elem_id="quote-result")
    for trigger in (check.click, passage.submit):
        trigger(h.quote_result, [passage], [result], api_visibility="private", **h.queue)


def documents_tab(h: Handlers) -> None:
    """文档管理 (only behind a login): upload a plan, check its parse summary, add or replace it while the
    build's progress shows, list and remove documents. Questions are answered from the old index until
    the new one is live (Documents runs one build at a time, in the background)."""
    docs = Documents(h.settings, on_change=h.reload_now)
    uploads = Path(gr.utils.get_upload_folder()).resolve()
    queue = {"concurrency_id": "documents", "concurrency_limit": 4, "api_visibility": "private"}
    quiet = {**queue, "show_progress": "hidden"}  # the tab shows a build's progress itself
    css = """
    .doc-head { font-weight: 700; margin-bottom: .3em; }
    table.doc-facts, table.doc-facts tr { border: none !important; border-collapse: collapse; margin: .2em 0; }
    table.doc-facts th, table.doc-facts td { border: none !important; padding: .15em 1em .15em 0 !important;
                                             vertical-align: top; text-align: left; background: none; }
    table.doc-facts th { color: #555; font-weight: 600; white-space: nowrap; }
    .doc-warnings { background: #fff7e6; border-left: 4px solid #e6a23c; padding: .4em .8em; margin: .5em 0; }
    .doc-ok { color: #1e6b34; }
    .doc-job { padding: .5em .8em; border-radius: 6px; margin: .3em 0; }
    .doc-running { background: #eef5ff; }
    .doc-running progress { display: block; width: 100%; margin: .4em 0; }
    .doc-done { background: #d4f4dd; color: #1e6b34; }
    .doc-failed { background: #fde2e2; color: #a93226; }
    table.doc-list { border-collapse: collapse; width: 100%; margin: .5em 0; }
    table.doc-list caption { text-align: left; font-weight: 600; color: #555; padding: .3em 0; }
    table.doc-list th, table.doc-list td { border: 1px solid #d9dce3; padding: .3em .5em; text-align: left;
                                           vertical-align: top; }
    table.doc-list th { background: #f0f1f4; white-space: nowrap; }
    """

    def discard(path: str | Path | None) -> None:
        """Delete an upload (<upload folder>/<hash>/<name>) once it is refused, committed or cleared."""
        p = Path(path).resolve() if path else None
        if p is not None and p.parent.parent == uploads:
            p.unlink(missing_ok=True)
            if p.parent.exists() and not any(p.parent.iterdir()):
                p.parent.rmdir()

    def follow() -> Iterator[tuple]:
        """(status, list, choices) while a change runs, then once more when it is over."""
        while (job := docs.job) is not None and job.running:
            yield views.job_html(job), gr.skip(), gr.skip()
            time.sleep(FOLLOW_SECONDS)
        try:
            infos = docs.documents()
        except DocumentError as exc:
            yield views.job_html(docs.job) + views.error_html(str(exc)), gr.skip(), gr.skip()
            return
        yield views.job_html(docs.job), views.documents_html(infos), gr.Dropdown(choices=[d.doc for d in infos],
                                                                                 value=None)

    def preview(path: str | None, previous: str | None) -> tuple:
        """(summary, commit button, upload, pending) for a new upload; a refused one is deleted and cleared."""
        discard(previous)
        if not path:
            return "", gr.Button(interactive=False), gr.skip(), None
        try:
            shown = views.preview_html(docs.preview(path))
        except DocumentError as exc:
            discard(path)
            refused = views.error_html(f"“{Path(path).name}”未能添加：{exc}文档库没有任何改动。")
            return refused, gr.Button(interactive=False), None, None
        return shown, gr.Button(interactive=True), gr.skip(), path

    def commit(path: str | None) -> Iterator[tuple]:
        try:
            if not path:
                raise DocumentError("请先上传文件。")
            docs.commit(path, cleanup=discard)
        except DocumentError as exc:
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), views.error_html(str(exc)), gr.skip(), gr.skip()
            return
        yield "", gr.Button(interactive=False), None, None, gr.skip(), gr.skip(), gr.skip()
        for shown in follow():
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), *shown

    def remove(doc: str | None) -> Iterator[tuple]:
        if not doc:  # nothing chosen, or the confirmation was cancelled
            yield gr.skip(), gr.skip(), gr.skip()
            return
        try:
            docs.remove(doc)
        except DocumentError as exc:
            yield views.error_html(str(exc)), gr.skip(), gr.skip()
            return
        yield from follow()

    with gr.Tab("文档管理", id="documents", elem_id="documents-tab") as tab:
        limit = size_text(h.settings.max_file_bytes)
        gr.Markdown(f"上传 .txt、.md、.docx、.pdf 或 .html 格式的规划文件（不超过 {limit}）。先查看解析结果，"
                    "核对无误再提交；重建索引期间，问答仍按原有文档回答。")
        # No file_types: the browser would refuse another type with an English message; preview says it in Chinese.
        upload = gr.File(label="上传文档", type="filepath", elem_id="doc-upload")
        summary = gr.HTML(elem_id="doc-summary", css_template=css)
        send = gr.Button("提交（添加或替换文档）", variant="primary", interactive=False, elem_id="doc-commit")
        status = gr.HTML(elem_id="doc-status", css_template=css)
        listed = docs.documents()
        table = gr.HTML(views.documents_html(listed), elem_id="doc-list", css_template=css)
        with gr.Row():
            choice = gr.Dropdown([d.doc for d in listed], value=None, label="要删除的文档", elem_id="doc-choice",
                                 scale=3)
            drop = gr.Button("删除所选文档", variant="stop", elem_id="doc-remove", scale=1)
        pending = gr.State(None)  # the path of the upload previewed, on the server only
    upload.upload(preview, [upload, pending], [summary, send, upload, pending], **queue)
    upload.clear(lambda previous: preview(None, previous), [pending], [summary, send, upload, pending], **queue)
    send.click(commit, [pending], [summary, send, upload, pending, status, table, choice], **quiet)
    drop.click(remove, [choice], [status, table, choice], **quiet,
               js="(doc) => doc && confirm('确定删除文档“' + doc + '”吗？删除后需重新上传才能恢复。') ? doc : null")
    tab.select(follow, None, [status, table, choice], **quiet)


def build_app(assistant: Assistant, manage_documents: bool = False) -> gr.Blocks:
    """The Blocks app for one Assistant: four tabs and the named API endpoints; with `manage_documents`
    (only for an app launched with a login) a fifth, 文档管理."""
    h = Handlers(assistant)
    title = views.page_title(h.corpus)  # from the plans' titles, like every plan list of the page
    with gr.Blocks(title=title, analytics_enabled=False, delete_cache=CACHE_CLEANUP) as demo:
        gr.Markdown(f"## {title}\n{views.page_intro(h.corpus)}", elem_id="page-head")
        # Outside the tabs, so that it is in the page whichever tab is open (tabs render lazily).
        goto = gr.Textbox(visible="hidden", elem_id="goto")
        with gr.Tabs(selected="chat", elem_id="tabs") as tabs:
            with gr.Tab("问答", id="chat"):
                chat_tab(h)
            with gr.Tab("规划浏览", id="browser"):
                browser_tab(h, tabs, goto)
            with gr.Tab("指标表", id="indicators"):
                indicators_tab(h)
            with gr.Tab("引文核对", id="quote"):
                quote_tab(h)
            if manage_documents:
                documents_tab(h)
        gr.api(h.api_ask, api_name="ask", **h.queue)
        gr.api(h.api_check_quote, api_name="check_quote", **h.queue)
        gr.api(h.api_indicators, api_name="indicators")
        gr.api(h.api_outline, api_name="outline")
        gr.api(h.api_feedback, api_name="feedback")
    # POST /api/ask and /api/check_quote, on the same Handlers (so the same limits); launch() serves them.
    demo.json_api = JsonApi(h)
    demo.upload_limit = assistant.settings.max_file_bytes if manage_documents else None
    # Gradio opens POST /gradio_api/run/<api> off Spaces: a direct call that skips the queue, and
    # with it app_concurrency. Every client goes through the queue.
    return demo.queue(api_open=False)


# ---- the JSON API --------------------------------------------------------------------------------

JSON_TYPE = "application/json; charset=utf-8"
# Requests admitted to the JSON API's answering pool and not answered yet, beyond which it answers
# 503 at once: at the ~20-50 ms a question takes, 100 waiting are 1-3 s of work, well within a budget.
API_QUEUE_LIMIT = 100
UNCAPPED = 2**62  # Starlette's body cap of the JSON routes: none of its own (read_json's instead)
RETRY_SECONDS = 2  # Retry-After of a 503 (busy server, index not ready) and of a 429 for BUSY
NOT_JSON = '请求体必须是一个 JSON 对象，例如 {"question": "婚前医学检查率目标是多少"}。'
TOO_LARGE = f"请求体太大，上限为{MAX_BODY_BYTES:,}字节。"
OVERLOADED = "服务器正忙，请稍后再试。"
LOGIN_NEEDED = "需要登录：请用 HTTP Basic 认证提供网页登录的账号和密码，或先 POST /login 取得登录 Cookie。"
ASK_FIELDS = {"question": "要问的问题（文本）", "plan": "检索范围：全部、妇女规划或儿童规划（可省略）",
              "history": "此前依次提出的问题（字符串列表，可省略）"}
QUOTE_FIELDS = {"passage": "要核对的引文（文本）"}


class ApiError(Exception):
    """A JSON API refusal: the HTTP status, the message (Chinese) and any headers (Retry-After)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def api_error(exc: Exception) -> ApiError:
    """The HTTP form of what went wrong: the same messages as the Gradio API, with a status code."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, RateLimited):
        return ApiError(429, str(exc), {"Retry-After": str(max(1, math.ceil(exc.retry_after)))})
    if isinstance(exc, Busy):
        return ApiError(429, str(exc), {"Retry-After": str(RETRY_SECONDS)})
    if isinstance(exc, OverBudget):
        return ApiError(504, str(exc))
    if isinstance(exc, InputError):
        return ApiError(400, str(exc))
    if isinstance(exc, AssistantError):  # the index cannot be opened, say: the server, not the request
        return ApiError(503, fail_message(exc), {"Retry-After": str(RETRY_SECONDS)})
    return ApiError(500, fail_message(exc))  # logged there, with the traceback; the client gets none


def json_response(status: int, body: bytes, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status_code=status, headers=headers, media_type=JSON_TYPE)


def error_response(err: ApiError) -> Response:
    body = json.dumps({"detail": err.message}, ensure_ascii=False).encode("utf-8")
    return json_response(err.status, body, err.headers)


async def read_json(request: Request, limit: int = MAX_BODY_BYTES) -> dict:
    """The request body as a JSON object; 413 on a declared or actual size over `limit`, before the rest is read."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise ApiError(400, NOT_JSON)
        if int(declared) > limit:
            raise ApiError(413, TOO_LARGE)
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ApiError(413, TOO_LARGE)
            chunks.append(chunk)
    except HTTPException as exc:  # the app-wide cap (ApiGate) counted it first
        if exc.status_code == 413:
            raise ApiError(413, TOO_LARGE) from None
        raise
    except ClientDisconnect:
        raise ApiError(400, NOT_JSON) from None  # nobody is left to read it
    try:
        data = json.loads(b"".join(chunks))
    except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested past Python's limit
        raise ApiError(400, NOT_JSON) from None
    if not isinstance(data, dict):
        raise ApiError(400, NOT_JSON)
    return data


def known_fields(data: dict, fields: dict[str, str]) -> dict:
    """`data` if it names only `fields`; a 400 naming the unknown ones and the fields there are if not."""
    unknown = [str(k) for k in data if k not in fields]
    if unknown:
        there = "；".join(f"{k}：{what}" for k, what in fields.items())
        raise ApiError(400, f"不认识的字段：{'、'.join(unknown)[:200]}。可用的字段是 {there}。")
    return data


def logged_in(request: Request) -> bool:
    """True when the request carries the login cookie of someone logged in to the page."""
    server = request.app  # Gradio's App, which keeps the tokens of the people logged in
    cookie_id, tokens = getattr(server, "cookie_id", None), getattr(server, "tokens", {})
    names = (f"access-token-{cookie_id}", f"access-token-unsecure-{cookie_id}")
    return bool(cookie_id) and any((token := request.cookies.get(name)) and token in tokens for name in names)


def basic_credentials(header: str) -> tuple[str, str] | None:
    """(user, password) from an "Authorization: Basic …" header; None if it is not one."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


class JsonApi:
    """POST /api/ask and POST /api/check_quote: the Gradio API's answers as plain JSON, for programs.

    Every protection of the Gradio path holds, on the same Handlers: the per-client rate limit and
    text cost, the per-client in-flight limit (`Handlers.admit`), the answering slots, the request
    budget and clean_question, with the same Chinese messages, as {"detail": message} under an HTTP
    status (400 bad input, 401 no login, 413 body too large, 429 limited with Retry-After, 503
    overloaded, 504 over the budget). The login is the app's: HTTP Basic with its user and password,
    or the cookie POST /login sets.

    The answering is CPU-bound Python: it runs in a pool of app_concurrency threads, never on the
    event loop, and at most API_QUEUE_LIMIT admitted requests wait for it (503 beyond that, or when
    one has waited longer than the request budget). Requests are admitted, and charged, before they
    wait, so one client can keep no more waiting than the in-flight limit lets it.
    """

    def __init__(self, handlers: Handlers) -> None:
        self.h = handlers
        self.pool = ThreadPoolExecutor(max_workers=handlers.slots, thread_name_prefix="answer")
        self.login: tuple[str, str] | None = None  # launch() sets the app's login
        self.pending = 0  # admitted and not answered yet; only the event loop changes it

    def routes(self) -> list[Route]:
        # read_json caps the body at MAX_BODY_BYTES itself, to say so in Chinese and as JSON: a route's
        # max_body_size takes the place of the app's (ApiGate), whose 413 would be "Content Too Large".
        return [Route(path, endpoint, methods=["POST"], max_body_size=UNCAPPED)
                for path, endpoint in (("/api/ask", self.ask), ("/api/check_quote", self.check_quote))]

    async def ask(self, request: Request) -> Response:
        async def run(data: dict) -> bytes:
            question, plan, history = data.get("question"), data.get("plan"), data.get("history")
            if "question" not in data:
                raise ApiError(400, f"缺少 question 字段：{ASK_FIELDS['question']}。")
            if not isinstance(question, str):
                raise InputError("问题必须是文本。")
            if plan is not None and not isinstance(plan, str):
                raise InputError("plan 只能是规划的名称，例如 women / children（妇女规划 / 儿童规划）。")
            if history is not None and not (isinstance(history, list) and all(isinstance(x, str) for x in history)):
                raise InputError("history 必须是字符串列表：此前依次提出的问题。")
            history = list(history or [])
            with self.h.admit(request, self.h.ask_chars(question, history)):
                clean_question(question, self.h.settings.max_question_chars)  # bad input: 400 at once
                return await self.answer(self.h.ask_dict, question, plan, history)
        return await self.serve(request, ASK_FIELDS, run)

    async def check_quote(self, request: Request) -> Response:
        async def run(data: dict) -> bytes:
            passage = data.get("passage")
            if not isinstance(passage, str):
                raise ApiError(400, f"缺少 passage 字段或它不是文本：{QUOTE_FIELDS['passage']}。")
            with self.h.admit(request, len(passage)):
                clean_question(passage, self.h.settings.max_question_chars)
                return await self.answer(self.h.quote_dict, passage)
        return await self.serve(request, QUOTE_FIELDS, run)

    async def serve(self, request: Request, fields: dict[str, str], run: Callable) -> Response:
        """Log in, read and check the body, then run; any failure is a JSON error with its status."""
        try:
            self.check_login(request)
            data = known_fields(await read_json(request), fields)
            if self.pending >= API_QUEUE_LIMIT:
                raise ApiError(503, OVERLOADED, {"Retry-After": str(RETRY_SECONDS)})
            return json_response(200, await run(data))
        except Exception as exc:
            return error_response(api_error(exc))

    async def answer(self, work: Callable[..., dict], *args: object) -> bytes:
        """work(*args) as JSON bytes, computed in the answering pool while the event loop serves others."""
        self.pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self.pool, self.compute, time.monotonic(),
                                                                     work, *args)
        finally:
            self.pending -= 1

    def compute(self, queued: float, work: Callable[..., dict], *args: object) -> bytes:
        budget = self.h.settings.request_budget
        if budget > 0 and time.monotonic() - queued > budget:  # its client has waited long enough: say so
            raise ApiError(503, OVERLOADED, {"Retry-After": str(RETRY_SECONDS)})
        return json.dumps(work(*args), ensure_ascii=False).encode("utf-8")

    def check_login(self, request: Request) -> None:
        """Nothing when the app has no login or the request carries it (Basic, or the login cookie); 401 if not."""
        if self.login is None or logged_in(request):
            return
        given = basic_credentials(request.headers.get("authorization", ""))
        if given is not None:
            user_ok = hmac.compare_digest(given[0].encode(), self.login[0].encode())
            password_ok = hmac.compare_digest(given[1].encode(), self.login[1].encode())
            if user_ok and password_ok:
                return
        raise ApiError(401, LOGIN_NEEDED, {"WWW-Authenticate": 'Basic realm="plan-assistant", charset="UTF-8"'})


# ---- serving -----------------------------------------------------------------------------------


class ApiGate:
    """ASGI middleware in front of Gradio's routes: no file uploads, and no client-chosen session on /call.

    - POST /gradio_api/upload (and /process_recording, and files sent to /component_server) store
      what is sent under the Gradio temp dir, login or not. No component of this app takes a file,
      so they are refused with 403 before a byte is stored.
    - POST /gradio_api/call/<api> takes a session_hash from the body. Gradio 6 keeps one message
      queue per session, and GET /call/<api>/<event_id> reads the session's queue, not the event's:
      calls that share a hash take each other's results, then hang or end with a 404 (a KeyError
      inside Gradio). The API endpoints keep no session state, so the field is dropped and each
      call is a session of its own, as when a client sends none.
    - Every request body is capped here, at MAX_BODY_BYTES (a 413 on its Content-Length, before
      the route; a route's own max_body_size, the JSON API's, takes its place). With `upload_limit`
      (build_app with manage_documents, launched with a login), POST /gradio_api/upload from a
      logged-in page, the 文档管理 tab's upload, is let through and capped at upload_limit instead;
      every other upload is refused as before. (Not Starlette's app-wide max_body_size: FastAPI
      gives it to every route of Gradio's, where it would cap the tab's upload too.)
    """

    def __init__(self, app: ASGIApp, upload_limit: int | None = None) -> None:
        self.app = app
        self.upload_limit = upload_limit or 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = bool(self.upload_limit) and scope["method"] == "POST" and \
            scope["path"].rstrip("/").endswith(DOCUMENT_UPLOAD) and logged_in(Request(scope))
        limit = self.upload_limit + MULTIPART_SLACK if upload else MAX_BODY_BYTES
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if upload and declared.isdigit() and int(declared) > limit:
            # said in Chinese, before a byte is read; plain text, which the page shows as it is
            too_big = f"文件太大，不能超过 {size_text(self.upload_limit)}。"
            await PlainTextResponse(too_big, status_code=413)(scope, receive, send)
            return
        await RequestBodyLimitMiddleware(self.app if upload else self._gate, max_body_size=limit)(
            scope, receive, send)

    async def _gate(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        path = scope["path"].rstrip("/")
        multipart = dict(scope["headers"]).get(b"content-type", b"").startswith(b"multipart/")
        if path.endswith(UPLOAD_ROUTES) or (multipart and path.endswith("/gradio_api/component_server")):
            await _respond(send, 403, NO_UPLOADS)
            return
        if "/gradio_api/call/" in path:
            receive = await _without_session_hash(scope, receive)
        await self.app(scope, receive, send)


async def _respond(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}, ensure_ascii=False).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _without_session_hash(scope: Scope, receive: Receive) -> Receive:
    """Read the JSON body (its size is capped by MAX_BODY_BYTES outside) and drop "session_hash" from it."""
    chunks, last = [], None
    while True:
        message = await receive()
        if message["type"] != "http.request":
            last = message  # the client went away: pass that on after what was read
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    try:
        data = json.loads(body)
    except ValueError:
        data = None  # not JSON: Gradio refuses it itself
    if isinstance(data, dict) and "session_hash" in data:
        del data["session_hash"]
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
        scope["headers"] = [(k, v) for k, v in scope["headers"] if k != b"content-length"]
        scope["headers"].append((b"content-length", str(len(body)).encode()))
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
    if last is not None:
        pending.append(last)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay


class ChineseUi:
    """ASGI middleware: the page (GET /) tells Gradio's scripts that the browser's language is zh-CN.

    Gradio picks the language of its own strings (赞, 清除, 设置 ...) from navigator.language once,
    as its scripts start, before any head= script runs; an en-US browser got English buttons in a
    Chinese app. A script at the top of the page's <head> answers zh-CN first, so Gradio's own
    zh-CN translations (and the I18N additions) are used whatever the browser's language.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] != "/":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def rewrite(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers", []))
                if not headers.get(b"content-type", b"").startswith(b"text/html"):
                    await send(message)
                    return
                start = message
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks).replace(b"<head>", b"<head>" + LOCALE_SCRIPT, 1)
            headers = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
            await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, rewrite)


def login_from_env(env: Mapping[str, str]) -> tuple[str, str] | None:
    """(user, password) from ASSISTANT_APP_USER / ASSISTANT_APP_PASSWORD; None when neither is set."""
    user, password = env.get("ASSISTANT_APP_USER", ""), env.get("ASSISTANT_APP_PASSWORD", "")
    if bool(user) != bool(password):
        raise ValueError("set both ASSISTANT_APP_USER and ASSISTANT_APP_PASSWORD, or neither")
    return (user, password) if user else None


def launch(demo: gr.Blocks, host: str, port: int, auth: tuple[str, str] | None = None, block: bool = True,
           trusted_proxies: str = ""):
    """Serve the app locally: never a share link, no tracebacks to the browser, no uploads, bodies capped.

    `trusted_proxies` ("10.0.0.1, 10.1.0.0/16"): the only peers whose X-Forwarded-For is believed.
    Uvicorn, which Gradio starts without saying, believes it from 127.0.0.1 by default, so anyone on
    the machine could name any address and dodge the per-client limits; FORWARDED_ALLOW_IPS is the
    one way to tell it otherwise through gr.Blocks.launch, and "" trusts no one.

    The JSON API of build_app (POST /api/ask, /api/check_quote) is served beside Gradio's routes,
    behind the same login. An app with the 文档管理 tab (build_app(manage_documents=True)) needs the
    login, and takes that tab's uploads from a logged-in page only, up to the ingest size limit.
    """
    upload_limit: int | None = getattr(demo, "upload_limit", None)
    if upload_limit and auth is None:
        raise ValueError("the 文档管理 tab needs a login: set ASSISTANT_APP_USER and ASSISTANT_APP_PASSWORD")
    os.environ["FORWARDED_ALLOW_IPS"] = ",".join(parse_proxies(trusted_proxies))
    api: JsonApi | None = getattr(demo, "json_api", None)
    if api is not None:
        api.login = auth
    return demo.launch(server_name=host, server_port=port, share=False, auth=auth, show_error=False,
                       auth_message="请输入账号和密码。" if auth else None, prevent_thread_lock=not block,
                       ssr_mode=False, quiet=True, css=CSS, head=HEAD,
                       i18n=I18N, footer_links=[],  # no footer: its links lead to pages in English
                       # the browser checks max_file_size itself, with an English message; with the tab's
                       # uploads open, ApiGate caps them instead, and ingest's check says it in Chinese
                       max_file_size=None if upload_limit else MAX_BODY_BYTES,
                       app_kwargs={"middleware": [Middleware(ApiGate, upload_limit=upload_limit),  # caps bodies
                                                  Middleware(ChineseUi)],
                                   # the JSON API, before Gradio's own routes
                                   "routes": api.routes() if api is not None else []})


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="规划问答助手（网页版）")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=7860, help="port to listen on (default 7860)")
    return p.parse_args(argv)


STARTUP_STAGES = {"embedding": "the index is missing or out of date: building it ({total} passages) ...",
                  "sentences": "embedding the plans' sentences ({total}) ..."}


def startup_progress() -> Callable[[str, int, int], None]:
    """What app.py says while the Assistant loads: a line when a build (or an embedding) starts and one when it
    is done; nothing when the index is current, as after `make run`'s build."""
    started: set[str] = set()

    def report(stage: str, done: int, total: int) -> None:
        if stage not in started:
            started.add(stage)
            print(STARTUP_STAGES.get(stage, stage + " ...").format(total=total), file=sys.stderr, flush=True)
        if done >= total:
            print(f"{stage}: done ({total})", file=sys.stderr, flush=True)
            started.discard(stage)
    return report


def main(argv: list[str] | None = None) -> int:
    """Build the index if needed, then serve the app."""
    args = parse_args(argv)
    # Before the embedding engine loads (on first use): one OpenMP thread per answering thread. With
    # its default of one per core, a core taken by anything else (another answer, the event loop,
    # another process) stalls each parallel step: served answers were slower at one client (p50 62
    # against 51 ms) and at 50 (17 against 20 a second), and 30 ms answers took 1-3 s beside a busy process.
    os.environ.setdefault("OMP_NUM_THREADS", OMP_THREADS)
    settings = Settings.from_env()
    logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
    try:
        auth = login_from_env(os.environ)
        parse_proxies(settings.trusted_proxies)  # a mistyped proxy stops here, not after loading
        print("loading the assistant ...", file=sys.stderr, flush=True)
        assistant = Assistant(settings, progress=startup_progress())
    except (AssistantError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # Gradio's own start-up lines suggest share=True; this app never makes a share link.
    print(f"serving on http://{args.host}:{args.port} (Ctrl-C to stop)", file=sys.stderr, flush=True)
    launch(build_app(assistant, manage_documents=auth is not None), args.host, args.port, auth,
           trusted_proxies=settings.trusted_proxies)
    return 0


if __name__ == "__main__":
    sys.exit(main())
