"""Hostile clients against the launched app, over raw HTTP to Gradio's routes (issue 15: 2, 3, 10, /feedback).

Each test replays an attack that got through before and asserts the safe outcome. Speed is measured
by scripts/bench_hostile.py, not here: these tests assert what is answered, refused and stored.
"""

from __future__ import annotations

import json
import random
import socket
import uuid
from concurrent.futures import ThreadPoolExecutor
from difflib import SequenceMatcher
from functools import partial
from pathlib import Path

import gradio as gr
import httpx
import pytest

import app
from assistant import quotes
from assistant.errors import InputError
from assistant.limits import TokenBucketLimiter
from assistant.thresholds import MAX_REPLAY

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]
QUESTION = "婚前医学检查率目标是多少"
BURST = 3  # the limited app's rate_limit_burst; its clock stands still, so nothing refills during a test


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(url: str, api: str, data: list, session: str | None = None, peer: str | None = None,
         timeout: float = 120.0) -> tuple[str, object]:
    """POST /gradio_api/call/<api> and read its event stream: ("complete" | "error" | "hung", data)."""
    body: dict = {"data": data}
    if session is not None:
        body["session_hash"] = session
    headers = {"X-Forwarded-For": peer} if peer else {}
    r = httpx.post(f"{url}/call/{api}", json=body, headers=headers, timeout=timeout)
    assert r.status_code == 200, r.text
    event, name = ("hung", None), None
    with httpx.stream("GET", f"{url}/call/{api}/{r.json()['event_id']}", headers=headers, timeout=timeout) as s:
        for line in s.iter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and name in ("complete", "error"):
                return name, json.loads(line.split(":", 1)[1])
    return event


def outcome(result: tuple[str, object]) -> str:
    """"answered", "limited" (请求太频繁…), "busy" (上一个请求还在处理中), or the error's text."""
    event, payload = result
    if event == "complete":
        return "answered"
    text = json.dumps(payload, ensure_ascii=False)
    return "limited" if "请求太频繁" in text else "busy" if "还在处理中" in text else f"{event}: {text}"


def near_passage(assistant, length: int = 1990, seed: int = 0) -> str:
    """A stretch of the plan text with every tenth character changed: close to it, nowhere verbatim."""
    flat = "".join(next(iter(assistant.corpus.documents.values())).text.split())
    start = random.Random(seed).randrange(0, len(flat) - length)
    return "".join("甲" if i % 10 == 0 else ch for i, ch in enumerate(flat[start:start + length]))


@pytest.fixture(scope="module")
def limited(assistant, session_settings):
    """An Assistant with the app's limits on: a burst of 3 questions, 2 ratings, 1 more a minute
    (on the session's index, which the `assistant` fixture builds)."""
    from assistant import Assistant

    return Assistant(session_settings.with_(rate_limit_per_minute=1, rate_limit_burst=BURST, feedback_per_minute=2),
                     auto_build=False)


