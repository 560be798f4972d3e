"""Load test: N concurrent clients x M questions against the running app, over gradio_client or JSON.

    .venv/bin/python scripts/load_test.py                      # the app at http://127.0.0.1:7860/
    .venv/bin/python scripts/load_test.py --clients 10 --questions 5 --url http://127.0.0.1:7861/
    .venv/bin/python scripts/load_test.py --spawn              # start app.py on a free port, test, stop it
    .venv/bin/python scripts/load_test.py --transport json     # POST /api/ask and /api/check_quote (httpx)
    .venv/bin/python scripts/load_test.py --clients 1 --reference   # also time the same calls in-process

Each client is one conversation: a seeded mix of indicator questions, text targets, measures,
quotation checks (/check_quote), unanswerable questions and follow-ups that send the earlier
questions as /ask's history. `--transport gradio` (the default) calls the named Gradio endpoints
through gradio_client; `--transport json` posts the same calls to the app's plain JSON endpoints,
one keep-alive httpx connection per client. Only loopback addresses are accepted; the run is
bounded in count (at most 200 x 200 calls) and in time (--timeout: nothing new starts after it,
running calls are abandoned). Prints the errors, p50/p95/p99 latency (overall and per kind) and
throughput, and a one-line summary. `--reference` first answers the first client's calls in this
process (`Assistant.ask` / `check_quote` on Settings.from_env(), so the same index as the app's when
the environment is the same), and prints how much the HTTP p50 is over that in-process p50.
Calls refused by the app's per-client rate limit are counted apart from errors; to measure raw
capacity, start the app with ASSISTANT_RATE_LIMIT_PER_MINUTE=0 (--spawn passes the environment on).
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import random
import socket
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio_client is imported: no usage reporting

import httpx  # noqa: E402
from gradio_client import Client  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TRANSPORTS = ("gradio", "json")
MAX_CLIENTS = 200
MAX_QUESTIONS = 200
RATE_LIMITED = "请求太频繁"


@dataclass(frozen=True)
class Call:
    """One request: which endpoint, its arguments, and a substring a right answer contains."""

    kind: str
    endpoint: str  # "ask" | "quote"
    question: str
    plan: str = "全部"
    history: tuple[str, ...] = ()
    expect: str = ""


@dataclass
class Result:
    kind: str
    seconds: float
    error: str = ""
    unexpected: bool = False

    @property
    def limited(self) -> bool:
        """Refused by the app's per-client rate limit ("请求太频繁…"): policy, not a failure."""
        return RATE_LIMITED in self.error


INDICATOR = [("婚前医学检查率目标是多少", ">85"), ("婴儿死亡率要控制在多少", "5"),
             ("儿童青少年总体近视率目标是多少", "53"), ("孕产妇死亡率目标是多少", "7")]
TEXT_TARGET = [("产前筛查率要达到多少", "90"), ("妇女国民体质合格率要达到多少", "95"),
               ("3岁以下婴幼儿健康管理率要达到多少", "95")]
MEASURES = [("普惠托育服务项目要做什么", "托育"), ("妇女与健康领域有哪些任务", "健康"),
            ("怎样加强儿童近视综合防控", "近视")]
QUOTES = [("婚前医学检查率保持在85％以上", "原文一致"), ("至少设有2家危重新生儿救治中心", "不一致"),
          ("全面取消所有考试", "未找到")]
UNANSWERABLE = [("上海市的婴儿死亡率目标是多少", "没有"), ("2030年婚前医学检查率目标是多少", "没有"),
                ("规划里关于火星探测说了什么", "没有")]
FOLLOW_UPS = [("婚前医学检查率目标是多少", "那2020年是多少？", "92.41"),
              ("婴儿死亡率目标是多少", "那妇女规划呢？", "")]


