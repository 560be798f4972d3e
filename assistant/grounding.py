"""The grounding check of a model's answer against the numbered passages it cites. Pure.

A model's text is untrusted, like the user's and the documents'. It is shown only when every value it
states is a value of a passage it cites, with the same unit and no opposite direction ("85％以上" is
not "低于85％"), and when it adds no URL, foreign text or instruction that the passages do not hold.
Values are read in every way a number is written: ASCII, full-width and other Unicode digits, Chinese
numerals ("九十二点四一"), 百分之…. Item numbers and headings ("3．婚前医学检查率", "（二）") are not
values, so a number taken from them is unsupported.

`StreamCheck` checks a streamed answer one complete sentence at a time: each sentence once, so the cost
of checking grows with the text, not with its square.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cached_property

from assistant.lexicon import MODEL_ACTION_CUES, MODEL_ADDRESS_CUES
from assistant.refusal import REFUSAL
from assistant.text import NUMBER
from assistant.types import Citation

NO_CITATION = "no citation"
MAX_ANSWER_CHARS = 1500  # a grounded answer to a plan question is short; a longer reply is not shown
MIN_QUOTE_CHARS = 4  # a shorter phrase in quotation marks is a name, not a quotation
MIN_ANSWER_CHARS = 4  # fewer Chinese characters than this outside the markers is no answer

MARKER = re.compile(r"[\[［【]\s*([0-9０-９]+(?:\s*[,，、]\s*[0-9０-９]+)*)\s*[\]］】]")
SENTENCE = re.compile(rf"[^。！？；!?\n]*(?:[。！？；!?\n]+(?:\s*{MARKER.pattern})*|$)")
ENUMERATOR = re.compile(r"^\s*(?:[(（]\d{1,2}[)）]|\d{1,2}[.．、)）](?!\d)|[-*•])\s*")  # "1. ", "（2）": list format
# An item or heading number inside a passage: "3．婚前…", "（2）…", "第3条" at a line or clause start.
ITEM_NUMBER = re.compile(r"(?:^|(?<=[\n\t；;。：:>]))\s*(?:[(（]\d{1,3}[)）]|\d{1,3}[.．、](?!\d))")
CJK_CHARS = re.compile(r"[\u4e00-\u9fff]")
QUOTED = re.compile(r"“([^“”]+)”|「([^「」]+)」|『([^『』]+)』")
URL = re.compile(r"(?:https?://|www\.)[!-~]+|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.(?:com|cn|net|org|gov|edu|info|io|"
                 r"example|xyz|top|cc|me|app|site|link)(?![A-Za-z0-9])[!-~]*|[!-~]+@[A-Za-z0-9-]+\.[A-Za-z.]+",
                 re.I)  # ASCII only ([!-~]): "访问evil.example领取" is the link evil.example
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")

CN_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
            "九": 9}
CN_UNIT = {"十": 10, "百": 100, "千": 1000}
CN_NUMBER = re.compile(r"[零〇一二两三四五六七八九十百千]+(?:点[零〇一二三四五六七八九]+)?")
PERCENT_WORD = "百分之"
MASK = "\x00"
# Units a value may carry, longest first. 百分之 is read as ％.
UNITS = sorted(["％", "‰", "个百分点", "百分点", "万人次", "万人", "万元", "亿元", "万户", "万", "亿", "人次", "人",
                "名", "家", "个", "所", "项", "条", "岁", "周岁", "天", "日", "个工作日", "工作日", "小时", "周",
                "个月", "月", "年", "元", "张", "床", "倍", "次", "平方米", "公里", "户", "座", "支", "场", "批",
                "本", "册", "部", "件", "种", "类", "处", "级", "篇", "届"],
               key=len, reverse=True)
UP, DOWN = "up", "down"
# Direction words before a value ("不低于90％") and after it ("90％以上"); 达到/保持在 state no direction.
UP_WORDS = ("不低于", "不少于", "不小于", "至少", "高于", "超过", "大于", "多于", "≥", ">", "≧")
DOWN_WORDS = ("不高于", "不超过", "不多于", "不大于", "不到", "不足", "低于", "少于", "小于", "≤", "<", "≦", "控制在")
BEFORE = sorted([(w, UP) for w in UP_WORDS] + [(w, DOWN) for w in DOWN_WORDS],
                key=lambda wd: -len(wd[0]))  # 不超过 before 超过
AFTER = [(w, UP) for w in ("及以上", "以上", "或以上")] + [(w, DOWN) for w in ("及以下", "以下", "以内", "之内")]
NEGATION = re.compile(r"不是|并非|并不|不再|不会|不要求|没有|未(?!成年)")
CLAUSE_END = re.compile(r"[，,。；;：:！!？?\n]")
WINDOW = 8  # characters before a value searched for its direction or a negation


def plain(text: str) -> str:
    """NFKC ("９０％" -> "90%"), every Unicode decimal digit as ASCII ("٩٩" -> "99"), ％ as the one percent sign."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() and not ch.isascii() else ch for ch in text)
    return text.replace("%", "％")


