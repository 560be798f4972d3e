"""A question -> one typed `Query`, computed once: normalized text, key terms and bigrams, years,
places, the plan named, the intent and the aspect asked. Pure.

No later step normalizes the question again: retrieval, strategies and refusal checks all read
the same Query.
"""

from __future__ import annotations

import importlib.util
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from pathlib import Path

from assistant import lexicon
from assistant.quotes import extract_quote
from assistant.text import char_bigrams, names_a_thing, search_terms, sentence_spans
from assistant.thresholds import EMBED_CHARS, TYPO_COMMON, TYPO_SEARCHES
from assistant.types import Intent, plan_kind

YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")
# Another city, county or province named in a question ("杭州市的…").
PLACE = re.compile(r"([\u4e00-\u9fff]{2,3}?)(?:市|省|县|区)(?!级|场|民|委|政府|区、|（|里|域|内|、)")
ORDINAL = re.compile(
    r"(倒数)?\s*第\s*(十[一二三四五]?|[一二两三四五六七八九十]|\d{1,2})\s*(?:个|条|项|点|款|种|部分|领域)?"
)
LAST = re.compile(r"最后(?:一|那)?(?:个|条|项|点)|last one|the last", re.I)
ENGLISH_ORDINAL = re.compile(
    r"\b(first|second|third|fourth|fifth|sixth|seventh|eighth)\b(?: one| item| project)?", re.I
)
# A Chinese numeral before a unit the plan writes with digits: "三岁以下" is written "3岁以下".
# Up to 99 ("十六", "二十五"); "一十" is left alone: "高一十六岁" is 高一, 16岁.
CN_NUMBER = r"(十[一二三四五六七八九]?|[二两三四五六七八九]十[一二三四五六七八九]?|[一二两三四五六七八九十])"
CN_COUNT = re.compile(CN_NUMBER + r"(岁|周岁|个月|年级|分钟|小时)")
# ... and the first numeral of a range whose second is then digits: "三到五岁" -> "3到5岁".
CN_RANGE_START = re.compile(CN_NUMBER + r"(?=\s*[到至\-－~～—]\s*\d+\s*(?:岁|周岁|个月))")
COMMON_WORDS = {"社区", "小区", "园区", "城区", "街区", "景区", "校区", "山区", "地区", "辖区", "市区", "县区", "城市",
                "省市"}
NOT_A_PLACE = set("全本各每该我此城个少多些")  # "实现全市", "构建城市": not a place name
DOCUMENT_FRAME = re.compile(
    "|".join(map(re.escape, sorted(lexicon.PLACES + lexicon.DOCUMENT_WORDS, key=len, reverse=True)))
)
CJK = re.compile(r"[\u4e00-\u9fff]")
ISSUE_NUMBER = re.compile(r"\d+\s*号")  # "635号文": a notice named by its number
PAREN_ASIDE = re.compile(r"(?<=[\u4e00-\u9fff])（([\u4e00-\u9fff、]{1,8})）")
SEGMENT_SPLIT = re.compile(rf"[^\u4e00-\u9fff0-9A-Za-z\ue000-\ue0ff]|[{''.join(sorted(lexicon.STOP_CHARS))}]")
# Words that ask for a quantity. "比例" alone names an indicator ("女性比例有什么要求"), it does not.
UNIT_ASKED = re.compile(r"(?:多少|几)\s*(?:万)?\s*([人个家所岁天元张名次]|钱)(?!百分)")
ENGLISH_UNIT_ASKED = re.compile(r"\bhow many (days?|yuan|people|persons?|beds?|times?)\b", re.I)
ENGLISH_UNITS = {"day": "天", "yuan": "元", "people": "人", "person": "人", "bed": "张", "time": "次"}
FIGURE_CUES = re.compile(r"具体|百分之几|几个百分点|确切|精确|exact|specific|how many years|what number")
NUMBER_CUES = (
    "多少",
    "几",
    "百分之",
    "数值",
    "数字",
    "目标值",
    "具体数",
    "how much",
    "how many",
    "what percent",
    "what percentage",
)


