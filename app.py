"""Gradio app: chat with sources, plan browser, indicator tables, quote checker, feedback.

The UI renders what an `Assistant` returns (through `assistant.views`); it holds no retrieval logic.
Every feature is also a named API endpoint (/ask, /check_quote, /indicators, /outline, /feedback).

    python app.py [--host 127.0.0.1] [--port 7860]
"""

import argparse
import logging
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported: no usage reporting

import gradio as gr  # noqa: E402

from assistant import views  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.core import Assistant  # noqa: E402
from assistant.errors import AssistantError, InputError  # noqa: E402
from assistant.feedback import FeedbackError, record_feedback  # noqa: E402
from assistant.limits import TokenBucketLimiter  # noqa: E402
from assistant.types import Answer  # noqa: E402

log = logging.getLogger("assistant.app")
T = TypeVar("T")

TITLE = "嘉兴市妇女儿童发展“十四五”规划问答"
INTRO = ("依据《嘉兴市妇女发展“十四五”规划》和《嘉兴市儿童发展“十四五”规划》原文回答，"
         "每个回答都标出处，可点开核对原文。规划没有写明的内容会如实说明。")
UNEXPECTED = "抱歉，处理这个请求时出了问题，请稍后再试或换一种问法。"
EXAMPLES = {
    "市民常问": ["婚前医学检查率目标是多少", "婴儿死亡率要控制在多少", "普惠托育服务项目要做什么"],
    "新入职工作人员": ["妇女与健康领域有哪些任务", "儿童与安全领域有哪些任务", "规划的组织实施由谁负责"],
    "培训师核对引文": ["规划里是不是说“至少设有2家危重新生儿救治中心”？",
                "规划里是不是说“婚前医学检查率保持在85％以上”？"],
}
BROWSER_PLANS = ["妇女规划", "儿童规划"]

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
"""

# Citation links and outline links are handled in the page: a citation sets the hidden #goto box,
# whose input event asks the server for the plan text with the quote marked.
HEAD = """
<script>
window.planScrollTo = function (selector) {
  let tries = 0;
  const go = () => {
    const el = document.querySelector(selector);
    if (el) { el.scrollIntoView({block: "center"}); return; }
    if (tries++ < 20) setTimeout(go, 150);
  };
  setTimeout(go, 150);
};
document.addEventListener("click", (event) => {
  const link = event.target.closest ? event.target.closest("a") : null;
  if (!link) return;
  const href = link.getAttribute("href") || "";
  if (href.startsWith("#cite:")) {
    event.preventDefault();
    const box = document.querySelector("#goto textarea, #goto input");
    if (!box) return;
    box.value = decodeURIComponent(href.slice(6)) + "|" + Date.now();
    box.dispatchEvent(new Event("input", {bubbles: true}));
    return;
  }
  if (href.startsWith("#n-") || href.startsWith("#c")) {
    const target = document.getElementById(href.slice(1));
    if (!target) return;
    event.preventDefault();
    document.querySelectorAll(".plan-text section.selected").forEach((s) => s.classList.remove("selected"));
    if (target.tagName === "SECTION") target.classList.add("selected");
    target.scrollIntoView({block: "start"});
  }
}, true);
</script>
"""


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


@dataclass
class Turn:
    """One exchange of the chat: what the person typed and what the assistant answered."""

    question: str
    answer: Answer


class Handlers:
    """What each UI event and API endpoint does, on top of one Assistant."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant
        self.corpus = assistant.corpus
        self.settings = assistant.settings
        rate = self.settings.rate_limit_per_minute
        self.limiter = (TokenBucketLimiter(rate, per=60.0, burst=max(1, self.settings.rate_limit_burst))
                        if rate > 0 else None)
        # Events that call the Assistant share one queue slot group (settings.app_concurrency).
        self.queue = {"concurrency_id": "assistant", "concurrency_limit": max(1, self.settings.app_concurrency)}

    def admit(self, request: gr.Request | None) -> None:
        """Count one question against the client's rate limit; InputError with a clear message when over it."""
        if self.limiter is None or request is None:
            return
        client = getattr(request, "session_hash", None) or getattr(getattr(request, "client", None), "host", "") or "?"
        decision = self.limiter.check(str(client))
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
            self.admit(request)
            yield from self.assistant.ask_stream(question, history=history, plan=views.plan_key(plan_label))
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

    def like(self, turns: list[Turn] | None, data: gr.LikeData) -> str:
        """Record a thumbs up/down on an answer in the chat (message 2n+1 is turn n's answer)."""
        index = data.index if isinstance(data.index, int) else data.index[0]
        turns = turns or []
        if data.liked not in (True, False) or not 0 <= index // 2 < len(turns):
            return ""
        turn = turns[index // 2]
        if turn.answer.kind == "error":
            return "这条是提示信息，不是回答，无需评价。"
        try:
            self.record(turn.question, turn.answer.answer, "up" if data.liked else "down")
        except Exception as exc:
            return "⚠️ " + fail_message(exc)
        return "已记录您的评价，谢谢！"

    # ---- plan browser, tables, quote checker (UI) --------------------------------------------

    def plan_view(self, plan_label: str) -> tuple[str, str]:
        """(outline, full text) of one plan."""
        key = views.plan_key(plan_label) or "women"
        found = next(views.iter_plans(self.corpus, key), None)
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

    def indicator_table(self, plan_label: str, query: str) -> list[list[str]]:
        """Rows of the target tables for the UI table."""
        return views.indicator_rows(self.corpus, views.plan_key(plan_label), query or "")

    def quote_result(self, passage: str, request: gr.Request = None) -> str:
        """The quote checker's verdict as HTML."""
        try:
            self.admit(request)
            answer = self.assistant.check_quote(passage)
        except Exception as exc:
            return views.error_html(fail_message(exc))
        return views.quote_check_html(answer, passage, self.corpus)

    # ---- API ---------------------------------------------------------------------------------

    def record(self, question: str, answer: str, rating: str) -> dict:
        return record_feedback(self.settings.feedback_path, self.settings.feedback_max_bytes,
                               question, answer, rating)

    def api_ask(self, question: str, plan: str = "全部", history: list[str] | None = None,
                request: gr.Request = None) -> dict:
        """Answer a question; `history` lists the earlier questions of the conversation (for follow-ups)."""
        def run() -> dict:
            self.admit(request)
            return views.answer_dict(self.assistant.ask(question, history=list(history or []),
                                                        plan=views.plan_key(plan)))
        return api_guard(run)

    def api_check_quote(self, passage: str, request: gr.Request = None) -> dict:
        """Check a passage against the plan text: 原文一致 / 与原文不一致 / 未找到, with the source wording."""
        def run() -> dict:
            self.admit(request)
            return views.quote_check_dict(self.assistant.check_quote(passage))
        return api_guard(run)

    def api_indicators(self, plan: str = "全部", query: str = "") -> list[dict]:
        """Rows of the indicator target tables, filtered by plan and by words."""
        return api_guard(lambda: views.indicator_dicts(self.corpus, views.plan_key(plan), query or ""))

    def api_outline(self, plan: str = "全部") -> list[dict]:
        """The plan structure (plan > part > section > item) with each node's text."""
        return api_guard(lambda: views.outline(self.corpus, views.plan_key(plan)))

    def api_feedback(self, question: str, answer: str, rating: str) -> dict:
        """Record a rating ("up" or "down") of an answer."""
        return api_guard(lambda: {"ok": True, "message": "已记录，谢谢！",
                                  "record": self.record(question, answer, rating)})


# ---- layout ------------------------------------------------------------------------------------


def chat_tab(h: Handlers) -> None:
    """问答: plan filter, the conversation, the question box, examples and feedback status."""
    plan = gr.Radio(list(views.PLAN_FILTERS), value="全部", label="检索范围", elem_id="chat-plan")
    chatbot = gr.Chatbot(label="对话", height=560, elem_id="chatbot", render_markdown=True, sanitize_html=True,
                         latex_delimiters=[], feedback_options=("Like", "Dislike"),
                         placeholder="请输入问题，例如：婚前医学检查率目标是多少")
    with gr.Row():
        question = gr.Textbox(label="问题", placeholder="输入问题后按回车或点“提问”", scale=5, max_lines=4,
                              elem_id="question")
        send = gr.Button("提问", variant="primary", scale=1, elem_id="send")
    status = gr.Markdown(elem_id="status")
    clear = gr.Button("开始新对话", size="sm")
    for label, questions in EXAMPLES.items():
        gr.Examples([[q] for q in questions], inputs=[question], label=label)
    turns = gr.State([])
    for trigger in (send.click, question.submit):
        trigger(h.chat, [question, plan, turns], [chatbot, turns, question], api_visibility="private",
                **h.queue)
    clear.click(lambda: ([], [], ""), None, [chatbot, turns, status], api_visibility="private")
    chatbot.like(h.like, [turns], [status], api_visibility="private")


def browser_tab(h: Handlers, tabs: gr.Tabs, goto: gr.Textbox) -> None:
    """规划浏览: the outline beside the full text; citation links open it at the quoted passage."""
    outline, text = h.plan_view(BROWSER_PLANS[0])
    plan = gr.Radio(BROWSER_PLANS, value=BROWSER_PLANS[0], label="规划", elem_id="browser-plan")
    with gr.Row():
        with gr.Column(scale=1, elem_id="outline-panel"):
            outline_box = gr.HTML(outline, elem_id="outline")
        with gr.Column(scale=3, elem_id="plan-text-panel"):
            text_box = gr.HTML(text, elem_id="plan-text")
    plan.input(h.plan_view, [plan], [outline_box, text_box], api_visibility="private")
    goto.change(h.goto, [goto], [tabs, plan, outline_box, text_box], api_visibility="private").then(
        None, js="() => window.planScrollTo && window.planScrollTo('.plan-text .cited')")


def indicators_tab(h: Handlers) -> None:
    """指标表: both target tables, filtered by plan and by text."""
    with gr.Row():
        plan = gr.Radio(list(views.PLAN_FILTERS), value="全部", label="规划", elem_id="indicator-plan")
        query = gr.Textbox(label="筛选", placeholder="例如：健康、死亡率、托位", elem_id="indicator-query")
    table = gr.Dataframe(h.indicator_table("全部", ""), headers=views.INDICATOR_HEADERS, interactive=False,
                         wrap=True, elem_id="indicator-table", max_height=800)
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


def build_app(assistant: Assistant) -> gr.Blocks:
    """The Blocks app for one Assistant: four tabs and the named API endpoints."""
    h = Handlers(assistant)
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        gr.Markdown(f"## {TITLE}\n{INTRO}")
        # Outside the tabs, so that it is in the page whichever tab is open (tabs render lazily).
        goto = gr.Textbox(visible="hidden", elem_id="goto")
        with gr.Tabs(selected="chat") as tabs:
            with gr.Tab("问答", id="chat"):
                chat_tab(h)
            with gr.Tab("规划浏览", id="browser"):
                browser_tab(h, tabs, goto)
            with gr.Tab("指标表", id="indicators"):
                indicators_tab(h)
            with gr.Tab("引文核对", id="quote"):
                quote_tab(h)
        gr.api(h.api_ask, api_name="ask", **h.queue)
        gr.api(h.api_check_quote, api_name="check_quote", **h.queue)
        gr.api(h.api_indicators, api_name="indicators")
        gr.api(h.api_outline, api_name="outline")
        gr.api(h.api_feedback, api_name="feedback")
    return demo


# ---- serving -----------------------------------------------------------------------------------


def login_from_env(env: Mapping[str, str]) -> tuple[str, str] | None:
    """(user, password) from ASSISTANT_APP_USER / ASSISTANT_APP_PASSWORD; None when neither is set."""
    user, password = env.get("ASSISTANT_APP_USER", ""), env.get("ASSISTANT_APP_PASSWORD", "")
    if bool(user) != bool(password):
        raise ValueError("set both ASSISTANT_APP_USER and ASSISTANT_APP_PASSWORD, or neither")
    return (user, password) if user else None


def launch(demo: gr.Blocks, host: str, port: int, auth: tuple[str, str] | None = None, block: bool = True):
    """Serve the app locally: never a share link, no tracebacks to the browser."""
    return demo.launch(server_name=host, server_port=port, share=False, auth=auth, show_error=False,
                       auth_message="请输入账号和密码。" if auth else None, prevent_thread_lock=not block,
                       ssr_mode=False, quiet=True, css=CSS, head=HEAD)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=TITLE + "（网页版）")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=7860, help="port to listen on (default 7860)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Build the index if needed, then serve the app."""
    args = parse_args(argv)
    settings = Settings.from_env()
    logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
    try:
        auth = login_from_env(os.environ)
        built = settings.chroma_host or (Path(settings.index_dir) / "CURRENT").exists()
        print("loading the assistant ..." if built else "building the index (first run, ~20 s) ...", file=sys.stderr)
        assistant = Assistant(settings)
    except (AssistantError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # Gradio's own start-up lines suggest share=True; this app never makes a share link.
    print(f"serving on http://{args.host}:{args.port} (Ctrl-C to stop)", file=sys.stderr, flush=True)
    launch(build_app(assistant), args.host, args.port, auth)
    return 0


if __name__ == "__main__":
    sys.exit(main())