def conversation(seed: int, length: int) -> list[Call]:
    """One client's calls: a seeded mix of every kind; a follow-up carries the questions before it."""
    rng = random.Random(seed)
    calls: list[Call] = []
    history: list[str] = []
    while len(calls) < length:
        kind = rng.choice(["indicator", "text_target", "measures", "quote", "unanswerable", "follow_up"])
        if kind == "follow_up":
            first, then, expect = rng.choice(FOLLOW_UPS)
            calls.append(Call("indicator", "ask", first, history=tuple(history[-5:])))
            history.append(first)
            kind, question = "follow_up", then
        else:
            pool = {"indicator": INDICATOR, "text_target": TEXT_TARGET, "measures": MEASURES,
                    "quote": QUOTES, "unanswerable": UNANSWERABLE}[kind]
            question, expect = rng.choice(pool)
        endpoint = "quote" if kind == "quote" else "ask"
        calls.append(Call(kind, endpoint, question, history=tuple(history[-5:]), expect=expect))
        if endpoint == "ask":
            history.append(question)
    return calls[:length]


# ---- the client side -------------------------------------------------------------------------


def require_loopback(url: str) -> str:
    """The URL, if it is http(s) to a loopback address or "localhost"; anything else stops the script.

    Names other than localhost are refused without a DNS lookup, so a typo never loads a real host.
    """
    parts = urlparse(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        sys.exit(f"load_test: {url!r} is not an http:// URL")
    host = parts.hostname
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        sys.exit(f"load_test: {host} is not a loopback address; this script only loads 127.0.0.1")
    return url


def endpoint_arity(client: Client, api_name: str) -> int:
    """How many parameters an endpoint takes (an /ask without history takes 2)."""
    api = client.view_api(print_info=False, return_format="dict") or {}
    endpoint = api.get("named_endpoints", {}).get(api_name)
    if endpoint is None:
        sys.exit(f"load_test: the app has no endpoint {api_name}; it has {sorted(api.get('named_endpoints', {}))}")
    return len(endpoint.get("parameters", []))


def arguments(call: Call, names: dict[str, str], arities: dict[str, int]) -> tuple[str, tuple]:
    """(api_name, arguments) of a call; without a quote endpoint a quotation is asked about in /ask."""
    if call.endpoint == "quote" and "quote" in names:
        return names["quote"], (call.question,)
    question = f"规划里是不是说“{call.question}”？" if call.endpoint == "quote" else call.question
    return names["ask"], (question, call.plan, list(call.history))[: arities["ask"]]


class GradioTransport:
    """Calls through gradio_client: the queue, its event stream, the named endpoints."""

    def __init__(self, url: str, names: dict[str, str], auth: tuple[str, str] | None) -> None:
        self.names = names
        self.client = Client(url, auth=auth, verbose=False, download_files=False, analytics_enabled=False)
        self.arities = {e: endpoint_arity(self.client, names[e]) for e in names}

    def __call__(self, call: Call, timeout: float) -> object:
        api_name, args = arguments(call, self.names, self.arities)
        return self.client.submit(*args, api_name=api_name).result(timeout=timeout)

    def close(self) -> None:
        self.client.close()


class JsonTransport:
    """Calls as plain JSON: POST /api<endpoint> (/api/ask, /api/check_quote) on one keep-alive connection."""

    def __init__(self, url: str, names: dict[str, str], auth: tuple[str, str] | None) -> None:
        self.names = names
        self.http = httpx.Client(base_url=url.rstrip("/"), auth=auth, timeout=120.0)

    def __call__(self, call: Call, timeout: float) -> object:
        if call.endpoint == "quote" and "quote" in self.names:
            path, body = self.names["quote"], {"passage": call.question}
        else:
            question = f"规划里是不是说“{call.question}”？" if call.endpoint == "quote" else call.question
            path, body = self.names["ask"], {"question": question, "plan": call.plan, "history": list(call.history)}
        r = self.http.post("/api/" + path.strip("/"), json=body, timeout=timeout)
        if r.status_code != 200:
            try:
                detail = r.json().get("detail", r.text)
            except ValueError:
                detail = r.text
            raise RuntimeError(f"HTTP {r.status_code}: {detail}")
        return r.json()

    def close(self) -> None:
        self.http.close()


def run_call(send: Callable[[Call, float], object], call: Call, timeout: float) -> Result:
    """Make one call and time it; any failure is a Result with the error, never an exception."""
    start = time.perf_counter()
    try:
        reply = send(call, timeout)
    except Exception as exc:  # a load test reports failures, it does not stop at the first
        return Result(call.kind, time.perf_counter() - start, f"{type(exc).__name__}: {str(exc)[:160]}")
    seconds = time.perf_counter() - start
    text = reply.get("answer", "") if isinstance(reply, dict) else ""
    if not isinstance(reply, dict) or "answer" not in reply:
        return Result(call.kind, seconds, f"unexpected reply: {str(reply)[:160]}")
    return Result(call.kind, seconds, unexpected=bool(call.expect) and call.expect not in text)


def run_client(url: str, seed: int, length: int, names: dict[str, str], deadline: float,
               request_timeout: float, transport: str = "gradio", auth: tuple[str, str] | None = None) -> list[Result]:
    """One client: its own connection, its conversation in order, until the deadline."""
    try:
        send = (JsonTransport if transport == "json" else GradioTransport)(url, names, auth)
    except SystemExit as exc:
        return [Result("connect", 0.0, str(exc))]
    except Exception as exc:
        return [Result("connect", 0.0, f"{type(exc).__name__}: {str(exc)[:160]}")]
    results = []
    for call in conversation(seed, length):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        results.append(run_call(send, call, min(request_timeout, left)))
    send.close()
    return results


def in_process(seed: int, length: int, names: dict[str, str]) -> list[Result]:
    """The same calls answered in this process (no HTTP), as the reference for one client's latency.

    One warm-up call first (the embedding model loads on first use), as a running app has had its own.
    The embedding engine gets the app's threads (app.py sets OMP_NUM_THREADS=1 unless it is set), so
    the difference is what serving adds, not a thread setting.
    """
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.path.insert(0, str(ROOT))
    from assistant import views
    from assistant.config import Settings
    from assistant.core import Assistant

    assistant = Assistant(Settings.from_env(), auto_build=False)
    assistant.ask(INDICATOR[0][0])

    def send(call: Call, timeout: float) -> dict:
        if call.endpoint == "quote" and "quote" in names:
            return views.quote_check_dict(assistant.check_quote(call.question))
        question = f"规划里是不是说“{call.question}”？" if call.endpoint == "quote" else call.question
        return views.answer_dict(assistant.ask(question, history=list(call.history), plan=views.plan_key(call.plan)))

    return [run_call(send, call, 0.0) for call in conversation(seed, length)]


# ---- the report ------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of values; 0.0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


def report(results: list[Result], planned: int, wall: float) -> str:
    """Errors, then latency per kind and overall, then throughput."""
    ok = [r for r in results if not r.error]
    limited = sum(r.limited for r in results)
    lines = [f"calls: {len(results)} of {planned} planned, {len(ok)} ok, {len(results) - len(ok) - limited} errors, "
             f"{limited} rate-limited, {sum(r.unexpected for r in ok)} unexpected answers, "
             f"{planned - len(results)} not run (time budget)"]
    errors = Counter(r.error for r in results if r.error and not r.limited)
    for message, count in errors.most_common(10):
        lines.append(f"  error x{count}: {message}")
    lines.append(f"{'kind':14} {'n':>5} {'p50 s':>8} {'p95 s':>8} {'p99 s':>8} {'max s':>8}")
    by_kind: dict[str, list[float]] = defaultdict(list)
    for r in ok:
        by_kind[r.kind].append(r.seconds)
    for kind, values in sorted(by_kind.items()) + [("ALL", [r.seconds for r in ok])]:
        lines.append(f"{kind:14} {len(values):>5} {percentile(values, 50):>8.3f} {percentile(values, 95):>8.3f} "
                     f"{percentile(values, 99):>8.3f} {max(values, default=0.0):>8.3f}")
    lines.append(f"throughput: {len(ok) / wall:.2f} answers/s over {wall:.1f} s wall time")
    return "\n".join(lines)


def summary(label: str, results: list[Result], wall: float | None) -> str:
    """One line to compare runs by: p50/p95/p99 in ms, errors, throughput."""
    ok = [r.seconds for r in results if not r.error]
    errors = sum(bool(r.error) and not r.limited for r in results)
    rate = f" {len(ok) / wall:.2f} answers/s" if wall else ""
    return (f"summary {label}: n={len(ok)} p50={percentile(ok, 50) * 1000:.1f}ms p95={percentile(ok, 95) * 1000:.1f}ms "
            f"p99={percentile(ok, 99) * 1000:.1f}ms errors={errors} limited={sum(r.limited for r in results)}{rate}")


# ---- optional: a private app to test ---------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn_app(timeout: float = 300) -> tuple[subprocess.Popen, str]:
    """Start app.py on a free loopback port and wait until it answers."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--host", "127.0.0.1", "--port", str(port)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"load_test: app.py exited with {proc.returncode}: {proc.stderr.read()[-500:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, f"http://127.0.0.1:{port}/"
        time.sleep(0.5)
    stop_app(proc)
    sys.exit(f"load_test: app.py did not listen on port {port} within {timeout:.0f} s")


def stop_app(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# ---- main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Load-test the running app over gradio_client or JSON (loopback only).")
    p.add_argument("--url", default="http://127.0.0.1:7860/", help="the app (loopback only)")
    p.add_argument("--spawn", action="store_true", help="start app.py on a free loopback port instead of --url")
    p.add_argument("--clients", type=int, default=50, help=f"concurrent clients (max {MAX_CLIENTS})")
    p.add_argument("--questions", type=int, default=20, help=f"calls per client (max {MAX_QUESTIONS})")
    p.add_argument("--timeout", type=float, default=600, help="global time budget in seconds")
    p.add_argument("--request-timeout", type=float, default=120, help="seconds one call may take")
    p.add_argument("--ask-endpoint", default="/ask", help="api_name answering (question, plan[, history])")
    p.add_argument("--quote-endpoint", default="/check_quote", help="api_name checking (passage); '' asks /ask")
    p.add_argument("--seed", type=int, default=7, help="seed of the question mix")
    p.add_argument("--transport", choices=TRANSPORTS, default="gradio",
                   help="gradio: the named endpoints via gradio_client; json: POST /api/ask, /api/check_quote")
    p.add_argument("--reference", action="store_true",
                   help="first answer the first client's calls in-process and compare the p50s")
    p.add_argument("--auth", default="", metavar="USER:PASSWORD", help="the app's login, if it has one")
    args = p.parse_args(argv)
    if not (1 <= args.clients <= MAX_CLIENTS and 1 <= args.questions <= MAX_QUESTIONS and args.timeout > 0):
        p.error(f"--clients 1..{MAX_CLIENTS}, --questions 1..{MAX_QUESTIONS}, --timeout > 0")
    if args.auth and ":" not in args.auth:
        p.error("--auth USER:PASSWORD")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    proc, url = spawn_app() if args.spawn else (None, require_loopback(args.url))
    names = {"ask": args.ask_endpoint, **({"quote": args.quote_endpoint} if args.quote_endpoint else {})}
    auth = tuple(args.auth.split(":", 1)) if args.auth else None
    planned = args.clients * args.questions
    reference = in_process(args.seed * 1000, args.questions, names) if args.reference else []
    print(f"load test: {args.clients} clients x {args.questions} calls against {url} over {args.transport} "
          f"(budget {args.timeout:.0f} s)", flush=True)
    start = time.monotonic()
    deadline = start + args.timeout
    try:
        with ThreadPoolExecutor(max_workers=args.clients) as pool:
            futures = [pool.submit(run_client, url, args.seed * 1000 + k, args.questions, names, deadline,
                                   args.request_timeout, args.transport, auth) for k in range(args.clients)]
            results = [r for f in futures for r in f.result()]
    finally:
        if proc is not None:
            stop_app(proc)
    wall = time.monotonic() - start
    print(report(results, planned, wall))
    print(summary(f"{args.transport} clients={args.clients}", results, wall))
    if reference:
        print(summary(f"in-process (OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']})", reference, None))
        over = percentile([r.seconds for r in results if not r.error], 50) - percentile(
            [r.seconds for r in reference if not r.error], 50)
        print(f"HTTP p50 over the in-process p50 of the same calls: {over * 1000:+.1f} ms")
    return 1 if any(r.error and not r.limited for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