@dataclass(frozen=True)
class Query:
    """A question, parsed once."""

    raw: str  # what the user typed (cleaned of control characters)
    text: str  # normalized: everyday and English words mapped to the plan's words
    grams: frozenset[str]  # key bigrams: the question's substance without cue words and particles
    terms: tuple[str, ...]  # key jieba terms (no cue words)
    years: tuple[str, ...]
    places: tuple[str, ...]  # other places named ("杭州")
    plans: tuple[str, ...] | None  # plan keys named or chosen by the filter; None = every plan
    intent: Intent
    aspect: str | None  # "baseline" | "target" | None
    wants_number: bool
    english: bool
    quote: str | None = None  # the passage a trainer asks about
    ordinal: int | None = None  # 第2个 -> 2, 倒数第2个 -> -2
    followup: bool = False
    focus: tuple[str, ...] = ()  # words a follow-up adds ("女生"): the target should contain them
    item: str | None = None  # a list item the follow-up refers to (chunk id)
    indicators: tuple[str, ...] = ()  # indicators carried from the conversation
    docs: tuple[str, ...] | None = None
    named_plans: tuple[str, ...] = field(default=())  # plans the question itself names
    named_grams: frozenset[str] = frozenset()  # bigrams of the named plans' names: words that name, not ask
    asks: tuple[Intent, ...] = ()  # every intent the cue words point to, the intent first
    wants_figure: bool = False  # a figure demanded, not only asked: "具体要到百分之几", "确切数字"
    head: str = ""  # the thing a "what X" question asks for: "打造啥高地" -> 高地, "哪些学科合作" -> 学科
    parts: tuple[str, ...] = ()  # separate things asked in one breath, one question each (topic_parts)
    vector: tuple[float, ...] | None = field(default=None, repr=False, compare=False)  # embedded once


@dataclass(frozen=True, eq=False)
class CorpusWords:
    """What typo repair knows of a corpus: its character bigrams (with the chunks holding each) and
    its text. Made once per index (the retriever holds it)."""

    grams: Mapping[str, int]
    texts: Callable[[], Iterable[str]]  # the chunks' texts, read once at the first repair

    def __contains__(self, gram: str) -> bool:
        return gram in self.grams

    @cached_property
    def text(self) -> str:
        return "\n".join(self.texts())

    @cached_property
    def by_sound(self) -> dict[str, frozenset[str]]:
        """A toneless reading -> the corpus's characters read so."""
        table: dict[str, set[str]] = {}
        for c in {c for g in self.grams for c in g if CJK.match(c)}:
            for reading in _readings(c):
                table.setdefault(reading, set()).add(c)
        return {r: frozenset(cs) for r, cs in table.items()}

    def sounds_alike(self, ch: str) -> tuple[str, ...]:
        """The corpus's characters read as `ch` is, tones aside (pypinyin's table), other than `ch`."""
        return tuple(sorted({c for r in _readings(ch) for c in self.by_sound.get(r, ()) if c != ch}))


def repair_typos(text: str, words: CorpusWords) -> str:
    """Swap a pinyin-input typo for the character the corpus uses: "近视律" -> 近视率, "拖育" -> 托育,
    "宫径癌" -> 宫颈癌, "家爆了" -> 家暴了.

    Colloquial questions are full of words the plans never use ("县委书记", "咨询师", "她能单独"), so a
    character is swapped only when all of these hold:
    - it is no particle ("的", "吗"); one of the commonest characters (`T.TYPO_COMMON` in jieba's
      dictionary: "是", "建") is swapped only between two characters it then makes corpus text
      with ("近是率" -> 近视率; "部门建", "心理咨询师" stay);
    - the corpus knows none of its bigrams with its neighbours (particles aside), and none of them is
      a word of everyday Chinese either (jieba's dictionary: "必须", "县委" stay);
    - the character swapped in is read the same, tones aside, and makes such a bigram the corpus knows;
    - and the swap makes three characters of the corpus's text ("宫颈癌"), or makes every such bigram
      an everyday word the corpus knows ("家爆了" -> 家暴了; "钼靶结果" is no "巴结", though 淋巴结 is
      in the text: 钼巴 is nothing).
    The first such character in reading order is taken."""
    chars = list(text)
    searches = 0  # searches of the corpus's text, capped: a pasted page costs no more than a question
    for i, ch in enumerate(chars):
        if not _content(ch) or searches >= TYPO_SEARCHES:
            continue
        sides = [(chars[i - 1], "")] if i and _content(chars[i - 1]) else []
        sides += [("", chars[i + 1])] if i + 1 < len(chars) and _content(chars[i + 1]) else []
        if not sides or any(left + ch + right in words or everyday_freq(left + ch + right) for left, right in sides):
            continue
        common = everyday_freq(ch) >= TYPO_COMMON
        if common and len(sides) < 2:
            continue
        for alt in words.sounds_alike(ch):
            if not any(left + alt + right in words for left, right in sides):
                continue
            chars[i] = alt
            searches += 1
            if common:  # "近是率": only inside a run of the corpus's own text, both sides swapped right
                if "".join(chars[i - 1: i + 2]) in words.text:
                    break
            elif any(w in words.text for w in _windows(chars, i)) or \
                    all(left + alt + right in words and everyday_freq(left + alt + right) for left, right in sides):
                break
            chars[i] = ch
    return "".join(chars)