def serve(assistant, trusted_proxies: str = ""):
    """The app launched for real; its rate limiters on a clock that stands still (a slow test refills nothing)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(app, "TokenBucketLimiter", partial(TokenBucketLimiter, clock=lambda: 0.0))
        demo = app.build_app(assistant)
    port = free_port()
    app.launch(demo, "127.0.0.1", port, block=False, trusted_proxies=trusted_proxies)
    return demo, f"http://127.0.0.1:{port}/gradio_api"


@pytest.fixture(scope="module")
def direct(limited):
    """The app as it is served by default: it trusts no proxy, so a client is its address (127.0.0.1)."""
    demo, url = serve(limited)
    yield url
    demo.close()


@pytest.fixture(scope="module")
def proxied(limited):
    """The app behind a trusted proxy on 127.0.0.1: X-Forwarded-For names the client (one per test)."""
    demo, url = serve(limited, trusted_proxies="127.0.0.1")
    yield demo, url
    demo.close()


# ---- finding 2: limits keyed by what the client cannot choose -----------------------------------


def test_raw_calls_cannot_dodge_the_rate_limit(direct):
    """Before: 40 of 40 answered against a burst of 10, with no session_hash or a random one each time."""
    assert [outcome(call(direct, "ask", [QUESTION, "全部", []])) for _ in range(BURST)] == ["answered"] * BURST
    dodges = [call(direct, "ask", [QUESTION, "全部", []]),
              call(direct, "ask", [QUESTION, "全部", []], session=uuid.uuid4().hex[:11]),
              # no proxy is trusted, so a forged X-Forwarded-For names nobody
              call(direct, "ask", [QUESTION, "全部", []], peer=f"10.{random.randrange(256)}.0.1")]
    assert [outcome(r) for r in dodges] == ["limited"] * 3
    # nor around the queue, where no limit would apply
    assert httpx.post(f"{direct}/run/ask", json={"data": [QUESTION, "全部", []]}, timeout=30).status_code == 404


def test_clients_behind_a_trusted_proxy_have_a_limit_each(proxied):
    _, url = proxied
    a, b = "10.1.0.1", "10.1.0.2"
    assert [outcome(call(url, "ask", [QUESTION, "全部", []], peer=a)) for _ in range(BURST)] == ["answered"] * BURST
    assert outcome(call(url, "ask", [QUESTION, "全部", []], peer=a)) == "limited"
    # a forged first hop makes no new client: the proxy appends the address it saw, and that one counts
    assert outcome(call(url, "ask", [QUESTION, "全部", []], peer=f"6.6.6.6, {a}")) == "limited"
    assert outcome(call(url, "ask", [QUESTION, "全部", []], peer=b)) == "answered"


def test_concurrent_calls_sharing_a_session_hash_each_get_an_answer(proxied):
    """Before: of 4 calls sharing a session_hash 1 was answered, 2 hung and 1 got a 404 from Gradio."""
    _, url = proxied
    ask = [QUESTION, "全部", []]
    with ThreadPoolExecutor(4) as pool:
        apart = list(pool.map(lambda i: call(url, "ask", ask, "shared-hash", f"10.2.0.{i}", 60), range(4)))
        together = list(pool.map(lambda i: call(url, "ask", ask, "shared-hash", "10.2.1.1", 60), range(4)))
    assert [outcome(r) for r in apart] == ["answered"] * 4
    assert all("85" in r[1][0]["answer"] for r in apart)  # type: ignore[index]
    # one client's calls at once: each is answered or told clearly why not, none hangs
    assert {outcome(r) for r in together} <= {"answered", "busy", "limited"}
    assert "answered" in {outcome(r) for r in together}


def test_one_client_cannot_hold_every_answering_slot(limited):
    h = app.Handlers(limited)
    a, b = gr.Request(client={"host": "10.5.0.1"}), gr.Request(client={"host": "10.5.0.2"})
    with h.admit(a, 10):
        with pytest.raises(InputError, match="还在处理中"):
            with h.admit(a, 10):
                pass
        with h.admit(b, 10):
            pass
    with h.admit(a, 10):  # finished: its slot is free again
        pass


# ---- finding 3: work per request bounded in size and in time ------------------------------------


def test_long_history_is_replayed_within_its_caps(proxied, limited, monkeypatch):
    """Before: history strings of 1,990 characters were answered again, up to 4 (79 s of CPU in the probe)."""
    _, url = proxied
    answered: list[str] = []
    real = limited._ask_extractive

    def counting(question, *args, **kwargs):
        answered.append(question)
        return real(question, *args, **kwargs)

    monkeypatch.setattr(limited, "_ask_extractive", counting)
    long = "规划里是不是说“" + near_passage(limited, 1980) + "”？"
    assert outcome(call(url, "ask", [QUESTION, "全部", [long] * 20], peer="10.3.0.1")) == "answered"
    assert answered == [QUESTION]  # none of the long strings is answered again
    answered.clear()
    chain = ["婚前医学检查率目标是多少"] + ["那2020年是多少？"] * 19
    r = call(url, "ask", ["那儿童规划呢？", "全部", chain], peer="10.3.0.2")
    assert outcome(r) == "answered"
    assert 1 < len(answered) <= 1 + MAX_REPLAY


def test_a_long_quote_check_is_aligned_with_bounded_work(proxied, limited, monkeypatch):
    """Before: 1,990 characters near the plan text took 57 alignments without autojunk (23.7 s)."""
    _, url = proxied
    junk: list[bool] = []  # the autojunk of each SequenceMatcher the check makes

    class RecordingMatcher(SequenceMatcher):
        def __init__(self, *args, autojunk: bool = True, **kwargs) -> None:
            junk.append(autojunk)
            super().__init__(*args, autojunk=autojunk, **kwargs)

    monkeypatch.setattr(quotes, "SequenceMatcher", RecordingMatcher)
    r = call(url, "check_quote", [near_passage(limited)], peer="10.6.0.1")
    assert outcome(r) == "answered" and r[1][0]["label"] == "与原文不一致"  # type: ignore[index]
    assert junk and all(junk)  # no quadratic alignment: autojunk anchors on rare characters only
    assert len(junk) <= 2 * 30 + 1  # at most the 30 candidate windows, and the differences once
    junk.clear()
    r = call(url, "check_quote", ["至少设有2家危重新生儿救治中心"], peer="10.6.0.2")
    assert r[1][0]["label"] == "与原文不一致" and {"quoted": "2家", "source": "1家"} in r[1][0]["diffs"]  # type: ignore[index]
    assert junk and not any(junk)  # a normal quotation is aligned exactly as before


def test_a_request_past_its_budget_stops_with_a_clear_message(proxied, limited, monkeypatch):
    _, url = proxied
    monkeypatch.setattr(limited, "settings", limited.settings.with_(request_budget=0.001))
    r = call(url, "check_quote", [near_passage(limited, 600, seed=1)], peer="10.4.0.1")  # 2 of its 3 tokens
    assert r[0] == "error" and "秒的上限" in r[1]["error"]  # type: ignore[index]
    monkeypatch.undo()
    # the stopped request has let go of its slot: the same client is answered at once
    assert outcome(call(url, "ask", [QUESTION, "全部", []], peer="10.4.0.1")) == "answered"


# ---- finding 10: no uploads ---------------------------------------------------------------------


def test_uploads_are_refused_and_nothing_is_stored(proxied):
    """Before: POST /gradio_api/upload stored 100 MB in the Gradio temp dir, without a login."""
    demo, url = proxied
    name = f"upload-{uuid.uuid4().hex}.bin"
    for route, field in (("upload", "files"), ("process_recording", "video"), ("component_server", "data")):
        r = httpx.post(f"{url}/{route}", files={field: (name, b"\0" * 1000)}, timeout=60)
        assert r.status_code == 403 and r.json()["detail"] == app.NO_UPLOADS
        big = httpx.post(f"{url}/{route}", files={field: (name, b"\0" * 3_000_000)}, timeout=60)
        assert big.status_code == 413  # over MAX_BODY_BYTES: refused on its Content-Length, before the route
    assert not list(Path(demo.server_app.uploaded_file_dir).rglob(name))
    # any other body is capped too
    r = httpx.post(f"{url}/call/ask", json={"data": ["问" * 1_000_000, "全部", []]}, timeout=60)
    assert r.status_code == 413
    assert demo.max_file_size == app.MAX_BODY_BYTES and demo.delete_cache == app.CACHE_CLEANUP


# ---- low: /feedback ------------------------------------------------------------------------------


def test_feedback_is_rate_limited_per_client(proxied):
    """Before: 83 anonymous ratings filled the 10 MB file, and then feedback was refused for everyone."""
    _, url = proxied
    rating = ["婚前医学检查率目标是多少", "2025年目标为>85％", "up"]
    assert [outcome(call(url, "feedback", rating, peer="10.7.0.1")) for _ in range(2)] == ["answered"] * 2
    assert outcome(call(url, "feedback", rating, session=uuid.uuid4().hex, peer="10.7.0.1")) == "limited"
    assert outcome(call(url, "feedback", rating, peer="10.7.0.2")) == "answered"


# ---- the 文档管理 tab: uploads open to a logged-in page only, within ingest's limit ----------------

LOGIN = ("trainer", "s3cret")


@pytest.fixture(scope="module")
def with_login(limited):
    """The app with the 文档管理 tab, launched with a login, as main() serves it with ASSISTANT_APP_USER set."""
    demo = app.build_app(limited, manage_documents=True)
    port = free_port()
    app.launch(demo, "127.0.0.1", port, auth=LOGIN, block=False)
    yield demo, f"http://127.0.0.1:{port}"
    demo.close()


def test_document_uploads_need_the_login_and_stay_within_the_ingest_limit(with_login, limited):
    demo, url = with_login
    limit = limited.settings.max_file_bytes
    assert demo.upload_limit == limit and demo.max_file_size is None  # capped by ApiGate, said in Chinese
    name = f"upload-{uuid.uuid4().hex}.txt"
    plan = "示范市托育服务发展规划。\n".encode() * 80_000  # 2.9 MB: over MAX_BODY_BYTES, within the limit
    uploads = Path(demo.server_app.uploaded_file_dir)
    # without the login cookie (and HTTP Basic is no page): refused before a byte is stored
    for auth in (None, LOGIN):
        for route, field in (("upload", "files"), ("process_recording", "video"), ("component_server", "data")):
            r = httpx.post(f"{url}/gradio_api/{route}", files={field: (name, b"x" * 1000)}, auth=auth, timeout=60)
            assert r.status_code == 403 and r.json()["detail"] == app.NO_UPLOADS
    assert not list(uploads.rglob(name))
    with httpx.Client(base_url=url, timeout=60) as session:
        assert session.post("/login", data={"username": LOGIN[0], "password": LOGIN[1]}).status_code == 200
        r = session.post("/gradio_api/upload", files={"files": (name, plan)})
        assert r.status_code == 200, r.text
        [stored] = [Path(p) for p in r.json()]
        assert stored.read_bytes() == plan and stored.name == name
        stored.unlink()  # the tab deletes what it has previewed or committed; here, the test
        stored.parent.rmdir()
        big = session.post("/gradio_api/upload", files={"files": (name, b"x" * (limit + app.MULTIPART_SLACK))})
        assert big.status_code == 413 and "文件太大" in big.text  # on its Content-Length, in Chinese

        def chunks():  # no Content-Length: counted as it comes
            yield b"--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"" + name.encode() + b"\"\r\n\r\n"
            for _ in range(limit // 1_000_000 + 2):
                yield b"x" * 1_000_000

        chunked = session.post("/gradio_api/upload", content=chunks(),
                               headers={"content-type": "multipart/form-data; boundary=b"})
        assert chunked.status_code == 413
        # the other routes that store files stay closed with the login too
        for route, field in (("process_recording", "video"), ("component_server", "data")):
            r = session.post(f"/gradio_api/{route}", files={field: (name, b"x" * 1000)})
            assert r.status_code == 403 and r.json()["detail"] == app.NO_UPLOADS
    assert not list(uploads.rglob(name))


def test_the_documents_tab_is_not_served_without_a_login(limited):
    with pytest.raises(ValueError, match="needs a login"):
        app.launch(app.build_app(limited, manage_documents=True), "127.0.0.1", free_port(), block=False)
    assert app.build_app(limited).upload_limit is None  # the app without a login has no tab and no uploads
