"""Command line: build, ask, batch, chat, eval, ingest, list, remove."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import unicodedata

from assistant.config import Settings, env_table
from assistant.errors import AssistantError, InputError

log = logging.getLogger("assistant")


_STARTED: dict[str, tuple[float, int]] = {}  # stage -> (when its first report came, what was done then)


def progress_line(stage: str, done: int, total: int, elapsed: float, since: int = 0) -> str:
    """"embedding: [#####.....] 120/480 8.1/s, 44 s left": the rate since the stage began, and the time left."""
    width = 30
    filled = int(width * done / max(total, 1))
    line = f"{stage}: [{'#' * filled}{'.' * (width - filled)}] {done}/{total}"
    rate = (done - since) / elapsed if elapsed > 0 and done > since else 0.0
    if rate:
        left = (total - done) / rate
        line += f" {rate:.1f}/s, {left:.0f} s left" if done < total else f" {rate:.1f}/s"
    return line


_SHOWN: dict[str, float] = {}  # stage -> when its line was last written
SHOW_EVERY = 0.2  # seconds between progress lines (a build reports every passage)


def _progress(stage: str, done: int, total: int) -> None:
    now = time.monotonic()
    if stage not in _STARTED or done < _STARTED[stage][1]:
        _STARTED[stage] = (now, done)
        _SHOWN.pop(stage, None)
    if done < total and now - _SHOWN.get(stage, -SHOW_EVERY) < SHOW_EVERY:
        return
    _SHOWN[stage] = now
    began, since = _STARTED[stage]
    clear = "\033[K" if sys.stderr.isatty() else ""  # the rest of a longer line before it
    sys.stderr.write("\r" + progress_line(stage, done, total, now - began, since) + clear)
    if done >= total:
        sys.stderr.write("\n")
        _STARTED.pop(stage, None)
    sys.stderr.flush()


def _assistant():
    from assistant.core import Assistant

    return Assistant(Settings.from_env(), progress=_progress)


def shown(text: str, keep: str = "") -> str:
    """Text safe to print: control and format characters (ESC, CR, U+202E, ...) as escapes, except `keep`.

    A file named "\x1b[31mred.txt" is printed as "\\x1b[31mred.txt", not as a colour change.
    """
    return "".join(ch if ch in keep or unicodedata.category(ch)[0] != "C"
                   else ch.encode("unicode_escape", "backslashreplace").decode("ascii") for ch in text)


def _json_shown(data) -> str:
    """JSON with every control and format character written as a \\u escape (the same JSON value)."""
    text = json.dumps(data, ensure_ascii=False, indent=2)
    return "".join(json.dumps(ch)[1:-1] if ch != "\n" and unicodedata.category(ch)[0] == "C" else ch
                   for ch in text)


def format_answer(answer) -> str:
    """Answer first, then the numbered citations with their sections and quotes."""
    lines = [answer.answer, ""]
    for i, c in enumerate(answer.citations, 1):
        quote = " ".join(c.quote.split())
        lines.append(f"[{i}] {c.section}（{c.doc}，第{c.start}-{c.end}字）\n    “{quote}”")
    return "\n".join(lines).rstrip()


def cmd_build(args) -> int:
    from assistant.index import live_manifest
    from assistant.indexing import build

    settings = Settings.from_env()
    built = build(settings, force=args.force, progress=_progress)
    state = "index built" if built else "index is up to date (nothing changed)"
    print(f"{state}: {(live_manifest(settings) or {}).get('count', 0)} chunks in {settings.index_dir}")
    return 0


def cmd_ask(args) -> int:
    answer = _assistant().ask(args.question, plan=args.plan, doc=args.doc)
    if args.json:
        print(json.dumps({"question": args.question, **answer.to_dict()}, ensure_ascii=False, indent=2))
    else:
        print(format_answer(answer))
    return 0


def cmd_batch(args) -> int:
    """Answer a JSONL file of questions; malformed lines are reported and skipped."""
    assistant = _assistant()
    failures = 0
    with open(args.input, "rb") as fin, open(args.output, "w", encoding="utf-8", errors="backslashreplace") as fout:
        for lineno, raw in enumerate(fin, 1):
            if not raw.strip():
                continue
            try:
                item = _batch_item(raw, lineno)
                answer = None
                turns: list = []
                for turn in item.get("turns") or [item["question"]]:
                    answer = assistant.ask(turn, history=turns, plan=item.get("plan_filter"), doc=item.get("doc"))
                    turns.append(answer)
                out = {"id": item.get("id", lineno), **answer.to_dict()}
            except (InputError, ValueError) as exc:
                failures += 1
                print(f"{args.input}:{lineno}: {exc}", file=sys.stderr)
                out = {"id": _safe_id(raw, lineno), "error": str(exc)}
            fout.write(json.dumps(out, ensure_ascii=False) + "\n")
    print(f"wrote {args.output} ({failures} line(s) with errors)", file=sys.stderr)
    return 1 if failures else 0


def _batch_item(raw: bytes, lineno: int) -> dict:
    try:
        item = json.loads(raw.decode("utf-8-sig"))  # a BOM (Notepad) is not part of line 1
    except UnicodeDecodeError as exc:
        raise ValueError(f"line {lineno} is not UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"line {lineno} is not valid JSON ({exc.msg})") from exc
    if not isinstance(item, dict) or not isinstance(item.get("question"), str):
        raise ValueError(f"line {lineno} needs an object with a \"question\" string")
    turns = item.get("turns")
    if turns is not None and (not isinstance(turns, list) or not all(isinstance(t, str) for t in turns) or not turns):
        raise ValueError(f"line {lineno}: \"turns\" must be a non-empty list of strings")
    return item


def _safe_id(raw: bytes, lineno: int):
    try:
        return json.loads(raw.decode("utf-8-sig")).get("id", lineno)
    except Exception:
        return lineno


def cmd_chat(args) -> int:
    """An interactive chat in the terminal; follow-ups use the conversation so far."""
    assistant = _assistant()
    history: list = []
    print("嘉兴市妇女/儿童发展“十四五”规划问答。输入问题，回车提问；输入 exit 退出。")
    while True:
        try:
            question = input("\n问：").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if question.lower() in {"exit", "quit", "q", "退出"}:
            return 0
        try:
            answer = assistant.ask(question, history=history, plan=args.plan, doc=args.doc)
        except InputError as exc:
            print(f"答：{exc}")
            continue
        history.append(answer)
        print("答：" + format_answer(answer))


def cmd_eval(args) -> int:
    """Score the assistant (and the baselines) on the Q&A set; print the tables, write the report."""
    from assistant.evaluate import (
        assistant_over,
        format_summary,
        load_items,
        load_split,
        run_eval,
        split_corpus,
        write_report,
    )

    if args.llm:
        return _eval_llm(args)
    folder = None
    if args.set:
        items, where = load_items(args.set, args.category, args.limit), args.set
    else:
        items, where = load_split(args.split, args.category, args.limit), f"split {args.split}"
        folder = split_corpus(args.split)
    if folder is None:
        run = run_eval(_assistant(), items, baselines=not args.no_baselines, set_path=where)
    else:
        with assistant_over(folder, progress=_progress) as assistant:
            run = run_eval(assistant, items, baselines=not args.no_baselines, set_path=f"{where} over {folder.name}")
    print(format_summary(run), flush=True)
    for path in write_report(run, args.report):
        print(f"wrote {path}", file=sys.stderr)
    return 0


def _eval_llm(args) -> int:
    """LLM mode against the extractive answers on a fixed sample of the dev and blind splits."""
    from dataclasses import replace

    from assistant.core import Assistant
    from assistant.evaluate import format_summary, load_items, load_split, run_llm_eval, sample_items, write_report

    settings = Settings.from_env()
    if not settings.llm_base_url:
        raise InputError("eval --llm needs a model: run `make llm` and export the variables it prints "
                         "(ASSISTANT_LLM_BASE_URL, ASSISTANT_LLM_MODEL)")
    items = load_items(args.set, args.category) if args.set else load_split(args.split, args.category)
    items = sample_items(items, args.sample)
    llm = Assistant(settings, progress=_progress)
    extractive = Assistant(replace(settings, llm_base_url=""), progress=_progress)
    where = f"{args.set or 'split ' + args.split}, {args.sample} a split (every k-th item)"
    run = run_llm_eval(extractive, llm, items, set_path=where)
    print(format_summary(run), flush=True)
    for path in write_report(run, args.report):
        print(f"wrote {path}", file=sys.stderr)
    return 0


def cmd_ingest(args) -> int:
    """Add or replace documents from files; the index is rebuilt (a no-op when nothing changed)."""
    from assistant.ingest import ingest

    results, built = ingest(Settings.from_env(), args.paths, progress=_progress)
    for r in results:
        print(shown(f"{r.status}: {r.file} -> {r.stored} (doc {r.doc})"))
    print("index rebuilt" if built else "index is up to date (nothing changed)")
    return 0


def cmd_list(args) -> int:
    """Each document: id, original file, plans, indicator rows, chunks, sha256 prefix."""
    from assistant.ingest import list_documents

    docs = list_documents(Settings.from_env())
    if args.json:
        print(_json_shown([d.to_dict() for d in docs]))
        return 0
    for d in docs:
        print(f"{shown(d.doc)}\n    file: {shown(d.file)}  sha256: {d.sha256[:12]}  plans: {len(d.plans)}  "
              f"indicator rows: {d.indicators}  chunks: {d.chunks}")
        for title in d.plans:
            print(f"    - {shown(title)}")
    return 0


def cmd_remove(args) -> int:
    from assistant.ingest import remove

    built = remove(Settings.from_env(), args.doc, progress=_progress)
    print(f"removed {shown(args.doc)}; " + ("index rebuilt" if built else "index is up to date"))
    return 0


def cmd_env(args) -> int:
    for name, default, desc in env_table():
        print(f"{name:32} {desc} (default: {default!r})")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="assistant", description="Q&A over the Jiaxing women's and children's plans")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress and decisions")
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build the index (a no-op when nothing changed)")
    b.add_argument("--force", action="store_true", help="rebuild even when the index is current")
    b.set_defaults(func=cmd_build)
    a = sub.add_parser("ask", help="ask one question")
    a.add_argument("question")
    a.add_argument("--plan", help="search one plan only: women / children (妇女规划 / 儿童规划), or a plan key or "
                                  "title from `list`")
    a.add_argument("--doc", help="search one document only (an id from `list`)")
    a.add_argument("--json", action="store_true", help="print the answer as JSON")
    a.set_defaults(func=cmd_ask)
    bt = sub.add_parser("batch", help="answer a JSONL file of questions")
    bt.add_argument("input")
    bt.add_argument("output")
    bt.set_defaults(func=cmd_batch)
    c = sub.add_parser("chat", help="chat in the terminal")
    c.add_argument("--plan", help="search one plan only (as for ask)")
    c.add_argument("--doc", help="search one document only (an id from `list`)")
    c.set_defaults(func=cmd_chat)
    ev = sub.add_parser("eval", help="score the assistant and the baselines on the Q&A set")
    ev.add_argument("--split", default="all",
                    choices=["dev", "dev2", "dev3", "dev4", "blind", "all", "external-dev", "external-dev2",
                             "external-blind", "external"],
                    help="dev (evals/qa.jsonl + evals/dev_colloquial.jsonl), dev2 (evals/dev_d4.jsonl), dev3 "
                         "(evals/dev_d5.jsonl), dev4 (evals/dev_d6.jsonl), blind (evals/blind.jsonl), all (default: "
                         "the five, side by side); external-dev / external-dev2 / external-blind / external: the Q&A "
                         "over evals/external-docs, asked of a "
                         "corpus of those documents alone")
    ev.add_argument("--set", help="one Q&A JSONL file instead of the splits")
    ev.add_argument("--report", help="folder for latest.md/.json/.png (default: evals/reports/)")
    ev.add_argument("--category", help="only the items of this category")
    ev.add_argument("--limit", type=int, help="only the first N items")
    ev.add_argument("--no-baselines", action="store_true", help="score the assistant only")
    ev.add_argument("--llm", action="store_true",
                    help="LLM mode (ASSISTANT_LLM_BASE_URL, see `make llm`) against the extractive answers, "
                         "on a fixed sample of each split")
    ev.add_argument("--sample", type=int, default=30, help="with --llm: items per split (default 30)")
    ev.set_defaults(func=cmd_eval)
    ing = sub.add_parser("ingest", help="add or replace documents (.txt .md .docx .pdf .html) and rebuild the index")
    ing.add_argument("paths", nargs="+", metavar="PATH")
    ing.set_defaults(func=cmd_ingest)
    ls = sub.add_parser("list", help="list the documents: id, original file, plans, indicator rows, chunks, sha256")
    ls.add_argument("--json", action="store_true", help="print the list as JSON")
    ls.set_defaults(func=cmd_list)
    rm = sub.add_parser("remove", help="remove a document from the corpus and rebuild the index")
    rm.add_argument("doc", help="document id (see `list`)")
    rm.set_defaults(func=cmd_remove)
    e = sub.add_parser("env", help="list the ASSISTANT_* environment variables")
    e.set_defaults(func=cmd_env)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    for stream in (sys.stdout, sys.stderr):  # undecodable argv or ids must not become a traceback
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    settings = Settings.from_env()
    logging.basicConfig(level=logging.INFO if args.verbose else settings.log_level,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except AssistantError as exc:  # messages name files: a hostile name must not drive the terminal
        print(shown(f"error: {exc}", keep="\n"), file=sys.stderr)
        return 2
    except OSError as exc:
        print(shown(f"error: {exc.strerror or exc}: {getattr(exc, 'filename', '') or ''}"), file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