def _content(ch: str) -> bool:
    return bool(CJK.match(ch)) and ch not in lexicon.PARTICLES


def _windows(chars: list[str], i: int) -> list[str]:
    """The three-character runs of Chinese characters that hold position i."""
    out = []
    for a in range(max(0, i - 2), min(i, len(chars) - 3) + 1):
        run = "".join(chars[a: a + 3])
        if all(CJK.match(c) for c in run):
            out.append(run)
    return out


def everyday_freq(word: str) -> int:
    """How common a word or character is in everyday Chinese: its count in jieba's dictionary (0 when
    it is no word there: "必须" and "县委" are, "宫径" is not)."""
    import jieba

    jieba.dt.check_initialized()  # loaded already when the index was searched
    return jieba.dt.FREQ.get(word, 0)


@lru_cache(maxsize=65536)
def _readings(ch: str) -> frozenset[str]:
    """ "率" -> {"lv"}: a character's common reading without tones (pypinyin lists it first; the
    rest are often classical: 有 is also read wěi)."""
    return frozenset(_toneless(_pinyin_table().get(ord(ch), "").split(",")[0]))


@lru_cache(maxsize=1)
def _pinyin_table() -> dict[int, str]:
    """pypinyin's readings of single characters (code point -> "lǜ,shuài"), read from its data file
    at the first repair. Importing the package would load its phrase dictionary as well: 50 MB more
    of the serving process, for phrases that typo repair never reads."""
    spec = importlib.util.find_spec("pypinyin")  # finds the package without importing it
    if spec is None or spec.origin is None:
        raise ImportError("typo repair needs the pypinyin package (pip install pypinyin)")
    table = json.loads(Path(spec.origin).with_name("pinyin_dict.json").read_text(encoding="utf-8"))
    return {int(code): readings for code, readings in table.items()}


def _toneless(readings: str) -> set[str]:
    """ "lǜ,shuài" -> {"lv", "shuai"}."""
    out = set()
    for r in readings.split(","):
        r = re.sub("[ǖǘǚǜü]", "v", r.strip())
        r = "".join(c for c in unicodedata.normalize("NFD", r) if not unicodedata.combining(c))
        if r:
            out.add(r)
    return out


def cn_number(numeral: str) -> int:
    """The value of a CN_NUMBER numeral: "六" 6, "十六" 16, "二十" 20, "二十五" 25."""
    tens, ten, ones = numeral.rpartition("十")
    if not ten:
        return lexicon.CN_NUMERALS[ones]
    return (lexicon.CN_NUMERALS[tens] if tens else 1) * 10 + (lexicon.CN_NUMERALS[ones] if ones else 0)