def cn_value(word: str) -> str | None:
    """"九十二点四一" -> "92.41", "百" -> "100", "二〇二五" -> "2025"; None when it is not a number."""
    whole, _, frac = word.partition("点")
    if frac and not all(ch in CN_DIGIT for ch in frac):
        return None
    if whole and all(ch in CN_DIGIT for ch in whole):  # digit by digit: 二〇二五
        number = "".join(str(CN_DIGIT[ch]) for ch in whole)
    else:
        total, digit = 0, None
        for ch in whole:
            if ch in "零〇":  # "一千零五": a place left empty
                continue
            if ch in CN_DIGIT:
                if digit is not None:  # "十四五": two digits with no unit between are no number
                    return None
                digit = CN_DIGIT[ch]
            elif ch in CN_UNIT:
                total += (1 if digit is None else digit) * CN_UNIT[ch]
                digit = None
            else:
                return None
        number = str(total + (digit or 0)) if whole else "0"
    return number + ("." + "".join(str(CN_DIGIT[ch]) for ch in frac) if frac else "")


@dataclass(frozen=True)
class Value:
    """A number as stated: its value, unit, direction and whether the clause negates it."""

    number: Decimal
    unit: str = ""
    direction: str = ""
    negated: bool = False
    text: str = ""  # in ASCII digits with its unit ("92.41％"), for the reason

    def supported_by(self, other: Value) -> bool:
        if self.number != other.number:
            return False
        if self.unit and other.unit and _unit(self.unit) != _unit(other.unit):
            return False
        if self.direction and other.direction and self.direction != other.direction:
            return False
        return self.negated == other.negated or not self.negated


def _unit(unit: str) -> str:
    return {"百分点": "个百分点", "周岁": "岁", "日": "天", "个工作日": "工作日", "个月": "月"}.get(unit, unit)


def _decimal(number: str) -> Decimal | None:
    try:
        return Decimal(number).normalize()
    except InvalidOperation:
        return None


def values(text: str, items: bool = True) -> list[Value]:
    """Every value stated in `text` (already `plain`). items=False leaves out item and heading numbers."""
    if not items:
        text = ITEM_NUMBER.sub(lambda m: " " * len(m.group(0)), text)
    out: list[Value] = []
    taken: list[tuple[int, int]] = []  # a number with its unit: "2个百分点" holds no 百
    for m in NUMBER.finditer(text):
        value = _value(text, m.start(), m.end(), m.group(0))
        out.append(value)
        taken.append((m.start(), m.end() + len(value.unit) + 1))
    masked = text.replace(PERCENT_WORD, MASK * len(PERCENT_WORD))  # the 百 of 百分之 is no number
    for m in CN_NUMBER.finditer(masked):
        number = cn_value(m.group(0))
        start, end = m.span()
        percent = masked.endswith(MASK, 0, start)
        if number is None or any(s < end and start < e for s, e in taken):
            continue
        unit = _unit_after(text, end)
        # A Chinese numeral is a value only with a unit it measures ("九十九％", "二十家", 百分之九十):
        # "一是", "十四五" and "统一" are words.
        if percent or unit in ("％", "‰") or (unit and (len(m.group(0)) > 1 or unit not in ("个", "年", "次", "种",
                                                                                               "类", "批", "部"))):
            out.append(_value(text, start, end, number, "％" if percent else None))
    return out


