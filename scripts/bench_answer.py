"""Answering speed: warm `ask` p50/p95 over the dev questions, and what a long history costs.

    .venv/bin/python scripts/bench_answer.py [--repeat 3]

History comes two ways: as earlier Answers (the app, the Python API) and as plain strings (the HTTP
API); strings are replayed only back to the last self-contained question, at most MAX_REPLAY of them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant import Assistant  # noqa: E402
from assistant.evaluate import load_split  # noqa: E402


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    started = time.perf_counter()
    a = Assistant()
    print(f"start-up (index current): {time.perf_counter() - started:.2f} s")
    questions = [i["question"] for i in load_split("dev") if "turns" not in i]
    a.ask("预热")
    times = [timed(lambda q=q: a.ask(q)) for _ in range(args.repeat) for q in questions]
    print(f"warm ask over {len(questions)} dev questions x{args.repeat}: p50 {pct(times, 50):.1f} ms, "
          f"p95 {pct(times, 95):.1f} ms")

    turns = ["婚前医学检查率目标是多少", "那2020年呢", "儿童规划有哪些重点实事项目", "第二个具体做什么",
             "谁负责规划实施的组织协调"] * 4  # 20 turns
    last = "那儿童规划呢？"
    fresh = [timed(lambda: a.ask(last)) for _ in range(10)]
    strings = [timed(lambda: a.ask(last, history=list(turns))) for _ in range(10)]
    answers = []
    for t in turns:
        answers.append(a.ask(t, history=list(answers)))
    objects = [timed(lambda: a.ask(last, history=list(answers))) for _ in range(10)]
    base = statistics.median(fresh)
    print(f"fresh question: {base:.1f} ms; with 20 earlier turns as strings: {statistics.median(strings):.1f} ms "
          f"(+{statistics.median(strings) - base:.1f}); as Answers: {statistics.median(objects):.1f} ms "
          f"(+{statistics.median(objects) - base:.1f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