def normalize(question: str, known: CorpusWords | None = None) -> str:
    """Map colloquial and English words to the plan's wording, and (given the corpus's bigrams)
    repair homophone typos; keep everything else."""
    if known:
        question = repair_typos(question, known)
    q = CN_COUNT.sub(lambda m: f"{cn_number(m.group(1))}{m.group(2)}", question)  # 三岁 -> 3岁
    q = CN_RANGE_START.sub(lambda m: str(cn_number(m.group(1))), q)
    for phrase in lexicon.NEW_TOPIC:  # "换个问题 …": the frame is not part of the question
        q = q.replace(phrase, " ")
    low = q.lower()
    if re.search(r"[a-z]", low):
        extra = [zh for en, zh in lexicon.GLOSSARY.items() if en in low]
        if extra:
            q = q + " " + " ".join(dict.fromkeys(extra))
    for word in sorted(lexicon.SYNONYMS, key=len, reverse=True):
        if word not in q:
            continue
        plan_word = lexicon.SYNONYMS[word]
        if word in plan_word:  # "高中" -> "高中阶段": an existing 高中阶段 must not become 高中阶段阶段
            q = plan_word.join(piece.replace(word, plan_word) for piece in q.split(plan_word))
        else:  # "近视眼" -> "近视", "孩子" -> "儿童"
            q = q.replace(word, plan_word)
    return q


# Plan words that the lexicon maps everyday words to and that hold a particle character ("打工" ->
# 就业): shielded from the particle split by a private-use stand-in for each such character.
_STOPS = sorted(lexicon.STOP_CHARS)
_SHIELD = {ord(ch): 0xE000 + i for i, ch in enumerate(_STOPS)}
_UNSHIELD = {0xE000 + i: ord(ch) for i, ch in enumerate(_STOPS)}
PLAN_WORDS_WITH_PARTICLES = sorted(
    {w for w in lexicon.SYNONYMS.values() if lexicon.STOP_CHARS & set(w) and w not in lexicon.GENERIC},
    key=len, reverse=True)


def key_grams(text: str) -> frozenset[str]:
    """Bigrams of the substance of a (normalized) question: cue words and particles cut out.

    "产前筛查率要达到多少" -> 产前 前筛 筛查 查率: bigrams, not jieba words, so that a word jieba
    splits oddly ("率要") or a typo still leaves most of the question's substance.
    """
    low = YEAR.sub("|", text.lower())  # years are checked on their own, never as topic words
    # a plan term with an aside ("县（市、区）") reads as the passages' bigrams do: punctuation dropped
    low = PAREN_ASIDE.sub(lambda m: m.group(1).replace("、", ""), low)
    for word in sorted(lexicon.GENERIC, key=len, reverse=True):
        if len(word) > 1 and not word.isascii():
            low = low.replace(word, "|")
    low = re.sub(r"[a-z]+", "|", low)  # English words count through their glossary terms only
    # a plan word the lexicon maps to keeps its particle characters (就业, 社会保障, 委员会)
    for word in PLAN_WORDS_WITH_PARTICLES:
        low = low.replace(word, word.translate(_SHIELD))
    segments = SEGMENT_SPLIT.split(low)
    return frozenset((seg[i : i + 2]).translate(_UNSHIELD) for seg in segments for i in range(len(seg) - 1))


def key_terms(text: str) -> tuple[str, ...]:
    """The question's content words: jieba terms without cue words ("多少", "目标")."""
    return tuple(
        t
        for t in search_terms(text)
        if t not in lexicon.GENERIC and not (lexicon.STOP_CHARS & set(t)) and not t.isascii()
    )


def classify(text: str, quote: str | None, ordinal: int | None) -> tuple[Intent, ...]:
    """Every intent whose cue words the question has, in a fixed order of precedence (a document
    fact before a value); the first is the intent, the rest are what else it asks."""
    if quote:
        return (Intent.QUOTE,)
    low = text.lower()
    found = [
        Intent(name) for name in lexicon.INTENT_ORDER if any(_has_cue(low, cue) for cue in lexicon.INTENT_CUES[name])
    ]
    if Intent.VALUE in found and any(c in low for c in lexicon.HOW_REQUIRED) and not figure_asked(low):
        # "医保方面规划怎么要求的" asks what is required, not a figure
        found = [Intent.MEASURES] + [i for i in found if i not in (Intent.VALUE, Intent.MEASURES)]
    if ordinal is not None and not any(c in low for c in ("多少", "几", "目标", "谁")):
        found.insert(0, Intent.DETAIL)
    return tuple(found) or (Intent.STATEMENT,)