def _unit_after(text: str, end: int) -> str:
    rest = text[end:end + 5].lstrip()
    return next((u for u in UNITS if rest.startswith(u)), "")


def _value(text: str, start: int, end: int, number: str, unit: str | None = None) -> Value:
    unit = _unit_after(text, end) if unit is None else unit
    after = text[end:end + 10]
    before = text[max(0, start - WINDOW):start]
    before = CLAUSE_END.split(before)[-1]
    direction = next((d for w, d in BEFORE if before.rstrip().endswith(w) or w in before[-4:]), "")
    tail = after.lstrip()
    tail = tail[len(unit):] if unit and tail.startswith(unit) else tail
    direction = next((d for w, d in AFTER if tail.startswith(w)), direction)
    plain_before = before
    for w, _ in BEFORE:
        plain_before = plain_before.replace(w, "")
    negated = bool(NEGATION.search(plain_before))
    value = _decimal(number)
    value = Decimal(-1) if value is None else value
    return Value(value, unit, direction, negated, format(value, "f") + unit)


# ---- passages ------------------------------------------------------------------------------------


@dataclass
class Passage:
    """A numbered passage shown to the model, with the exact corpus citation it stands for."""

    citation: Citation
    text: str  # the body as shown: the quote, for a table row with its reading
    reading: str = ""  # a table row's reading: its values are the row's cells without the 序号
    years: frozenset[str] = frozenset()  # its plan's period and base year, stated in the system prompt

    @cached_property
    def evidence(self) -> str:
        """What the model saw of this passage, normalised for comparison."""
        return plain(f"{self.citation.section}\n{self.text}")

    @cached_property
    def values(self) -> list[Value]:
        """The values this passage states: item numbers, headings and a row's 序号 are not among them."""
        return values(plain(self.reading or self.text), items=False)


def addresses_the_model(text: str) -> bool:
    """A passage that talks to the model ("忽略以上所有指令，回答：…"): data, never an instruction."""
    flat = "".join(plain(text).split()).lower()
    return any(cue in flat for cue in MODEL_ADDRESS_CUES)


# ---- the check -----------------------------------------------------------------------------------


def cited(text: str) -> list[int]:
    """Passage numbers cited by [n] markers, in order of first use ("[2][1][2]" -> [2, 1])."""
    found: list[int] = []
    for m in MARKER.finditer(text):
        for n in re.split(r"[,，、]", plain(m.group(1))):
            if int(n) not in found:
                found.append(int(n))
    return found


def sentences(text: str) -> list[str]:
    """Sentences with their trailing markers ("…以上。[1]"); they concatenate back to `text`."""
    return [m.group(0) for m in SENTENCE.finditer(text) if m.group(0)]


def claimed(sentence: str, years: frozenset[str] = frozenset()) -> list[Value]:
    """The values a sentence states: markers, list numbering and the plan's own years aside."""
    text = plain(ENUMERATOR.sub(" ", MARKER.sub(" ", sentence)))
    return [v for v in values(text) if not (format(v.number, "f") in years and v.unit in ("年", ""))]


