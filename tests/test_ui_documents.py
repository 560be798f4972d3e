"""The 文档管理 tab in headless Chromium, on an app launched with a login over a tiny temporary corpus.

Log in, upload a plan, read its parse summary, commit it while the progress shows, find it in the
list, ask about it in the chat; a bad upload shows its error and changes nothing; without a login
the tab is not there. Screenshots go to test-artifacts/docs-*.png.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

import gradio as gr
import pytest
from chromium import ARTIFACTS, MARKS
from plan_files import CHILDCARE_TITLE, tiny_settings, write_childcare_txt

import app
from assistant import Assistant
from assistant.config import Settings

TIMEOUT = 60_000  # ms
LOGIN = ("trainer", "s3cret")
QUESTION = "每千人口拥有3岁以下婴幼儿托位数目标是多少"

pytestmark = MARKS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Assistant:
    """An Assistant over a corpus of one short plan (plan_files' 养老 plan), in a temporary folder."""
    return Assistant(tiny_settings(tmp_path_factory.mktemp("ui-docs")))


@pytest.fixture(scope="module")
def app_url(tiny, monkeypatch_module):
    """The app with the 文档管理 tab, launched with a login (in-process, on the tiny corpus)."""
    monkeypatch_module.setattr(app, "RELOAD_CHECK_SECONDS", 0.0)  # the chat sees a new index at once
    demo = app.build_app(tiny, manage_documents=True)
    port = free_port()
    app.launch(demo, "127.0.0.1", port, auth=LOGIN, block=False)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def new_page(browser, url: str):
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    page.goto(url)
    return page


@pytest.fixture()
def page(browser, app_url):
    """A page logged in through the login form, on the 文档管理 tab."""
    pg = new_page(browser, app_url)
    pg.wait_for_selector("input[type=password]")
    pg.locator("input").first.fill(LOGIN[0])
    pg.fill("input[type=password]", LOGIN[1])
    pg.keyboard.press("Enter")
    pg.wait_for_selector("#question textarea")
    pg.click("button[role=tab]:has-text('文档管理')")
    pg.wait_for_selector("#doc-list")
    yield pg
    pg.context.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def upload(page, path: Path) -> None:
    if page.locator("#doc-upload input[type=file]").count() == 0:  # a file is shown: clear it first
        page.click("#doc-upload button[aria-label='清除']")
    page.set_input_files("#doc-upload input[type=file]", str(path))


def corpus_state(settings: Settings) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in Path(settings.corpus_dir).iterdir() if p.is_file()}


def test_upload_preview_commit_ask_and_remove(page, tiny, tmp_path):
    plan = write_childcare_txt(tmp_path / "示范市托育规划.txt", tasks=30)  # ~30 passages: a build to watch
    upload(page, plan)
    summary = page.locator("#doc-summary .doc-summary")
    summary.wait_for()
    text = summary.inner_text()
    assert "解析结果（尚未提交）" in text and CHILDCARE_TITLE in text and "示范市托育规划.txt（新增文档）" in text
    assert "条目 31 个" in text and "0 行" in summary.locator("tr:has-text('指标表')").inner_text()
    assert "没有识别出指标表" in page.locator("#doc-summary .doc-warnings").inner_text()
    assert not any(Path(tiny.settings.corpus_dir).glob("示范市托育规划*"))  # nothing committed yet
    shot(page, "docs-summary.png")

    page.click("#doc-commit")
    page.wait_for_selector("#doc-status .doc-running")
    assert "正在添加“示范市托育规划.txt”" in page.locator("#doc-status").inner_text()
    page.wait_for_selector("#doc-status .doc-running progress[max]")  # the embedding, counted
    shot(page, "docs-progress.png")
    page.wait_for_selector("#doc-status .doc-done", timeout=180_000)
    assert "已添加文档“示范市托育规划”" in page.locator("#doc-status").inner_text()
    page.wait_for_function("document.querySelector('#doc-list').innerText.includes('示范市托育规划.txt')")
    assert page.locator("#doc-summary .doc-summary").count() == 0  # the upload is consumed
    shot(page, "docs-added.png")

    page.click("button[role=tab]:has-text('问答')")
    before = page.locator("#chatbot .answer").count()
    page.fill("#question textarea", QUESTION)
    page.click("#send")
    page.wait_for_function(f"document.querySelectorAll('#chatbot .answer').length > {before}")
    answer = page.locator("#chatbot .answer").nth(before)
    assert "4.5个" in answer.inner_text()
    assert CHILDCARE_TITLE in answer.locator(".card").first.inner_text()
    shot(page, "docs-ask.png")

    page.click("button[role=tab]:has-text('文档管理')")
    page.on("dialog", lambda dialog: dialog.accept())  # 确定删除文档“…”吗？
    page.locator("#doc-choice input").click()
    page.locator("ul[role=listbox] li:has-text('示范市托育规划')").click()
    page.click("#doc-remove")
    page.wait_for_function("document.querySelector('#doc-status').innerText.includes('已删除文档')",
                           timeout=180_000)
    page.wait_for_function("!document.querySelector('#doc-list').innerText.includes('示范市托育规划')")
    assert [p.name for p in Path(tiny.settings.corpus_dir).glob("*.txt")] == ["yanglao.txt"]


