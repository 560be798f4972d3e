"""The real page in headless Chromium: chat with citation cards, plan browser, tables, quote checker, XSS."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

import app

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
XSS_QUESTIONS = ['<img src=x onerror="window.__xss=1">婴儿死亡率是多少', "<script>window.__xss=1</script>托育服务"]
TIMEOUT = 60_000  # ms: the first question of a session also warms the embedder

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),  # gradio's queue vs pandas 3, not ours
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium (apt-get install chromium "
                       "fonts-wqy-microhei); Playwright's own browser download does not work here"),
]


@pytest.fixture(scope="module")
def app_url(assistant):
    """One app server for this module (in-process, on the session's temporary index)."""
    demo = app.build_app(assistant)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app.launch(demo, "127.0.0.1", port, block=False)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser, app_url):
    """A fresh page (and so a fresh conversation) on the app."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="zh-CN")
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT)
    pg.goto(app_url)
    pg.wait_for_selector("#question textarea")
    yield pg
    context.close()


def ask(page, question: str):
    """Type a question, send it, and wait for its answer; returns the answer's locator."""
    answers = page.locator("#chatbot .answer")
    before = answers.count()
    page.fill("#question textarea", question)
    page.click("#send")
    page.wait_for_function(f"document.querySelectorAll('#chatbot .answer').length > {before}")
    return answers.nth(before)


def open_tab(page, name: str) -> None:
    page.click(f"button[role=tab]:has-text('{name}')")


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def test_answer_comes_first_with_citation_cards_and_follow_up(page):
    answer = ask(page, "婚前医学检查率目标是多少")
    text = answer.inner_text()
    assert "85" in text and "92.41" in text
    assert text.index("92.41") < text.index("出处")  # the answer first, its sources under it
    cards = answer.locator(".card")
    assert cards.count() >= 1
    assert "婚前医学检查率" in cards.first.inner_text()
    assert answer.locator(".card mark.cited").count() >= 1
    assert answer.locator("sup.marker a").first.inner_text() == "[1]"
    follow = ask(page, "那2020年是多少？")
    assert "2020年为92.41" in follow.inner_text()
    assert page.locator("#chatbot .question").nth(1).inner_text() == "那2020年是多少？"
    shot(page, "chat.png")


def test_citation_link_opens_the_plan_browser_at_the_quote(page):
    answer = ask(page, "婚前医学检查率目标是多少")
    card = answer.locator(".card").last
    quote = card.locator("mark.cited").inner_text()
    card.locator("a.goto").click()
    page.wait_for_selector(".plan-text mark.cited")
    assert page.locator("button[role=tab][aria-selected=true]").inner_text() == "规划浏览"
    assert page.locator(".plan-text mark.cited").first.inner_text() == quote
    assert page.locator(".plan-text section.selected").count() == 1
    page.wait_for_function("""() => { const m = document.querySelector('.plan-text mark.cited');
        const r = m.getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight; }""")
    page.screenshot(path=str(ARTIFACTS / "browser-citation.png"))


def test_plan_browser_outline_navigates_both_plans(page):
    open_tab(page, "规划浏览")
    page.wait_for_selector("#outline .outline")
    assert "（二）妇女与健康" in page.locator("#outline").inner_text()
    page.click("#outline a:has-text('3．提升妇女生殖健康服务水平')")
    selected = page.locator(".plan-text section.selected")
    assert "婚前医学检查率保持在85％以上" in selected.inner_text()
    page.click("#browser-plan label:has-text('儿童规划')")
    page.wait_for_function("document.querySelector('.plan-text h3').textContent.includes('儿童')")
    assert "（二）儿童与健康" in page.locator("#outline").inner_text()
    shot(page, "browser.png")


def test_html_in_a_question_is_shown_as_text_not_run(page):
    for question in XSS_QUESTIONS:
        ask(page, question)
    page.wait_for_timeout(500)
    assert page.evaluate("typeof window.__xss") == "undefined"
    shown = page.locator("#chatbot .question")
    assert shown.nth(0).inner_text() == XSS_QUESTIONS[0]
    assert shown.nth(1).inner_text() == XSS_QUESTIONS[1]
    assert page.locator("#chatbot .question img, #chatbot .question script").count() == 0
    shot(page, "xss.png")


def test_errors_and_refusals_are_clear_messages(page):
    assert "问题是空的" in ask(page, "   ").inner_text()
    refusal = ask(page, "2030年婚前医学检查率目标是多少")
    assert "规划中没有写明" in refusal.inner_text() and "最接近的段落" in refusal.inner_text()
    assert "Traceback" not in page.content()


def test_thumbs_up_appends_feedback(page, assistant):
    path = Path(assistant.settings.feedback_path)
    before = path.read_text(encoding="utf-8").count("\n") if path.exists() else 0
    ask(page, "婴儿死亡率目标是多少")
    page.locator("#chatbot button[aria-label='赞'], #chatbot button[aria-label='Like']").last.click()
    page.wait_for_function("document.querySelector('#status').innerText.includes('已记录')")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == before + 1
    record = json.loads(lines[-1])
    assert record["question"] == "婴儿死亡率目标是多少" and record["rating"] == "up"


def test_indicator_tables_filter_by_plan_and_text(page):
    open_tab(page, "指标表")
    table = page.locator("#indicator-table")
    table.wait_for()
    assert "婚前医学检查率（％）" in table.inner_text()
    page.fill("#indicator-query textarea", "死亡率")
    page.wait_for_function("!document.querySelector('#indicator-table').innerText.includes('婚前医学检查率')")
    text = table.inner_text()
    assert "婴儿死亡率（‰）" in text and "孕产妇死亡率（1/10万）" in text
    page.click("#indicator-plan label:has-text('儿童规划')")
    page.wait_for_function("!document.querySelector('#indicator-table').innerText.includes('孕产妇死亡率')")
    assert "婴儿死亡率（‰）" in table.inner_text()
    shot(page, "indicators.png")


def test_quote_checker_marks_the_differing_number(page):
    open_tab(page, "引文核对")
    page.fill("#passage textarea", "至少设有2家危重新生儿救治中心")
    page.click("#check")
    page.wait_for_selector("#quote-result .verdict")
    result = page.locator("#quote-result")
    assert result.locator(".verdict").inner_text() == "与原文不一致"
    assert result.locator("mark.diff-source").inner_text() == "1"
    assert result.locator("mark.diff-quoted").inner_text() == "2"
    assert "1家" in result.inner_text() and "保障新生儿安全与健康" in result.inner_text()
    shot(page, "quote.png")


def test_quote_checker_shows_markup_and_template_syntax_as_text(page):
    open_tab(page, "引文核对")
    passage = '<img src=x onerror="window.__xss=1">${window.__xss=1}{{constructor}}火星基地'
    page.fill("#passage textarea", passage)
    page.click("#check")
    page.wait_for_selector("#quote-result .verdict")
    assert page.locator("#quote-result .verdict").inner_text() == "未找到"
    assert passage in page.locator("#quote-result").inner_text()
    assert page.locator("#quote-result img").count() == 0
    assert page.evaluate("typeof window.__xss") == "undefined"
