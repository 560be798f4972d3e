"""The Gradio app, served for real and called through gradio_client and its JSON API; its handlers; feedback storage."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import gradio as gr
import httpx
import pytest
from gradio_client import Client

import app
from assistant.feedback import FeedbackError, feedback_record, record_feedback

# gradio's own queue code trips pandas deprecation warnings on every event; they are not ours.
GRADIO_NOISE = [pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
                pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]
pytestmark = [pytest.mark.slow, *GRADIO_NOISE]
ROOT = Path(__file__).resolve().parents[1]
ENDPOINTS = {"/ask", "/check_quote", "/indicators", "/outline", "/feedback"}
QUESTION = "婚前医学检查率目标是多少"
CJK = re.compile(r"[\u4e00-\u9fff]")


def last(steps):
    """The final state of a chat event (the handler streams while a model writes)."""
    *_, final = steps
    return final


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen | None = None, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"app.py exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise TimeoutError(f"nothing listens on port {port} after {timeout} s")


@pytest.fixture(scope="module")
def served(assistant):
    """One app server for this module (in-process, on the session's temporary index)."""
    demo = app.build_app(assistant)
    port = free_port()
    app.launch(demo, "127.0.0.1", port, block=False)
    yield demo, f"http://127.0.0.1:{port}/"
    demo.close()


@pytest.fixture(scope="module")
def client(served) -> Client:
    return Client(served[1], verbose=False)


@pytest.fixture()
def handlers(assistant) -> app.Handlers:
    return app.Handlers(assistant)


def same_as_corpus(assistant, citations: list[dict]) -> bool:
    return all(assistant.corpus.quote(c["doc"], c["start"], c["end"]) == c["quote"] for c in citations)


# ---- through gradio_client ---------------------------------------------------------------------


def test_only_the_named_endpoints_are_public(client):
    assert set(client.view_api(print_info=False, return_format="dict")["named_endpoints"]) == ENDPOINTS


def test_ask_gives_the_target_and_its_citations(client, assistant):
    r = client.predict("婚前医学检查率目标是多少", api_name="/ask")
    assert r["answerable"] is True
    assert "85" in r["answer"] and "92.41" in r["answer"]
    assert "[1]" in r["answer"]
    assert any("婚前医学检查率" in c["section"] for c in r["citations"])
    assert same_as_corpus(assistant, r["citations"])


def test_follow_up_question_uses_the_history(client):
    r = client.predict("那2020年是多少？", "全部", ["婚前医学检查率目标是多少"], api_name="/ask")
    assert r["answerable"] is True
    assert "2020年为92.41" in r["answer"]


def test_plan_filter_limits_the_sources(client):
    r = client.predict("婴儿死亡率目标是多少", "儿童规划", api_name="/ask")
    assert "5" in r["answer"]
    assert r["citations"] and all(c["plan"] == "儿童规划" for c in r["citations"])


def test_unanswerable_question_says_so_with_the_nearest_passages(client):
    r = client.predict("2030年婚前医学检查率目标是多少", api_name="/ask")
    assert r["answerable"] is False
    assert "没有写明" in r["answer"]
    assert r["citations"]


def test_quote_check_finds_the_differing_number(client, assistant):
    r = client.predict("至少设有2家危重新生儿救治中心", api_name="/check_quote")
    assert r["verdict"] == "differs" and r["label"] == "与原文不一致"
    assert "1家" in r["answer"] and r["source"] == "至少设有1家危重新生儿救治中心"
    assert "保障新生儿安全与健康" in r["section"]
    assert {"quoted": "2家", "source": "1家"} in r["diffs"]
    assert assistant.corpus.quote(r["doc"], r["start"], r["end"]) == r["source"]


def test_quote_check_exact_and_not_found(client):
    assert client.predict("婚前医学检查率保持在85％以上", api_name="/check_quote")["label"] == "原文一致"
    assert client.predict("火星基地建设三十座", api_name="/check_quote")["label"] == "未找到"


def test_indicators_endpoint_filters_by_plan_and_text(client):
    assert len(client.predict(api_name="/indicators")) == 40
    rows = client.predict("儿童规划", "死亡率", api_name="/indicators")
    assert {r["name"] for r in rows} == {"婴儿死亡率（‰）", "儿童伤害死亡率（1/10万）"}


def test_outline_endpoint_returns_the_plan_tree(client):
    plans = client.predict(api_name="/outline")
    assert [p["name"] for p in plans] == ["妇女规划", "儿童规划"]
    women = client.predict("妇女规划", api_name="/outline")
    assert len(women) == 1 and women[0]["nodes"][0]["heading"] == "一、总体要求"


def test_feedback_endpoint_appends_one_json_line(client, assistant):
    path = Path(assistant.settings.feedback_path)
    before = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    r = client.predict("婚前医学检查率目标是多少", "2025年目标为>85％", "up", api_name="/feedback")
    assert r["ok"] is True
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[:len(before)] == before and len(lines) == len(before) + 1
    record = json.loads(lines[-1])
    assert set(record) == {"time", "question", "answer", "rating"}
    assert record["question"] == "婚前医学检查率目标是多少" and record["rating"] == "up"


@pytest.mark.parametrize(("question", "message"), [("", "问题是空的"), ("   ", "问题是空的"),
                                                   ("问" * 3000, "问题太长"), ("？？！", "没有看懂")])
def test_bad_questions_get_a_clear_chinese_message(client, question, message):
    with pytest.raises(Exception, match=message):
        client.predict(question, api_name="/ask")


def test_bad_rating_is_refused_clearly(client):
    with pytest.raises(Exception, match="评价只能是"):
        client.predict("q", "a", "meh", api_name="/feedback")


def test_app_never_shares_and_sends_no_analytics(served):
    demo, _ = served
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"
    assert demo.analytics_enabled is False
    assert not demo.share


# ---- the JSON API (POST /api/ask, /api/check_quote) --------------------------------------------


def post(url: str, path: str, body: object = None, **kwargs) -> httpx.Response:
    if body is not None:
        kwargs["json"] = body
    return httpx.post(url + path.lstrip("/"), timeout=60, **kwargs)


def refused(r: httpx.Response, status: int, message: str) -> str:
    """The Chinese message of a refusal, checked: its status, JSON {"detail": ...}, and no traceback."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    detail = r.json()["detail"]
    assert message in detail and CJK.search(detail), detail
    assert "Traceback" not in r.text and "File \"" not in r.text
    return detail


def test_json_ask_gives_the_target_with_exact_citations(served, assistant):
    r = post(served[1], "/api/ask", {"question": QUESTION})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["answerable"] is True and body["question"] == QUESTION
    assert ">85" in body["answer"] and "92.41" in body["answer"]
    assert body["citations"]
    for c in body["citations"]:
        assert c["quote"] == assistant.corpus.documents[c["doc"]].text[c["start"]:c["end"]]


def test_json_ask_returns_what_the_gradio_api_returns(served, client):
    for question, plan, history in [(QUESTION, "全部", []), ("那2020年是多少？", "全部", [QUESTION]),
                                    ("婴儿死亡率目标是多少", "儿童规划", [])]:
        r = post(served[1], "/api/ask", {"question": question, "plan": plan, "history": history})
        assert r.status_code == 200
        assert r.json() == client.predict(question, plan, history, api_name="/ask")
    follow_up = post(served[1], "/api/ask", {"question": "那2020年是多少？", "history": [QUESTION]}).json()
    assert "2020年为92.41" in follow_up["answer"]
    children = post(served[1], "/api/ask", {"question": "婴儿死亡率目标是多少", "plan": "儿童规划"}).json()
    assert children["citations"] and all(c["plan"] == "儿童规划" for c in children["citations"])


def test_json_check_quote_finds_the_differing_number(served, assistant):
    r = post(served[1], "/api/check_quote", {"passage": "至少设有2家危重新生儿救治中心"})
    assert r.status_code == 200
    body = r.json()
    assert body["label"] == "与原文不一致" and {"quoted": "2家", "source": "1家"} in body["diffs"]
    assert assistant.corpus.quote(body["doc"], body["start"], body["end"]) == body["source"]
    exact = post(served[1], "/api/check_quote", {"passage": "婚前医学检查率保持在85％以上"}).json()
    assert exact["label"] == "原文一致"


@pytest.mark.parametrize(("body", "message"), [
    ({"question": ""}, "问题是空的"),
    ({"question": "   "}, "问题是空的"),
    ({"question": "问" * 3000}, "问题太长"),
    ({"question": "？？！"}, "没有看懂"),
    ({"question": 42}, "问题必须是文本"),
    ({"question": None}, "问题必须是文本"),
    ({"question": ["婚前医学检查率"]}, "问题必须是文本"),
    ({}, "缺少 question"),
    ({"question": QUESTION, "plan": 1}, "plan 只能是"),
    ({"question": QUESTION, "plan": "火星规划"}, "火星规划"),
    ({"question": QUESTION, "history": "婚前医学检查率目标是多少"}, "history 必须是字符串列表"),
    ({"question": QUESTION, "history": [1, 2]}, "history 必须是字符串列表"),
    ({"question": "那2020年是多少？", "history": [QUESTION] * 21}, "请开始新的对话"),
    ({"question": QUESTION, "session_hash": "x"}, "不认识的字段：session_hash"),
    ([QUESTION], "JSON 对象"),
    ("婚前医学检查率目标是多少", "JSON 对象"),
])
def test_json_ask_refuses_bad_input_with_a_chinese_message(served, body, message):
    refused(post(served[1], "/api/ask", body), 400, message)


def test_json_refuses_bodies_that_are_not_json(served):
    url = served[1]
    for content in (b"question=1", "{'question': '婚前'}".encode(), b"\xff\xfe\x00", b"", b"[" * 100_000):
        refused(post(url, "/api/ask", content=content, headers={"Content-Type": "application/json"}), 400, "JSON")
    refused(post(url, "/api/check_quote", {"passage": 5}), 400, "passage")
    refused(post(url, "/api/check_quote", {"passage": ""}), 400, "是空的")
    assert httpx.get(url + "api/ask", timeout=30).status_code == 405


def test_json_refuses_an_oversize_body_before_reading_it(served):
    url = served[1]
    big = json.dumps({"question": "问" * 1_200_000}, ensure_ascii=False).encode()
    refused(post(url, "/api/ask", content=big, headers={"Content-Type": "application/json"}), 413, "请求体太大")

    def chunked():  # no Content-Length: counted as it arrives
        for _ in range(40):
            yield b" " * 65_536

    refused(post(url, "/api/ask", content=chunked()), 413, "请求体太大")
    assert post(url, "/api/ask", {"question": QUESTION}).status_code == 200  # and the app is fine


def test_json_errors_inside_are_a_500_without_internals(served, assistant, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("secret internals /srv/index")

    monkeypatch.setattr(assistant, "ask", boom)
    r = post(served[1], "/api/ask", {"question": QUESTION})
    assert refused(r, 500, "出了问题") == app.UNEXPECTED and "secret" not in r.text


def test_json_says_when_the_server_is_overloaded(served, monkeypatch):
    monkeypatch.setattr(app, "API_QUEUE_LIMIT", 0)  # as if that many requests were already waiting
    r = post(served[1], "/api/ask", {"question": QUESTION})
    refused(r, 503, "服务器正忙")
    assert int(r.headers["retry-after"]) >= 1


@pytest.fixture(scope="module")
def limited_url(session_settings, assistant):
    """An app with a small per-client limit (2 at once, 2 a minute), behind a trusted proxy on 127.0.0.1."""
    from assistant import Assistant

    limited = Assistant(session_settings.with_(rate_limit_per_minute=2, rate_limit_burst=2), auto_build=False)
    demo = app.build_app(limited)
    port = free_port()
    app.launch(demo, "127.0.0.1", port, block=False, trusted_proxies="127.0.0.1")
    yield limited, f"http://127.0.0.1:{port}/"
    demo.close()


def test_json_ask_is_rate_limited_per_client_like_the_gradio_api(limited_url):
    _, url = limited_url
    a, b = {"X-Forwarded-For": "10.8.0.1"}, {"X-Forwarded-For": "10.8.0.2"}
    for _ in range(2):
        assert post(url, "/api/ask", {"question": QUESTION}, headers=a).status_code == 200
    r = post(url, "/api/ask", {"question": QUESTION}, headers=a)
    refused(r, 429, "请求太频繁")
    assert int(r.headers["retry-after"]) >= 1
    refused(post(url, "/api/check_quote", {"passage": "婚前医学检查率保持在85％以上"}, headers=a), 429, "请求太频繁")
    # one bucket per client, whichever API it uses
    with pytest.raises(Exception, match="请求太频繁"):
        Client(url, verbose=False, headers=a).predict(QUESTION, api_name="/ask")
    assert "92.41" in post(url, "/api/ask", {"question": QUESTION}, headers=b).json()["answer"]


def test_json_ask_charges_long_texts_more(limited_url):
    _, url = limited_url
    c = {"X-Forwarded-For": "10.8.1.1"}
    # a 510-character question costs 2 tokens: the whole burst
    assert post(url, "/api/ask", {"question": QUESTION + "，" * 498}, headers=c).status_code == 200
    refused(post(url, "/api/ask", {"question": QUESTION}, headers=c), 429, "请求太频繁")
    # and so does history an API call asks to be replayed
    d = {"X-Forwarded-For": "10.8.1.2"}
    follow_up = {"question": "那2020年是多少？", "history": ["婚前" * 300]}
    assert post(url, "/api/ask", follow_up, headers=d).status_code == 200
    refused(post(url, "/api/ask", {"question": QUESTION}, headers=d), 429, "请求太频繁")


def test_json_one_client_cannot_hold_every_answering_slot(limited_url, monkeypatch):
    limited, url = limited_url
    started, release = threading.Event(), threading.Event()
    real = limited.ask

    def slow(*args, **kwargs):
        started.set()
        assert release.wait(60)
        return real(*args, **kwargs)

    monkeypatch.setattr(limited, "ask", slow)
    e = {"X-Forwarded-For": "10.8.2.1"}
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(post, url, "/api/ask", {"question": QUESTION}, headers=e)
        assert started.wait(60)
        r = post(url, "/api/ask", {"question": QUESTION}, headers=e)
        release.set()
        assert first.result().status_code == 200
    refused(r, 429, "还在处理中")
    assert int(r.headers["retry-after"]) >= 1


def test_json_request_past_its_budget_is_a_504(limited_url, monkeypatch):
    limited, url = limited_url
    monkeypatch.setattr(limited, "settings", limited.settings.with_(request_budget=1e-9))
    r = post(url, "/api/ask", {"question": QUESTION}, headers={"X-Forwarded-For": "10.8.3.1"})
    refused(r, 504, "秒的上限")


def test_json_api_is_behind_the_login(assistant):
    demo = app.build_app(assistant)
    port = free_port()
    app.launch(demo, "127.0.0.1", port, auth=("trainer", "s3cret"), block=False)
    url = f"http://127.0.0.1:{port}/"
    try:
        for auth in (None, ("trainer", "wrong"), ("someone", "s3cret")):
            for path, body in (("/api/ask", {"question": QUESTION}), ("/api/check_quote", {"passage": "x"})):
                r = post(url, path, body, auth=auth)
                refused(r, 401, "需要登录")
                assert r.headers["www-authenticate"].startswith("Basic")
        refused(post(url, "/api/ask", {"question": QUESTION}, headers={"Authorization": "Basic !!"}), 401, "登录")
        refused(post(url, "/api/ask", {"question": QUESTION}, cookies={"access-token-unsecure-x": "y"}), 401, "登录")
        r = post(url, "/api/ask", {"question": QUESTION}, auth=("trainer", "s3cret"))
        assert r.status_code == 200 and "92.41" in r.json()["answer"]
        with httpx.Client(base_url=url, timeout=60) as session:  # or the cookie the login form sets
            assert session.post("/login", data={"username": "trainer", "password": "s3cret"}).status_code == 200
            assert "92.41" in session.post("/api/ask", json={"question": QUESTION}).json()["answer"]
    finally:
        demo.close()


# ---- the UI handlers ---------------------------------------------------------------------------


def test_chat_turns_carry_history_and_escape_the_question(handlers):
    messages, turns, box = last(handlers.chat("婚前医学检查率目标是多少", "全部", []))
    assert box == "" and len(messages) == 2 and len(turns) == 1
    messages, turns, _ = last(handlers.chat("那2020年是多少？", "全部", turns))
    assert "2020年为92.41" in turns[1].answer.answer
    assert turns[1].question == "那2020年是多少？"
    assert 'class="card"' in messages[3]["content"]
    messages, turns, _ = last(handlers.chat('<img src=x onerror="alert(1)">婴儿死亡率', "全部", turns))
    assert "<img" not in messages[4]["content"] and "&lt;img" in messages[4]["content"]


def test_chat_errors_become_messages_not_tracebacks(handlers, monkeypatch):
    messages, turns, _ = last(handlers.chat("", "全部", []))
    assert "问题是空的" in messages[1]["content"] and turns[0].answer.kind == "error"

    def boom(*args, **kwargs):
        raise RuntimeError("secret internals /srv/index")

    monkeypatch.setattr(handlers.assistant, "ask_stream", boom)
    monkeypatch.setattr(handlers.assistant, "ask", boom)
    messages, turns, _ = last(handlers.chat("婚前医学检查率目标是多少", "全部", turns))
    assert app.UNEXPECTED in messages[3]["content"] and "secret" not in messages[3]["content"]
    with pytest.raises(gr.Error, match="出了问题") as err:
        handlers.api_ask("婚前医学检查率目标是多少")
    assert "secret" not in str(err.value)


def test_like_records_the_rated_turn(handlers, assistant, tmp_path):
    handlers.settings = assistant.settings.with_(feedback_path=str(tmp_path / "fb.jsonl"))
    _, turns, _ = last(handlers.chat("婚前医学检查率目标是多少", "全部", []))
    _, turns, _ = last(handlers.chat("", "全部", turns))
    assert "已记录" in handlers.like(turns, gr.LikeData(None, {"index": 1, "value": "", "liked": False}))
    record = json.loads((tmp_path / "fb.jsonl").read_text(encoding="utf-8"))
    assert record["question"] == "婚前医学检查率目标是多少" and record["rating"] == "down"
    assert "92.41" in record["answer"]
    assert "不是回答" in handlers.like(turns, gr.LikeData(None, {"index": 3, "value": "", "liked": True}))


def test_like_beyond_the_size_limit_is_refused_clearly(handlers, assistant, tmp_path):
    path = tmp_path / "fb.jsonl"
    path.write_text("x" * 90, encoding="utf-8")
    handlers.settings = assistant.settings.with_(feedback_path=str(path), feedback_max_bytes=100)
    _, turns, _ = last(handlers.chat("婚前医学检查率目标是多少", "全部", []))
    message = handlers.like(turns, gr.LikeData(None, {"index": 1, "value": "", "liked": True}))
    assert "存储上限" in message
    assert path.read_text(encoding="utf-8") == "x" * 90


def test_citation_link_opens_the_browser_at_the_quote(handlers, assistant):
    _, turns, _ = last(handlers.chat("婚前医学检查率目标是多少", "全部", []))
    c = turns[0].answer.citations[-1]
    tabs, radio, outline, text = handlers.goto(f"{c.doc}|{c.start}|{c.end}|123")
    assert tabs.selected == "browser" and radio.value == "妇女规划"
    assert f'<mark class="cited">{c.quote}</mark>' in text
    assert "（二）妇女与健康" in outline
    assert handlers.goto("not a reference")[0].selected == "browser"


def test_quote_checker_tab_renders_the_marked_difference(handlers):
    html = handlers.quote_result("至少设有2家危重新生儿救治中心")
    assert "与原文不一致" in html and '<mark class="diff-source">1</mark>' in html
    assert "问题是空的" in handlers.quote_result("")


# ---- feedback storage --------------------------------------------------------------------------


def test_feedback_is_appended_one_object_per_line(tmp_path):
    path = tmp_path / "sub" / "fb.jsonl"
    record_feedback(path, 10_000, "问题一", "回答\n两行", "up")
    record_feedback(path, 10_000, "问题二", "回答", "👎")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["rating"] for x in lines] == ["up", "down"]
    assert json.loads(lines[0])["answer"] == "回答\n两行"


def test_feedback_refuses_beyond_the_size_limit(tmp_path):
    path = tmp_path / "fb.jsonl"
    record_feedback(path, 200, "问", "答", "up")
    size = path.stat().st_size
    with pytest.raises(FeedbackError, match="存储上限"):
        record_feedback(path, 200, "问" * 100, "答", "up")
    assert path.stat().st_size == size


def test_feedback_rating_must_be_up_or_down():
    with pytest.raises(FeedbackError, match="up"):
        feedback_record("q", "a", "5 stars")


# ---- the entry point ---------------------------------------------------------------------------


def test_login_needs_both_user_and_password():
    assert app.login_from_env({}) is None
    assert app.login_from_env({"ASSISTANT_APP_USER": "u", "ASSISTANT_APP_PASSWORD": "p"}) == ("u", "p")
    with pytest.raises(ValueError):
        app.login_from_env({"ASSISTANT_APP_USER": "u"})


def test_python_app_py_serves_with_env_settings_and_login(assistant, tmp_path):
    s = assistant.settings
    port = free_port()
    env = {**os.environ, "ASSISTANT_CORPUS_DIR": s.corpus_dir, "ASSISTANT_INDEX_DIR": s.index_dir,
           "ASSISTANT_FEEDBACK_PATH": str(tmp_path / "fb.jsonl"),
           "ASSISTANT_APP_USER": "trainer", "ASSISTANT_APP_PASSWORD": "s3cret"}
    log = (tmp_path / "app.log").open("w")
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, proc)
        url = f"http://127.0.0.1:{port}/"
        with pytest.raises(Exception):
            Client(url, verbose=False)
        authed = Client(url, auth=("trainer", "s3cret"), verbose=False)
        assert "92.41" in authed.predict("婚前医学检查率目标是多少", api_name="/ask")["answer"]
        assert httpx.post(url + "api/ask", json={"question": QUESTION}, timeout=60).status_code == 401
        r = httpx.post(url + "api/ask", json={"question": QUESTION}, auth=("trainer", "s3cret"), timeout=60)
        assert "92.41" in r.json()["answer"]
        authed.predict("q", "a", "up", api_name="/feedback")
        assert json.loads((tmp_path / "fb.jsonl").read_text(encoding="utf-8"))["rating"] == "up"
        # issue 13.7: no share-link hint from Gradio, and no "building the index" over a current one
        said = (tmp_path / "app.log").read_text(encoding="utf-8")
        assert "loading the assistant" in said and "serving on http://127.0.0.1:" in said
        assert "share=True" not in said and "public link" not in said and "building" not in said, said
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_half_configured_login_stops_with_a_clear_error(monkeypatch, capsys):
    monkeypatch.setenv("ASSISTANT_APP_USER", "only-user")
    monkeypatch.delenv("ASSISTANT_APP_PASSWORD", raising=False)
    assert app.main(["--port", "0"]) == 2
    assert "ASSISTANT_APP_PASSWORD" in capsys.readouterr().err


def test_rate_limit_per_client_gives_a_clear_message(assistant, session_settings):
    from assistant import Assistant

    limited = Assistant(session_settings.with_(rate_limit_per_minute=2, rate_limit_burst=2), auto_build=False)
    demo = app.build_app(limited)
    port = free_port()
    # behind a proxy on 127.0.0.1, which names each client in X-Forwarded-For
    app.launch(demo, "127.0.0.1", port, block=False, trusted_proxies="127.0.0.1")
    try:
        url = f"http://127.0.0.1:{port}/"
        first = Client(url, verbose=False, headers={"X-Forwarded-For": "10.0.0.1"})
        for _ in range(2):
            assert "85" in first.predict("婚前医学检查率目标是多少", api_name="/ask")["answer"]
        with pytest.raises(Exception, match="请求太频繁"):
            first.predict("婚前医学检查率目标是多少", api_name="/ask")
        # a new session from the same address is the same client (tests/test_hostile_app.py: raw HTTP)
        with pytest.raises(Exception, match="请求太频繁"):
            Client(url, verbose=False, headers={"X-Forwarded-For": "10.0.0.1"}).predict("婚前医学检查率目标是多少",
                                                                                     api_name="/ask")
        # another client is not held back by the first one's limit
        second = Client(url, verbose=False, headers={"X-Forwarded-For": "10.0.0.2"})
        assert "85" in second.predict("婚前医学检查率目标是多少", api_name="/ask")["answer"]
    finally:
        demo.close()


def test_too_long_a_conversation_is_a_clear_message(handlers):
    turns = [app.Turn("婚前医学检查率目标是多少", handlers.assistant.ask("婚前医学检查率目标是多少"))]
    turns *= handlers.settings.max_history_turns + 1
    messages, new_turns, _ = last(handlers.chat("那2020年是多少？", "全部", turns))
    assert "开始新的对话" in messages[-1]["content"] and new_turns[-1].answer.kind == "error"


@pytest.mark.slow
def test_a_running_app_answers_from_the_index_an_ingest_made(session_settings, assistant, tmp_path, monkeypatch):
    # Issue 15 (low): after `ingest` the app kept answering from the old index until it was restarted.
    import shutil

    from assistant import Assistant
    from assistant.ingest import ingest

    shutil.copytree(session_settings.corpus_dir, tmp_path / "corpus")
    shutil.copytree(session_settings.index_dir, tmp_path / "index")
    settings = session_settings.with_(corpus_dir=str(tmp_path / "corpus"), index_dir=str(tmp_path / "index"))
    h = app.Handlers(Assistant(settings))
    monkeypatch.setattr(app, "RELOAD_CHECK_SECONDS", 0.0)
    question = "每个社区要建几个护理驿站"
    assert not h.api_ask(question)["answerable"]
    source = tmp_path / "示范市护理规划.txt"
    source.write_text("示范市社区护理服务规划\n一、主要任务\n1．建设社区护理驿站。每个社区建设2个护理驿站。\n",
                      encoding="utf-8")
    ingest(settings, [source])
    after = h.api_ask(question)
    assert after["answerable"] and "2个护理驿站" in after["answer"]
    assert "示范市社区护理服务规划" in [p["title"] for p in h.api_outline()]
