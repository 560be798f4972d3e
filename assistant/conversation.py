"""Follow-up questions resolved against the conversation so far. Pure.

"那2020年是多少？" reuses the last indicator, "那儿童规划呢？" the last question in the other plan,
"第二个具体做什么" the second item of the list last shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.types import Answer

CN_ORD = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
ORDINAL = re.compile(r"第\s*([一二两三四五六七八九十]|\d{1,2})\s*(?:个|条|项|点|款)?")
LEADS = re.compile(r"^(那|那么|那个|这个|它|其|还有|再|然后|另外|and|what about|how about)", re.I)
PLAN_WORDS = {"children": re.compile(r"儿童|孩子|未成年|children|child", re.I),
              "women": re.compile(r"妇女|女性|women|woman", re.I)}
YEAR_ONLY = re.compile(r"^(那|那么)?\s*(2020|2025)\s*年?(呢|是多少|的值|的数据|多少|的目标|目标)?[？?。]?$")


@dataclass
class Resolved:
    """A question made self-contained, with what it refers to."""

    question: str
    plans: list[str] | None = None
    indicators: list[str] = field(default_factory=list)  # indicator chunk ids
    item: str | None = None  # chunk id of a referenced list item
    year: str | None = None
    followup: bool = False
    docs: list[str] | None = None  # document ids to search; None = every document


def is_followup(question: str) -> bool:
    q = question.strip()
    return bool(LEADS.match(q) or ORDINAL.search(q) or YEAR_ONLY.match(q) or len(q) <= 6)


def resolve(question: str, history: list[Answer], plans: list[str] | None = None) -> Resolved:
    """Resolve a follow-up against the last answered turn; other questions pass through."""
    last = next((a for a in reversed(history) if a.answerable and a.context), None)
    q = question.strip()
    if last is None or not is_followup(q):
        return Resolved(q, plans)
    ctx = last.context
    base = last.resolved_question or last.question
    if (m := ORDINAL.search(q)) and ctx.get("list"):
        g = m.group(1)
        n = int(g) if g.isdigit() else CN_ORD[g]
        items = ctx["list"]
        if 1 <= n <= len(items):
            return Resolved(q, plans, item=items[n - 1], followup=True)
    other = _plan_switch(q, ctx.get("plans", []))
    if other:
        return Resolved(_strip_plan_words(base), [other], indicators=ctx.get("indicators", []),
                        followup=True)
    year = re.search(r"2020|2025", q)
    if ctx.get("indicators") and (year or re.search(r"基数|现状|目标|多少", q)):
        return Resolved(base, plans, indicators=ctx["indicators"],
                        year=year.group(0) if year else ("2020" if re.search(r"基数|现状", q) else "2025"),
                        followup=True)
    return Resolved(f"{base} {q}", plans, followup=True)


def _plan_switch(question: str, previous: list[str]) -> str | None:
    for key, pattern in PLAN_WORDS.items():
        if pattern.search(question) and key not in previous and len(question) <= 14:
            return key
    return None


def _strip_plan_words(question: str) -> str:
    return re.sub(r"妇女规划|儿童规划|妇女|儿童", "", question) or question
