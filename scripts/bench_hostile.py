"""Hostile clients against a launched app, over raw HTTP (issue 15: findings 2, 3, 10 and /feedback).

    .venv/bin/python scripts/bench_hostile.py                        # this checkout
    .venv/bin/python scripts/bench_hostile.py --root /tmp/before     # another one (`git archive HEAD | tar -x`)
    .venv/bin/python scripts/bench_hostile.py --only quote,history

Each attack runs against a fresh `app.py` of that checkout, spawned on a free loopback port with its
own temporary Gradio upload dir and feedback file (the index is built once, into a temporary dir).
Prints per attack what got through, the app's CPU seconds over the attack (utime + stime of the
app process, all threads) and the wall time. Attacks that need several clients tell them apart by
X-Forwarded-For, with the app told to trust the loopback proxy (ASSISTANT_TRUSTED_PROXIES).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "婚前医学检查率目标是多少"
LIMITED = "请求太频繁"
BUSY = "还在处理中"
TICK = os.sysconf("SC_CLK_TCK")


# ---- one app process ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class App:
    """app.py of one checkout on a free port; CPU seconds read from /proc; stopped by its own PID."""

    def __init__(self, root: Path, work: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/gradio_api"
        self.uploads = Path(tempfile.mkdtemp(dir=work, prefix="uploads-"))
        self.feedback = self.uploads.with_name(self.uploads.name + "-feedback.jsonl")
        full = {**os.environ, "GRADIO_TEMP_DIR": str(self.uploads), "ASSISTANT_FEEDBACK_PATH": str(self.feedback),
                "ASSISTANT_INDEX_DIR": str(work / "index"), "ASSISTANT_LOG_LEVEL": "ERROR", **env}
        self.log = (work / f"app-{self.port}.log").open("w")
        self.proc = subprocess.Popen([sys.executable, "app.py", "--port", str(self.port)], cwd=root, env=full,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"app.py exited with {self.proc.returncode}; see {self.log.name}")
            try:
                if httpx.get(f"{self.url}/info", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise TimeoutError("the app did not come up")

    def cpu(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def call(app: App, api: str, data: list, session: str | None = None, peer: str | None = None,
         timeout: float = 300.0) -> tuple[str, object, float]:
    """POST /gradio_api/call/<api>, then read its event stream: (last event, its data, seconds).

    The event is "complete", "error", "hung" (nothing final within `timeout`) or "http <status>".
    """
    start = time.monotonic()
    body: dict = {"data": data}
    if session is not None:
        body["session_hash"] = session
    headers = {"X-Forwarded-For": peer} if peer else {}
    try:
        r = httpx.post(f"{app.url}/call/{api}", json=body, headers=headers, timeout=timeout)
        if r.status_code != 200:
            return f"http {r.status_code}", r.text[:200], time.monotonic() - start
        event_id = r.json()["event_id"]
        event, payload = "hung", None
        with httpx.stream("GET", f"{app.url}/call/{api}/{event_id}", headers=headers, timeout=timeout) as s:
            name = None
            for line in s.iter_lines():
                if time.monotonic() - start > timeout:
                    break
                if line.startswith("event:"):
                    name = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and name in ("complete", "error"):
                    event, payload = name, json.loads(line.split(":", 1)[1])
                    break
        return event, payload, time.monotonic() - start
    except httpx.HTTPError as exc:
        return f"exception {type(exc).__name__}", None, time.monotonic() - start


def outcome(result: tuple[str, object, float]) -> str:
    """"answered", "limited" (the rate limit's message), "busy" (the client's slots are taken),
    "refused: <message>", or the failure."""
    event, payload, _ = result
    if event == "complete":
        return "answered"
    if event == "error":
        text = json.dumps(payload, ensure_ascii=False)
        return "limited" if LIMITED in text else "busy" if BUSY in text else "refused: " + text[:80]
    return event


# ---- inputs ------------------------------------------------------------------------------------


def near_passage(root: Path, length: int, seed: int) -> str:
    """A stretch of the plan text with every tenth character changed: close to the plan, nowhere verbatim."""
    text = "".join(p.read_text(encoding="utf-8") for p in sorted((root / "corpus").glob("*.txt")))
    flat = "".join(text.split())
    start = random.Random(seed).randrange(0, len(flat) - length)
    return "".join("甲" if i % 10 == 0 else ch for i, ch in enumerate(flat[start:start + length]))


def long_question(root: Path, seed: int) -> str:
    """1,990 characters asking whether the plan says a long near-verbatim passage (its own quotation
    marks dropped, so that the whole passage is the quotation to check)."""
    frame = "规划里是不是说“”？"
    passage = near_passage(root, 2100, seed).translate({ord(c): None for c in "“”‘’「」『』\"'"})
    return frame[:7] + passage[:1990 - len(frame)] + frame[7:]


# ---- attacks -----------------------------------------------------------------------------------


def flood(app: App, make: Callable[[int], tuple[str | None, str | None]], n: int = 40) -> dict:
    """n one-line questions, 8 at a time; make(i) gives the (session_hash, X-Forwarded-For) of call i."""
    start = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: call(app, "ask", [QUESTION, "全部", []], *make(i)), range(n)))
    counts = Counter(outcome(r) for r in results)
    return {"answered": f"{counts.pop('answered', 0)}/{n}", "limited": counts.pop("limited", 0),
            "busy": counts.pop("busy", 0), "other": dict(counts), "wall_s": round(time.monotonic() - start, 1)}


def attack_ratelimit_nosession(app: App, root: Path) -> dict:
    return flood(app, lambda i: (None, None))


def attack_ratelimit_random_session(app: App, root: Path) -> dict:
    return flood(app, lambda i: (uuid.uuid4().hex[:11], None))


def attack_ratelimit_random_xff(app: App, root: Path) -> dict:
    """A random X-Forwarded-For each time, to an app that trusts no proxy (the default)."""
    return flood(app, lambda i: (None, f"10.{i % 250}.{i // 250}.7"))


def attack_shared_session(app: App, root: Path) -> dict:
    """4 calls at once that share one session_hash."""
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda i: call(app, "ask", [QUESTION, "全部", []], "shared-hash", timeout=60),
                                range(4)))
    return {"outcomes": dict(Counter(outcome(r) for r in results)),
            "slowest_s": round(max(r[2] for r in results), 1)}


def attack_history(app: App, root: Path, history: list[str] | None = None) -> dict:
    """A 1,990-character question with 20 history strings of 1,990 characters (long quote checks)."""
    history = history or [long_question(root, seed) for seed in range(1, 21)]
    cpu = app.cpu()
    result = call(app, "ask", [long_question(root, 0), "全部", history], peer="10.0.0.1")
    return {"outcome": outcome(result), "cpu_s": round(app.cpu() - cpu, 1), "wall_s": round(result[2], 1)}


def attack_history_followups(app: App, root: Path) -> dict:
    """The same question with 20 history strings of 1,990 characters that read as follow-ups
    ("那这个呢？" again and again): each is answered again, up to the replay limit."""
    return attack_history(app, root, [("那这个呢？" * 400)[:1990]] * 20)


def hold_up(app: App, root: Path, peers: tuple[str, str]) -> dict:
    """Two long-history requests, then (1 s later) another user's one-line question: how long it waits."""
    history = [long_question(root, seed) for seed in range(1, 21)]
    cpu, out = app.cpu(), {}

    def heavy(k: int) -> None:
        out[k] = call(app, "ask", [long_question(root, 10 + k), "全部", history], peer=peers[k])

    threads = [threading.Thread(target=heavy, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    victim = call(app, "ask", [QUESTION, "全部", []], peer="10.0.0.3")
    for t in threads:
        t.join()
    return {"one_liner_s": round(victim[2], 1), "one_liner": outcome(victim),
            "heavy": [outcome(out[k]) for k in range(2)], "heavy_wall_s": [round(out[k][2], 1) for k in range(2)],
            "cpu_s": round(app.cpu() - cpu, 1)}


def attack_holdup_one_client(app: App, root: Path) -> dict:
    return hold_up(app, root, ("10.0.0.1", "10.0.0.1"))


def attack_holdup_two_clients(app: App, root: Path) -> dict:
    return hold_up(app, root, ("10.0.0.1", "10.0.0.2"))


def attack_quote(app: App, root: Path) -> dict:
    """/check_quote with 1,990 characters close to the plan text."""
    cpu = app.cpu()
    result = call(app, "check_quote", [near_passage(root, 1990, 0)], peer="10.0.0.1")
    verdict = result[1][0].get("label") if result[0] == "complete" else None  # type: ignore[index]
    return {"outcome": outcome(result), "verdict": verdict, "cpu_s": round(app.cpu() - cpu, 1),
            "wall_s": round(result[2], 1)}


def stored_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def attack_upload(app: App, root: Path) -> dict:
    """POST /gradio_api/upload of 100 MB (and of 1 KB) without a login."""
    out = {}
    for label, size in (("1KB", 1000), ("100MB", 100_000_000)):
        with tempfile.NamedTemporaryFile(dir=app.uploads.parent, suffix=".bin") as f:
            f.truncate(size)  # sparse: read back as zeros
            f.seek(0)
            try:
                r = httpx.post(f"{app.url}/upload", files={"files": ("big.bin", f)}, timeout=120)
                out[label] = r.status_code
            except httpx.HTTPError as exc:
                out[label] = type(exc).__name__
    time.sleep(1.0)  # Gradio moves an upload into its cache in a background task
    out["stored_bytes"] = stored_bytes(app.uploads)
    return out


def attack_feedback(app: App, root: Path) -> dict:
    """From one client: 100 ratings of 20,000 + 20,000 characters, then smaller ones to fill what is
    left (20 of 1,000 + 1,000, 40 of 1 + 1); then one ordinary rating from another client."""
    ratings = ([["问" * 20_000, "答" * 20_000, "up"]] * 100 + [["问" * 1000, "答" * 1000, "up"]] * 20
               + [["问", "答", "up"]] * 40)
    counts = Counter(outcome(call(app, "feedback", rating, peer="10.0.0.9")) for rating in ratings)
    other = outcome(call(app, "feedback", ["婚前医学检查率目标是多少", "2025年目标为>85％", "up"], peer="10.0.0.10"))
    size = app.feedback.stat().st_size if app.feedback.exists() else 0
    return {"accepted": counts.pop("answered", 0), "limited": counts.pop("limited", 0), "other": dict(counts),
            "file_bytes": size, "another_client": other}


ATTACKS: dict[str, tuple[Callable[[App, Path], dict], dict[str, str]]] = {
    "ratelimit-nosession": (attack_ratelimit_nosession, {}),
    "ratelimit-random-session": (attack_ratelimit_random_session, {}),
    "ratelimit-random-xff": (attack_ratelimit_random_xff, {}),
    "shared-session": (attack_shared_session, {}),
    "history": (attack_history, {"ASSISTANT_RATE_LIMIT_PER_MINUTE": "0"}),
    "history-followups": (attack_history_followups, {"ASSISTANT_RATE_LIMIT_PER_MINUTE": "0"}),
    # the default limits, with clients told apart by X-Forwarded-For
    "holdup-one-client": (attack_holdup_one_client, {"ASSISTANT_TRUSTED_PROXIES": "127.0.0.1"}),
    "holdup-two-clients": (attack_holdup_two_clients, {"ASSISTANT_TRUSTED_PROXIES": "127.0.0.1"}),
    "quote": (attack_quote, {"ASSISTANT_RATE_LIMIT_PER_MINUTE": "0"}),
    # the same with a budget it cannot meet: stopped with a message (checked between steps)
    "quote-budget-1s": (attack_quote, {"ASSISTANT_RATE_LIMIT_PER_MINUTE": "0", "ASSISTANT_REQUEST_BUDGET": "1"}),
    "upload": (attack_upload, {}),
    "feedback": (attack_feedback, {"ASSISTANT_TRUSTED_PROXIES": "127.0.0.1"}),
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", type=Path, default=ROOT, help="checkout whose app.py is attacked (default: this one)")
    p.add_argument("--only", default="", help="comma-separated attack names (default: all): " + ", ".join(ATTACKS))
    args = p.parse_args(argv)
    names = [n for n in args.only.split(",") if n] or list(ATTACKS)
    unknown = set(names) - set(ATTACKS)
    if unknown:
        p.error(f"unknown attacks: {', '.join(sorted(unknown))}")
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as tmp:
        for name in names:
            attack, env = ATTACKS[name]
            app = App(args.root.resolve(), Path(tmp), env)
            try:
                print(f"{name:26s} {json.dumps(attack(app, args.root.resolve()), ensure_ascii=False)}", flush=True)
            finally:
                app.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
