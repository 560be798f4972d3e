"""The CLI as a user runs it: build, ask --json, batch (with a malformed line)."""

import json
import os
import subprocess
import sys


def run(settings, *args, input_=None):
    env = {**os.environ, "ASSISTANT_CORPUS_DIR": settings.corpus_dir, "ASSISTANT_INDEX_DIR": settings.index_dir}
    return subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True, text=True,
                          env=env, input=input_, timeout=300)


def test_build_is_noop_then_ask_json(assistant, session_settings):
    out = run(session_settings, "build")
    assert out.returncode == 0 and "up to date" in out.stdout
    out = run(session_settings, "ask", "--json", "婚前医学检查率目标是多少")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert ">85" in data["answer"] and "92.41" in data["answer"] and data["answerable"] is True
    c = data["citations"][0]
    assert set(c) == {"plan", "section", "quote", "start", "end", "doc"}
    text = assistant.corpus.text(c["doc"])
    assert text[c["start"]:c["end"]] == c["quote"] and "婚前医学检查率" in c["section"]
    assert 1 <= len(data["retrieved"]) <= 10


def test_batch_with_turns_and_a_bad_line(assistant, session_settings, tmp_path):
    src = tmp_path / "in.jsonl"
    lines = [
        json.dumps({"id": "a", "question": "婚前医学检查率目标是多少"}, ensure_ascii=False),
        "{not json",
        json.dumps({"id": "b", "question": "那2020年是多少？",
                    "turns": ["婚前医学检查率目标是多少", "那2020年是多少？"]}, ensure_ascii=False),
    ]
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    dst = tmp_path / "out.jsonl"
    out = run(session_settings, "batch", str(src), str(dst))
    assert out.returncode == 1 and ":2:" in out.stderr  # the bad line is named, the rest answered
    rows = [json.loads(x) for x in dst.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["a", 2, "b"]
    assert "error" in rows[1]
    assert rows[2]["answer"].index("92.41") < rows[2]["answer"].index(">85")
    assert set(rows[0]) >= {"id", "answer", "answerable", "citations", "retrieved"}


def test_bad_question_is_a_message_not_a_traceback(session_settings, assistant):
    out = run(session_settings, "ask", "   ")
    assert out.returncode == 2 and "Traceback" not in out.stderr and "问题是空的" in out.stderr


def test_the_progress_line_shows_the_rate_and_the_time_left():
    from assistant.cli import progress_line

    line = progress_line("embedding", 120, 480, elapsed=10.0, since=20)
    assert line.startswith("embedding: [#######") and "120/480" in line
    assert "10.0/s, 36 s left" in line  # 100 passages in 10 s; 360 to go
    assert progress_line("embedding", 480, 480, 40.0, 0).endswith("480/480 12.0/s")
    assert progress_line("embedding", 16, 480, 0.0, 16).endswith("16/480")  # no rate before a second report