def figure_asked(low: str) -> bool:
    """A quantity asked, or a rate, share, count of people or year named: its requirement is a figure."""
    return asks_number(low) or any(c in low for c in ("率", "比例", "人数")) or YEAR.search(low) is not None


def has_cue(text: str, cues: tuple[str, ...]) -> bool:
    """Whether the text says one of the cue words; an English one as a word ("now", not "know"), a
    year or a Chinese word anywhere ("率2020年")."""
    low = text.lower()
    return any(re.search(rf"\b{re.escape(cue)}", low) if cue.isascii() and cue[:1].isalpha() else cue in low
               for cue in cues)


def _has_cue(low: str, cue: str) -> bool:
    if cue.startswith("^"):
        return low.lstrip().startswith(cue[1:])
    if cue.isascii():
        return re.search(rf"\b{re.escape(cue)}", low) is not None
    return cue in low


def about_document(text: str, titles: tuple[str, ...] = ()) -> bool:
    """Is the question about the plan document itself ("儿童规划是什么时候发布的"), not about something
    else the plan mentions ("中期评估报告什么时候发布")? Little substance left once frame words and
    the words of a document's own title ("母婴传播规范2020年版是哪天印发的") go."""
    rest = set(key_grams(DOCUMENT_FRAME.sub("|", ISSUE_NUMBER.sub("|", text))))
    chars = set("".join(titles))  # "筛查方案" of 筛查工作方案: a title said short is still the title
    return len({g for g in rest if not set(g) <= chars}) <= 1


def aspect_of(text: str) -> str | None:
    """ "baseline" when the 2020 value is asked (and not the target), "target" when the target is."""
    base = has_cue(text, lexicon.BASELINE_WORDS)
    target = has_cue(text, lexicon.TARGET_WORDS)
    if base and not target:
        return "baseline"
    if target and not base:
        return "target"
    return None


def at_ordinal(items, ordinal: int | None):
    """The item at a 1-based ordinal (negative counts from the end: -1 is the last); None when no
    ordinal is asked or it is out of range."""
    if ordinal is None or not 1 <= abs(ordinal) <= len(items):
        return None
    return items[ordinal - 1] if ordinal > 0 else items[ordinal]


def ordinal_words(ordinal: int) -> str:
    """3 -> "第3", -2 -> "倒数第2"."""
    return f"倒数第{-ordinal}" if ordinal < 0 else f"第{ordinal}"


def ordinal_of(text: str) -> int | None:
    """第2个 -> 2, 倒数第二个 -> -2, 最后一个 -> -1, "the third one" -> 3."""
    if m := ORDINAL.search(text):
        g = m.group(2)
        n = int(g) if g.isdigit() else lexicon.CN_NUMERALS.get(g)
        if n:
            return -n if m.group(1) else n
    if LAST.search(text):
        return -1
    if m := ENGLISH_ORDINAL.search(text):
        return lexicon.ENGLISH_ORDINALS[m.group(1).lower()]
    return None


def plans_named(text: str, plan_names: dict[str, str],
                title_words: dict[str, frozenset[str]] | None = None) -> tuple[str, ...]:
    """Plan keys whose name the question uses ("儿童规划里…", "the children's plan"), or a word of its
    title only it has ("查宫颈那个方案" names the cervical-screening plan; see Toolkit.title_words).
    The plan with the most such words is named; a tie names none (the question fits them all)."""
    low = text.lower()
    if any(w in low for w in lexicon.BOTH_PLANS):  # "妇女和儿童规划", "两个规划": every plan
        return tuple(plan_names)
    named = []
    for key, name in plan_names.items():
        # "儿童的呢" names the plan too; a bare English "children" does not (the children's plan does)
        kind = plan_kind(key)
        switch = (f for f in lexicon.PLAN_SWITCH.get(kind, ()) if not f.isascii())
        forms = {name, name.replace("规划", "发展规划"), *switch}
        english = {f"{kind}'s plan", f"{kind} plan", f"{kind}’s plan"}
        if any(f and f in text for f in forms) or any(e in low for e in english):
            named.append(key)
    if not named and title_words:
        counts = {k: sum(w in text for w in words) for k, words in title_words.items()}
        best = max(counts.values(), default=0)
        if best and list(counts.values()).count(best) == 1:  # "乳腺癌怎么预防": 乳腺 + 腺癌 beat 预防
            named = [k for k, c in counts.items() if c == best]
    return tuple(named)


