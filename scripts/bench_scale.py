"""Scale benchmark: build and serve a corpus N times the seed, in embedded and in server mode.

    .venv/bin/python scripts/bench_scale.py --sizes 1,10     # quick: a few minutes
    .venv/bin/python scripts/bench_scale.py                  # 1x, 10x, 100x (100x embeds ~18k chunks)

Copy 0 of the corpus is the seed itself; copy i renames 嘉兴 to 城市<i>, redraws the digits of its
figures with a seeded RNG and tags body sentences with its city, so that every copy's chunks differ
(and are all embedded). For each size it
prints chunks, build time split into parsing, embedding and writing Chroma, a rebuild after one
edited sentence (embedding cache), and, from a subprocess that only loads and serves, ask() and
retrieve() p50/p95 over a fixed list of 20 questions, the p50 of two 2,000-character questions (a
pasted passage, and "is this what the plan says?" about one) plus that process's peak RSS (VmHWM).
Each time is also given as a ratio to a reference measured in the same process, one query's
embedding (p50 over the same questions), so that a run on a busy machine compares with a quiet one.
A size whose embedding would not fit in --budget-min (estimated from the sizes before) is skipped.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.config import Settings  # noqa: E402
from assistant.index import drop_server_index  # noqa: E402

QUESTIONS = [  # two per single-turn category of evals/qa.jsonl
    "婚前医学检查率目标", "到2025年，嘉兴的孕产妇死亡率要控制在多少？", "婚前医学检察率2020年是多少？",
    "妇女人均预期寿命2020年多少岁", "产前筛查率要达到多少", "“两癌”免费检查的筛查覆盖率要保持在多少？",
    "妇女规划对预防和制止家庭暴力有哪些措施？", "婚姻家庭矛盾纠纷用什么方法化解？",
    "妇女规划的实施由谁负责组织、协调、指导和督促？", "儿童规划由谁负责实施？", "妇女规划有哪些重点实事项目？",
    "儿童规划的重点实事项目有哪些？", "这两个规划的规划期限是多久？", "儿童规划里说的“儿童”指什么人？",
    "高中阶段毛入学率是多少？2025年目标呢？", "建立活动中心的县（市、区）比例现在是多少，目标多少？",
    "2030年婚前医学检查率目标是多少？", "这两个规划总共投入多少预算？",
    "规划里是不是说“各县（市、区）至少设有1家危重新生儿救治中心”？", "规划里是不是说“至少设有2家危重新生儿救治中心”？",
]
EDIT = ("产前筛查率达到90％以上", "产前筛查率达到95％以上")  # the one-sentence change of the rebuild
LONG = 2000  # characters of the long questions (settings.max_question_chars)
LONG_SAMPLES = 7  # passages timed per kind of long question (their cost varies with what they hold)
NUMBER = re.compile(r"(?<![\d.．])\d+(?:\.\d+)?(?![\d.．])")


# ---- corpus ----------------------------------------------------------------------------------


def redraw_digits(text: str, rng: random.Random) -> str:
    """Figures get new digits; item numbers (3．), table row numbers (an integer alone on a line) and years stay."""
    def redraw(m: re.Match) -> str:
        token = m.group()
        before = text[text.rfind("\n", 0, m.start()) + 1 : m.start()]
        after = text[m.end() :].split("\n", 1)[0]
        row_number = "." not in token and not before.strip() and not after.strip()
        if row_number or re.fullmatch(r"(19|20)\d\d", token):
            return token
        digits = [str(rng.randint(1 if i == 0 and len(token) > 1 else 0, 9)) if ch.isdigit() else ch
                  for i, ch in enumerate(token)]
        return "".join(digits)

    return NUMBER.sub(redraw, text)


def tag_sentences(text: str, city: str) -> str:
    """"…以上。" -> "…以上（城市001）。" in body lines, so chunks without figures differ between copies too."""
    return "\n".join(line.replace("。", f"（{city}）。") if len(line.strip()) > 30 else line
                     for line in text.split("\n"))


def make_corpus(seed_text: str, copies: int, folder: Path, seed: int = 7) -> None:
    """copies files: the seed, then copies with another city name and redrawn figures."""
    folder.mkdir(parents=True)
    for i in range(copies):
        text = seed_text
        if i:
            city = f"城市{i:03d}"
            text = tag_sentences(redraw_digits(seed_text, random.Random(seed * 100_003 + i)), city)
            text = text.replace("嘉兴", city)
        (folder / f"plans_{i:03d}.txt").write_text(text, encoding="utf-8")


# ---- building --------------------------------------------------------------------------------


def build_both(settings: Settings, server: Settings | None, random_vectors: bool = False) -> dict:
    """Parse, embed, write the embedded index (and the server's, from the same vectors); timings in s.

    random_vectors: random unit vectors instead of embeddings, to measure the rest at sizes whose
    embedding takes too long (embedding time grows linearly: see texts/s of the smaller sizes).
    """
    from assistant.chunking import CHUNKER_VERSION
    from assistant.corpusdir import read_corpus
    from assistant.embeddings import get_embedder
    from assistant.index import build_index, embed_chunks, expected_manifest
    from assistant.indexing import chunk_reusing
    from assistant.keywords import KeywordIndex
    from assistant.sentences import name_vectors, sentence_store, sentence_vectors

    t0 = time.perf_counter()
    corpus = read_corpus(settings)
    chunks, documents = chunk_reusing(corpus, settings, None)  # as a build does: each document's parse key too
    t1 = time.perf_counter()
    embedder = get_embedder(settings)
    if random_vectors:
        vectors = np.random.default_rng(0).standard_normal((len(chunks), 384)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    else:
        vectors = embed_chunks(embedder, chunks)
    t2 = time.perf_counter()
    manifest = expected_manifest(corpus.sha256, CHUNKER_VERSION, embedder.id, settings)
    keywords = KeywordIndex.build(chunks)
    tk = time.perf_counter()
    build_index(settings, chunks, vectors, manifest, keywords=keywords, documents=documents)
    t3 = time.perf_counter()
    # The sentences' and names' vectors (answering picks sentences by them); random ones with random vectors.
    rng = np.random.default_rng(1)
    fake = (lambda texts: rng.standard_normal((len(texts), 384)).astype(np.float32)) if random_vectors else None
    for where in [settings] + ([server] if server is not None else []):
        sentence_vectors(corpus, chunks, embedder, sentence_store(where, embedder.id), embed=fake, persist=True)
        name_vectors(chunks, embedder, where, embed=fake, persist=True)
    t4 = time.perf_counter()
    row = {"docs": len(corpus.documents), "chunks": len(chunks), "texts": len({c.embed_text for c in chunks}),
           "parse": t1 - t0, "embed": float("nan") if random_vectors else t2 - t1, "keywords": tk - t2,
           "write_embedded": t3 - tk, "sentences": t4 - t3}
    if server is not None:
        build_index(server, chunks, vectors, manifest, keywords=keywords, documents=documents)
        row["write_server"] = time.perf_counter() - t4
    return row


def write_server(settings: Settings, server: Settings, random_vectors: bool) -> float:
    """Write the server's index of the (edited) corpus from the embedded build's vectors and terms; s."""
    from assistant.chunking import CHUNKER_VERSION
    from assistant.corpusdir import read_corpus
    from assistant.embeddings import get_embedder
    from assistant.index import build_index, embed_chunks, expected_manifest, index_store
    from assistant.indexing import chunk_reusing
    from assistant.keywords import KeywordIndex
    from assistant.sentences import name_vectors, sentence_store, sentence_vectors

    corpus, embedder = read_corpus(settings), get_embedder(settings)
    live = index_store(settings).reusable()
    chunks, documents = chunk_reusing(corpus, settings, live)
    vectors = embed_chunks(embedder, chunks, cached=live.vectors if live else None)
    keywords = KeywordIndex.build(chunks, known=live.terms if live else None)
    manifest = expected_manifest(corpus.sha256, CHUNKER_VERSION, embedder.id, settings)
    t0 = time.perf_counter()
    build_index(server, chunks, vectors, manifest, keywords=keywords, documents=documents)
    took = time.perf_counter() - t0
    rng = np.random.default_rng(1)
    fake = (lambda texts: rng.standard_normal((len(texts), 384)).astype(np.float32)) if random_vectors else None
    sentence_vectors(corpus, chunks, embedder, sentence_store(server, embedder.id), embed=fake, persist=True)
    name_vectors(chunks, embedder, server, embed=fake, persist=True)
    return took


def rebuild_after_edit(settings: Settings) -> dict:
    """Edit one sentence of copy 0, rebuild through core.build; time and texts actually embedded."""
    from assistant.embeddings import EMBEDDERS, Embedder, get_embedder
    from assistant.indexing import build

    inner = get_embedder(settings)

    class CountingEmbedder(Embedder):
        id = inner.id
        count = 0

        def embed_batch(self, texts: list[str], kind: str) -> list[list[float]]:
            CountingEmbedder.count += len(texts)
            return inner.embed_batch(texts, kind)

    name = f"bench-counting-{uuid.uuid4().hex[:6]}"  # get_embedder keeps one instance per backend name
    EMBEDDERS[name] = lambda s: CountingEmbedder()
    path = Path(settings.corpus_dir) / "plans_000.txt"
    path.write_text(path.read_text(encoding="utf-8").replace(*EDIT), encoding="utf-8")
    t0 = time.perf_counter()
    build(settings.with_(embedder=name))
    return {"rebuild": time.perf_counter() - t0, "rebuild_embedded": CountingEmbedder.count}


# ---- serving (in a subprocess of its own, so its peak RSS is only loading and serving) ---------


def long_questions(length: int = LONG, variant: int = 0) -> dict[str, str]:
    """Two questions of `length` characters from the seed text: a pasted passage, and a quote check of
    it. Each `variant` is another passage, so that no figure is of a question answered before."""
    text = "".join(next((ROOT / "corpus").glob("*.txt")).read_text(encoding="utf-8").split())
    at = 2000 + variant * 1500 % max(len(text) - length - 2000, 1)
    frame = "规划里是不是说“”？"
    return {"long_plain": text[at : at + length],
            "long_quote": frame[:8] + text[at : at + length - len(frame)] + frame[8:]}


def serve(rounds: int) -> dict:
    """Open the assistant from ASSISTANT_* and time ask()/retrieve() over QUESTIONS and the long questions."""
    from assistant import Assistant
    from assistant.limits import OverBudget

    t0 = time.perf_counter()
    assistant = Assistant(Settings.from_env(), auto_build=False)
    opened = time.perf_counter() - t0
    for q in QUESTIONS:  # warm-up: jieba, the embedder, Chroma's first queries
        assistant.ask(q)
    ask, retrieve, embed = [], [], []
    for _ in range(rounds):
        for q in QUESTIONS:
            t = time.perf_counter()  # the reference measured in the same process: one query's embedding
            assistant.embedder.embed_query(q)
            embed.append(time.perf_counter() - t)
            t = time.perf_counter()
            assistant.retrieve(q)
            retrieve.append(time.perf_counter() - t)
            t = time.perf_counter()
            assistant.ask(q)
            ask.append(time.perf_counter() - t)
    ms = lambda xs, p: float(np.percentile(xs, p) * 1000)  # noqa: E731
    long: dict[str, float | None] = {}
    for name in long_questions():
        times = []
        try:
            assistant.ask(long_questions(variant=0)[name])  # warm (the quote index is built on first use)
            for k in range(1, LONG_SAMPLES + 1):  # a passage not asked before each time: no cache helps
                q = long_questions(variant=k)[name]
                t = time.perf_counter()
                assistant.ask(q)
                times.append(time.perf_counter() - t)
            long[name] = ms(times, 50)
        except OverBudget:  # past settings.request_budget: the figure is "too slow"
            long[name] = None
    return {"open": opened, "embed_p50": ms(embed, 50), "ask_p50": ms(ask, 50), "ask_p95": ms(ask, 95),
            "retrieve_p50": ms(retrieve, 50),
            "retrieve_p95": ms(retrieve, 95), **long, "rss_mb": vm("VmHWM")}


def vm(field: str, pid: str = "self") -> float:
    """A Vm* line of /proc/<pid>/status in MB (VmHWM: peak resident set)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure_serving(settings: Settings, rounds: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update({f"ASSISTANT_{k.upper()}": str(getattr(settings, k))
                for k in ("corpus_dir", "index_dir", "collection", "chroma_host", "chroma_port")})
    out = subprocess.run([sys.executable, __file__, "serve", "--rounds", str(rounds)], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=3600)
    if out.returncode:
        raise RuntimeError(f"serving failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---- a Chroma server -------------------------------------------------------------------------


@contextmanager
def chroma_server(port: int | None):
    """(port, pid or None): the given server, or `chroma run` on a free port with a temp path, stopped by PID."""
    if port:
        yield port, None
        return
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = tempfile.mkdtemp(prefix="bench-chroma-")
    exe = Path(sys.executable).with_name("chroma")
    proc = subprocess.Popen([str(exe), "run", "--path", data, "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the Chroma server did not start") from None
                time.sleep(0.2)
        yield port, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)


# ---- the run ---------------------------------------------------------------------------------


def run_size(n: int, work: Path, port: int, rounds: int, random_vectors: bool) -> tuple[dict, list[dict]]:
    base = work / f"{n}x"
    make_corpus(next((ROOT / "corpus").glob("*.txt")).read_text(encoding="utf-8"), n, base / "corpus")
    settings = Settings.from_env(env={}, corpus_dir=str(base / "corpus"), index_dir=str(base / "index"))
    server = settings.with_(chroma_host="127.0.0.1", chroma_port=port, collection=f"bench{n}x{uuid.uuid4().hex[:6]}")
    # Embedded first, server after: the Chroma server compacts what it was sent for a while after a
    # build, and that work must not be counted against the embedded figures (nor run beside them).
    build = {"size": n, **build_both(settings, None, random_vectors)}
    serving = [{"size": n, "mode": "embedded", **measure_serving(settings, rounds)}]
    build.update(rebuild_after_edit(settings))
    build["write_server"] = write_server(settings, server, random_vectors)
    serving.append({"size": n, "mode": "server", **measure_serving(server, rounds)})
    drop_server_index(server)
    return build, serving


def estimate_chunks(n: int, rows: list[dict]) -> int:
    return rows[-1]["chunks"] // rows[-1]["size"] * n if rows else 182 * n


def build_table(rows: list[dict]) -> str:
    lines = ["| size | docs | chunks | parse+chunk s | embed s | texts/s | keyword index s "
             "| Chroma write s (embedded / server) | build s | embedding share "
             "| rebuild after 1 edit s (texts embedded) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        total = r["parse"] + np.nan_to_num(r["embed"]) + r["keywords"] + r["write_embedded"]
        embed = "random vectors | –" if np.isnan(r["embed"]) else f"{r['embed']:.1f} | {r['texts'] / r['embed']:.1f}"
        share = "–" if np.isnan(r["embed"]) else f"{r['embed'] / total:.0%}"
        lines.append(f"| {r['size']}x | {r['docs']} | {r['chunks']} | {r['parse']:.1f} | {embed} | "
                     f"{r['keywords']:.1f} | {r['write_embedded']:.1f} / {r.get('write_server', 0):.1f} | "
                     f"{total:.1f} | {share} | "
                     f"{r['rebuild']:.1f} ({r['rebuild_embedded']}) |")
    return "\n".join(lines)


def serve_table(rows: list[dict]) -> str:
    """Each time also as a ratio to the reference measured in the same process (one query's embedding,
    p50), so that figures taken on a busy or a quiet machine compare."""
    lines = [f"| size | mode | open s | query embed p50 ms (reference) | ask p50 ms (x ref) | ask p95 ms (x ref) "
             f"| retrieve p50 ms | retrieve p95 ms | {LONG:,}-char ask p50 ms (passage / quote check, x ref) "
             "| peak RSS MB |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ref = r["embed_p50"]
        x = lambda ms: "over budget" if ms is None else f"{ms:.0f} ({ms / ref:.1f}x)"  # noqa: E731
        lines.append(f"| {r['size']}x | {r['mode']} | {r['open']:.1f} | {ref:.1f} | {x(r['ask_p50'])} | "
                     f"{x(r['ask_p95'])} | {r['retrieve_p50']:.0f} | {r['retrieve_p95']:.0f} | "
                     f"{x(r['long_plain'])} / {x(r['long_quote'])} | {r['rss_mb']:.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("command", nargs="?", default="run", choices=["run", "serve"])
    p.add_argument("--sizes", default="1,10,100", help="corpus sizes as multiples of the seed (default 1,10,100)")
    p.add_argument("--rounds", type=int, default=3, help="passes over the 20 questions per mode (default 3)")
    p.add_argument("--budget-min", type=float, default=60, help="skip sizes whose embedding would not fit")
    p.add_argument("--chroma-port", type=int, help="use this Chroma server instead of starting one")
    p.add_argument("--random-vectors", action="store_true",
                   help="skip embedding (random unit vectors): measure writing, serving and memory only")
    p.add_argument("--work", help="keep the corpora and indexes here (default: a temp folder, removed)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.command == "serve":
        print(json.dumps(serve(args.rounds)))
        return 0
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="bench-scale-"))
    start, builds, serving = time.monotonic(), [], []
    try:
        with chroma_server(args.chroma_port) as (port, pid):
            for n in (int(x) for x in args.sizes.split(",")):
                if not args.random_vectors:
                    rate = builds[-1]["chunks"] / builds[-1]["embed"] if builds else 10.0  # guess: 2 cores
                    left = args.budget_min * 60 - (time.monotonic() - start)
                    if estimate_chunks(n, builds) / rate > left:
                        print(f"skipping {n}x: ~{estimate_chunks(n, builds) / rate / 60:.0f} min of embedding, "
                              f"{left / 60:.0f} min of budget left", file=sys.stderr)
                        continue
                build, served = run_size(n, work, port, args.rounds, args.random_vectors)
                builds.append(build)
                serving += served
                note = f", chroma server RSS {vm('VmRSS', str(pid)):.0f} MB" if pid else ""
                print(f"done {n}x after {(time.monotonic() - start) / 60:.1f} min{note}\n"
                      f"{build_table(builds)}\n\n{serve_table(serving)}\n", file=sys.stderr, flush=True)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    print(build_table(builds) + "\n\n" + serve_table(serving))
    return 0


if __name__ == "__main__":
    sys.exit(main())