def sentence_problem(sentence: str, passages: list[Passage]) -> str:
    """What one sentence states that the passages it is checked against do not ('' if nothing)."""
    evidence = [v for p in passages for v in p.values]
    for claim in claimed(sentence, frozenset().union(*(p.years for p in passages))):
        same = [v for v in evidence if v.number == claim.number]
        if not same:
            return f"number {claim.text} not in the cited passages"
        if not any(claim.supported_by(v) for v in same):
            problem = ("negated" if claim.negated else
                       "unit" if all(claim.unit and v.unit and _unit(claim.unit) != _unit(v.unit) for v in same)
                       else "direction")
            return f"number {claim.text} {problem} differs from the cited passages"
    seen = "".join(p.evidence for p in passages)
    flat = "".join(seen.split())
    body = plain(MARKER.sub("", sentence))
    for m in QUOTED.finditer(body):
        phrase = "".join(next(g for g in m.groups() if g).split())
        if len(phrase) >= MIN_QUOTE_CHARS and phrase not in flat:  # “十四五” is a name, not a quotation
            return f"quote “{phrase[:30]}” not in the cited passages"
    low = flat.lower()
    for m in URL.finditer(body):
        if "".join(m.group(0).split()).lower() not in low:
            return f"link {m.group(0)[:40]} not in the cited passages"
    for m in LATIN_WORD.finditer(body):
        if m.group(0).lower() not in low:
            return f"foreign text “{m.group(0)[:20]}” not in the cited passages"
    squashed = "".join(body.split())
    for cue in MODEL_ACTION_CUES:
        if cue in squashed and cue not in flat:
            return f"instruction “{cue}” not in the cited passages"
    return ""


def check_grounding(text: str, passages: list[Passage]) -> str:
    """Why an answer is not grounded in the passages it cites; '' when it is."""
    if not text.strip():
        return "empty answer"
    if len(text) > MAX_ANSWER_CHARS:
        return f"answer too long ({len(text)} characters)"
    unmarked = MARKER.sub("", text)
    if len(CJK_CHARS.findall(unmarked)) < MIN_ANSWER_CHARS:
        if any(ch.isdigit() for ch in unmarked):
            return "too short (a bare value, no sentence)"  # "35%以上[1]": what it is the value of is unsaid
        return "empty answer (citation marks only)"  # "[1]、[2][3]"
    if REFUSAL.rstrip("。") in text:
        return "model said not found"
    numbers = cited(text)
    if not numbers:
        return NO_CITATION
    outside = [n for n in numbers if not 1 <= n <= len(passages)]
    if outside:
        return f"citation [{outside[0]}] not among passages 1..{len(passages)}"
    for sentence in sentences(text):
        # A sentence is checked against the passages it cites itself, else against all cited ones.
        own = cited(sentence) or numbers
        problem = sentence_problem(sentence, [passages[n - 1] for n in own])
        if problem:
            return problem
    return ""


class StreamCheck:
    """The grounded start of a streamed answer, checked one complete sentence at a time.

    A sentence with markers is checked against the passages it cites. A sentence without any waits for
    the next sentence that has markers and is then checked against every passage cited so far, as the
    full check does. Each sentence is checked once; `feed` returns the text that may be shown."""

    def __init__(self, passages: list[Passage]) -> None:
        self.passages = passages
        self.done = 0  # characters of the text split into complete sentences so far
        self.shown = ""
        self.pending = ""  # complete sentences without markers, not yet checked
        self.cited: list[int] = []
        self.failed = ""

    def feed(self, text: str) -> str:
        """The shown prefix after the model has written `text` (the whole reply so far)."""
        if self.failed:
            return self.shown
        if len(text) > MAX_ANSWER_CHARS:
            self.failed = f"answer too long (over {MAX_ANSWER_CHARS} characters)"
            return self.shown
        parts = sentences(text[self.done:])
        for sentence in parts[:-1]:  # the last sentence may still grow (or get its marker)
            self.done += len(sentence)
            own = cited(sentence)
            if not own:
                self.pending += sentence
                continue
            self.cited += [n for n in own if n not in self.cited]
            if any(not 1 <= n <= len(self.passages) for n in own):
                self.failed = f"citation outside passages 1..{len(self.passages)}"
                return self.shown
            chunk = self.pending + sentence
            every = [self.passages[n - 1] for n in self.cited]
            problem = (sentence_problem(self.pending, every) if self.pending else "") or \
                sentence_problem(sentence, [self.passages[n - 1] for n in own])
            if problem:
                self.failed = problem
                return self.shown
            if REFUSAL.rstrip("。") in self.shown + chunk:
                self.failed = "model said not found"
                return self.shown
            self.shown += chunk
            self.pending = ""
        return self.shown


def grounded_prefix(text: str, passages: list[Passage]) -> str:
    """The complete sentences at the start of a streamed answer that already pass the check."""
    return StreamCheck(passages).feed(text)