def places_named(text: str) -> tuple[str, ...]:
    """Places a question names: known place names, or a name before 市/省/县/区 that starts a phrase
    ("去年绍兴市…"); "新增省示范…", "实现全市…" name none."""
    found = [p for p in lexicon.PLACES if p in text]
    for m in PLACE.finditer(text):
        before = text[m.start() - 1] if m.start() else ""
        after = text[m.end():m.end() + 1]
        common = m.group(1)[-1] + m.group(0)[-1] in COMMON_WORDS  # "社区", "小区": not a place name
        if (not before or not CJK.match(before)) and m.group(1)[-1] not in NOT_A_PLACE and not common and (
            not after or not CJK.match(after) or after in "的里在内有人"
        ):
            found.append(m.group(1))
    return tuple(p for p in dict.fromkeys(found) if not any(p in a for a in lexicon.OWN_AREA))


def asked_unit(query: Query) -> str | None:
    """The unit a count question names: "多少人" -> "人", "多少钱" -> "元", "how many days" -> "天"."""
    return _unit_in(query.raw)


@lru_cache(maxsize=1024)
def _unit_in(raw: str) -> str | None:
    """asked_unit of a question's raw text, once per question (every table row is tested against it)."""
    m = UNIT_ASKED.search(raw)
    if m:
        return "元" if m.group(1) == "钱" else m.group(1)
    m = ENGLISH_UNIT_ASKED.search(raw)
    return ENGLISH_UNITS[m.group(1).lower().rstrip("s")] if m else None


def unit_fits(query: Query, unit: str) -> bool:
    """Can a row with this unit answer the question's "多少X"? (no unit asked: any row can; "个" is
    the everyday classifier for any count: "几个医生" is answered by 医师数（人）)."""
    asked = asked_unit(query)
    if asked is None or asked in unit:
        return True
    return asked == "个" and any(u in unit for u in "个家所人名次")


def asks_number(text: str) -> bool:
    """Does the text ask for a quantity? ("哪几项" lists, it does not count.)"""
    low = text.lower().replace("哪几", "")
    return any(c in low for c in NUMBER_CUES)


def parse_query(
    raw: str,
    plan_names: dict[str, str],
    plans: list[str] | None = None,
    docs: list[str] | None = None,
    known: CorpusWords | None = None,
    title_words: dict[str, frozenset[str]] | None = None,
) -> Query:
    """Parse a cleaned question once; `plans`/`docs` are the caller's filter (None = all); `known`
    is the corpus's bigrams (for typo repair)."""
    text = normalize(raw, known)
    quote = extract_quote(raw)
    if quote and not CJK.search(quote):
        quote = None  # the plans are in Chinese: "Does the plan say employers should…" asks, it quotes nothing
    ordinal = ordinal_of(raw)
    named = plans_named(text, plan_names, title_words)
    scope = tuple(plans) if plans else (named if len(named) == 1 else None)
    low = raw.lower()
    asks = classify(text, quote, ordinal)
    facet_cue = any(has_cue(low, cues) for cues in lexicon.DOCUMENT_FACETS.values())
    titles = tuple(plan_names.values())
    if asks[0] != Intent.QUOTE and facet_cue and about_document(text, titles):
        asks = (Intent.DOCUMENT,) + tuple(a for a in asks if a != Intent.DOCUMENT)  # "印发通知啥时候发的"
    elif asks[0] == Intent.DOCUMENT and not about_document(text, titles):
        asks = asks[1:] or (Intent.STATEMENT,)  # "中期评估报告什么时候发布": about a report, not the plan
    return Query(
        raw=raw,
        text=text,
        grams=key_grams(text),
        terms=key_terms(text),
        years=tuple(dict.fromkeys(YEAR.findall(raw))),
        places=places_named(raw if CJK.search(raw) else text),  # English: its glossary words name places
        plans=scope,
        intent=asks[0],
        asks=asks,
        aspect=aspect_of(raw),
        wants_number=asks_number(low),
        wants_figure=bool(FIGURE_CUES.search(low)),
        head=asked_head(text),
        english=not CJK.search(raw),
        quote=quote,
        ordinal=ordinal,
        docs=tuple(docs) if docs else None,
        named_plans=named,
        named_grams=frozenset().union(*(char_bigrams(plan_names[k]) for k in named)) if named else frozenset(),
        parts=topic_parts(raw) if asks[0] not in (Intent.QUOTE, Intent.DOCUMENT) else (),
    )


