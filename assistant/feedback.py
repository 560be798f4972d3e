"""Thumbs up/down on answers, appended to a local JSONL file: append-only, size-limited. [I/O]"""

from __future__ import annotations

import json
import logging
import os
import threading
from datetime import datetime, timezone
from pathlib import Path

from assistant.errors import AssistantError

log = logging.getLogger(__name__)
RATINGS = {"up": "up", "down": "down", "👍": "up", "👎": "down", "like": "up", "dislike": "down"}
MAX_FIELD_CHARS = 20_000  # one record stays readable even when an answer is long
_lock = threading.Lock()


class FeedbackError(AssistantError):
    """Feedback cannot be recorded: a bad rating, or the feedback file is full."""


def feedback_record(question: str, answer: str, rating: str, now: datetime | None = None) -> dict:
    """The JSON object written for one rating: time, question, answer, rating ("up" | "down")."""
    key = RATINGS.get(str(rating).strip().lower())
    if key is None:
        raise FeedbackError(f"评价只能是 up（有帮助）或 down（没帮助），收到的是“{rating}”。")
    when = (now or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    return {"time": when, "question": str(question)[:MAX_FIELD_CHARS],
            "answer": str(answer)[:MAX_FIELD_CHARS], "rating": key}


def record_feedback(path: str | Path, max_bytes: int, question: str, answer: str, rating: str) -> dict:
    """Append one rating as a JSON line; refuse (FeedbackError) when the file would exceed max_bytes."""
    record = feedback_record(question, answer, rating)
    line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    target = Path(path)
    with _lock:
        target.parent.mkdir(parents=True, exist_ok=True)
        size = target.stat().st_size if target.exists() else 0
        if size + len(line) > max_bytes:
            log.warning("feedback file %s is full (%d bytes, limit %d)", target, size, max_bytes)
            raise FeedbackError("反馈记录已达到存储上限，暂时无法保存新的评价，请联系管理员。")
        fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)  # one write of one line: O_APPEND never interleaves or truncates
        finally:
            os.close(fd)
    return record