def test_the_tab_speaks_chinese(page):
    """No English in its labels and tooltips (the chat's are test_ui_browser's), and no HTML."""
    labels = page.evaluate("""() => [...document.querySelectorAll('#documents-tab *')].flatMap(
        (el) => ['aria-label', 'title', 'placeholder'].map((a) => el.getAttribute(a)).filter(Boolean))""")
    english = {label for label in labels if re.search(r"[A-Za-z]{3,}|<", label)}
    assert not english, english  # Gradio's file drop zone's too (relabelled by ui/page.js LABELS)
    words = page.locator("#documents-tab button, #documents-tab label, #documents-tab caption, #documents-tab th")
    assert not [w for w in words.all_inner_texts() if re.search(r"[A-Za-z]{3,}", w)]


def test_a_bad_upload_shows_the_error_and_changes_nothing(page, tiny, tmp_path):
    listed = page.locator("#doc-list tbody").inner_text()
    before = corpus_state(tiny.settings)
    bad = tmp_path / "旧编码规划.txt"
    bad.write_bytes("示范市托育服务发展规划\n一、总体要求\n".encode("gbk"))
    upload(page, bad)
    error = page.locator("#doc-summary .error")
    error.wait_for()
    assert "“旧编码规划.txt”未能添加：文件不是 UTF-8 编码的文本" in error.inner_text()
    assert "文档库没有任何改动" in error.inner_text()
    assert page.locator("#doc-commit").is_disabled()
    shot(page, "docs-bad-upload.png")
    assert page.locator("#doc-list tbody").inner_text() == listed
    assert corpus_state(tiny.settings) == before
    uploads = Path(gr.utils.get_upload_folder())
    assert not list(uploads.rglob(bad.name))  # the refused upload is deleted


def test_without_a_login_there_is_no_documents_tab(browser, tiny):
    demo = app.build_app(tiny)  # what main() builds when ASSISTANT_APP_USER is not set
    port = free_port()
    app.launch(demo, "127.0.0.1", port, block=False)
    try:
        page = new_page(browser, f"http://127.0.0.1:{port}/")
        page.wait_for_selector("#question textarea")
        tabs = page.locator("button[role=tab]").all_inner_texts()
        assert "问答" in tabs and "文档管理" not in tabs
        assert page.locator("#doc-upload, #doc-list").count() == 0
        shot(page, "docs-no-login.png")
        page.context.close()
    finally:
        demo.close()
    with pytest.raises(ValueError, match="needs a login"):  # nor can the tab be served without one
        app.launch(app.build_app(tiny, manage_documents=True), "127.0.0.1", free_port(), block=False)