TOPIC_BREAK = re.compile(r"[\s、，,；;]+")
ASIDE = re.compile(r"（[^（）]*）|\([^()]*\)")
ENUMERATED = re.compile(r"[\u4e00-\u9fff]、[\u4e00-\u9fff]|各是|各有|各为|各要")  # and lexicon.ALL_OF_THEM
GROUP_GRAMS = frozenset().union(*(char_bigrams(w) for w in lexicon.GROUP_IN_NAMES))  # 妇女, 儿童 ...: no topic
SAYING_GRAMS = frozenset().union(*(char_bigrams(w) for w in lexicon.SAYING_WORDS))
TOPIC_OWN_GRAMS = 2  # bigrams a part must have that no other part has, to be a thing of its own
MAX_TOPICS = 3  # parts answered one by one at most: the work a question costs stays bounded


def topic_parts(raw: str) -> tuple[str, ...]:
    """Separate things asked in one breath ("老公打老婆 家长打孩子 这种规划里有啥说法没"): one question
    per thing, each with the pieces that only ask ("这种规划里有啥说法没"). () for one thing: a piece
    that repeats another's words ("婚检率要求多少 儿童规划里也说到婚检了吗") or names only a group
    ("妇女的 小孩的") is not a thing of its own."""
    # said as several: "各/分别/这些", or a list mark between them ("心理辅导中心、心理咨询室"); a space
    # alone often only sets the scene ("学校出安全事故 主体责任在谁")
    raw = ASIDE.sub(lambda m: m.group(0).replace("、", ""), raw)  # "县（市、区）" is one thing
    if not (ENUMERATED.search(raw) or any(w in raw for w in lexicon.ALL_OF_THEM)):
        return ()
    pieces = [p for p in TOPIC_BREAK.split(raw.strip()) if p]
    if not 2 <= len(pieces) <= 6:
        return ()
    grams = [key_grams(normalize(p)) - GROUP_GRAMS - SAYING_GRAMS for p in pieces]
    own = [g - frozenset().union(*(h for j, h in enumerate(grams) if j != i)) for i, g in enumerate(grams)]
    things = [i for i, g in enumerate(own) if len(g) >= TOPIC_OWN_GRAMS and names_a_thing(pieces[i])]
    if not 2 <= len(things) <= MAX_TOPICS:
        return ()
    asking = [p for i, p in enumerate(pieces) if i not in things]
    return tuple(" ".join([pieces[i], *asking]) for i in things)


def with_text(query: Query, text: str, **changes) -> Query:
    """The same query about another (composed) text: grams, terms and head follow the text."""
    return replace(query, text=text, grams=key_grams(text), terms=key_terms(text), head=asked_head(text), **changes)


HEAD = re.compile(r"(?:啥|什么|哪些|哪几[个项种类条]?|哪种|哪类|何种)([\u4e00-\u9fff]{2})")


def asked_head(text: str) -> str:
    """The word right after a "what" word, when it is a word of substance: "要打造啥高地" -> 高地;
    "有什么措施" -> "" (措施 is every measures question's cue word, not a thing asked for)."""
    m = HEAD.search(text)
    if not m or m.group(1) in lexicon.GENERIC or lexicon.STOP_CHARS & set(m.group(1)):
        return ""
    return m.group(1)


def embedding_text(text: str, limit: int = EMBED_CHARS) -> str:
    """What of a question is embedded: its distinct sentences in order, at most `limit` characters, so
    the work follows the question's distinct content, not its length (a sentence pasted 50 times
    is embedded once)."""
    if len(text) <= limit:
        return text
    seen: set[str] = set()
    kept = []
    for s, e in sentence_spans(text):
        if text[s:e] not in seen:
            seen.add(text[s:e])
            kept.append(text[s:e])
    return "".join(kept)[:limit]
