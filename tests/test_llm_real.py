"""LLM mode against the real local model (`make llm`): run when its server answers, skipped otherwise.

Point the tests at it with ASSISTANT_TEST_LLM_URL (default http://127.0.0.1:8089/v1). What the model
writes varies; what must hold does not: a shown answer passes the grounding check and cites exact
spans, anything else falls back to the extractive answer with a reason, and a slow model never
holds the user past the timeout.
"""

from __future__ import annotations

import os
import re
import socket
import time
import urllib.request

import pytest
from chromium import CHROMIUM

from assistant.grounding import check_grounding

URL = os.environ.get("ASSISTANT_TEST_LLM_URL", "http://127.0.0.1:8089/v1")


def _up() -> bool:
    try:
        with urllib.request.urlopen(f"{URL}/models", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


pytestmark = [pytest.mark.llm_real, pytest.mark.skipif(not _up(), reason=f"no local model at {URL} (run `make llm`)")]


@pytest.fixture(scope="module")
def real(session_settings, assistant):
    from assistant import Assistant

    return Assistant(session_settings.with_(llm_base_url=URL, llm_model="local", llm_timeout=120))


def test_a_real_answer_is_grounded_or_falls_back_with_a_reason(real, assistant):
    extractive = assistant.ask("婚前医学检查率目标是多少")
    answer = real.ask("婚前医学检查率目标是多少")
    note = answer.context["llm"]
    assert note == "used" or note.startswith("fallback: "), note
    for c in answer.citations:
        assert real.corpus.quote(c.doc, c.start, c.end) == c.quote
    if note == "used":
        assert "85" in answer.answer  # the row's target, as the plan writes it (>85％)
    else:
        assert answer.answer == extractive.answer


def test_a_shown_answer_never_states_a_number_its_citations_lack(real):
    for question in ("孕产妇死亡率要控制在多少", "产前筛查率要达到多少"):
        answer = real.ask(question)
        if answer.context["llm"] != "used":
            continue  # fell back: the extractive answer, tested elsewhere
        quoted = "".join(c.quote for c in answer.citations)
        for number in re.findall(r"\d+(?:\.\d+)?", re.sub(r"\[\d+\]", "", answer.answer)):
            # a year may come from the table's column heads, which the row sentence names
            assert number in quoted or re.fullmatch(r"(?:19|20)\d\d", number), (number, answer.answer)


def test_a_slow_model_falls_back_within_the_timeout(session_settings, assistant):
    from assistant import Assistant

    impatient = Assistant(session_settings.with_(llm_base_url=URL, llm_model="local", llm_timeout=0.5))
    started = time.perf_counter()
    answer = impatient.ask("妇女规划里关于就业有哪些措施")
    assert time.perf_counter() - started < 5
    assert answer.context["llm"].startswith("fallback: timeout"), answer.context["llm"]
    assert answer.answerable and answer.citations


def test_check_grounding_is_what_decides(real):
    # the same check the app runs: a model reply with a number no passage holds is refused
    answer = real.ask("婚前医学检查率目标是多少")
    passages = real.llm.passages(answer)
    assert check_grounding("婚前医学检查率目标为95％[1]。", passages).startswith("number")


# Every state of the latest answer bubble as the page draws it: its text and how many citation cards
# it has. A streamed answer shows the model's checked sentences first (no cards), then the final one.
OBSERVE = """() => {
  window.__seen = [];
  const chat = document.querySelector('#chatbot');
  new MutationObserver(() => {
    const answer = [...chat.querySelectorAll('.answer')].pop();
    if (!answer) return;
    const p = answer.querySelector('p');
    const state = {text: p ? p.innerText : '', cards: answer.querySelectorAll('.card').length};
    const last = window.__seen[window.__seen.length - 1];
    if (!last || last.text !== state.text || last.cards !== state.cards) window.__seen.push(state);
  }).observe(chat, {childList: true, subtree: true, characterData: true});
}"""
STREAMED = "妇女规划里关于就业有哪些措施"  # a list: several sentences, so several checked steps


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium (see tests/chromium.py)")
def test_the_app_streams_the_real_models_checked_sentences_in_chromium(real, browser):
    import app

    demo = app.build_app(real)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app.launch(demo, "127.0.0.1", port, block=False)
    try:
        page = browser.new_page(locale="zh-CN")
        page.set_default_timeout(180_000)  # a real model on 2 cores: about 10 s, more when the CPU is shared
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_selector("#question textarea")
        page.evaluate(OBSERVE)
        page.fill("#question textarea", STREAMED)
        page.click("#send")
        page.wait_for_function("document.querySelector('#chatbot .answer .card') !== null")
        page.wait_for_timeout(300)
        seen = page.evaluate("window.__seen")
    finally:
        demo.close()
    *partial, final = seen
    assert final["cards"] >= 1 and final["text"], seen
    assert partial and all(s["cards"] == 0 for s in partial), seen  # sentences first, the cards with the end
    texts = [s["text"] for s in partial if s["text"]]
    assert texts and all(b.startswith(a) for a, b in zip(texts, texts[1:])), texts  # it only grows
    if real.ask(STREAMED).context["llm"] == "used":  # greedy decoding: the same reply again
        assert final["text"].startswith(texts[-1]), (final, texts)  # the streamed text is the answer's start
