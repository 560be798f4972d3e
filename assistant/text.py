"""Chinese text helpers shared by chunking, retrieval and answers: jieba, sentences, numbers."""

from __future__ import annotations

import logging
import re
from functools import lru_cache

import jieba
import jieba.posseg

jieba.setLogLevel(logging.WARNING)

CJK = r"\u2e80-\u9fff\u3000-\u303f\uf900-\ufaff\uff00-\uffef"  # Chinese characters and CJK punctuation
DOC_NUMBER_RX = r"[\u4e00-\u9fff]{2,12}〔(?:19|20)\d\d〕\d{1,4}号"  # a 文号: "国卫妇幼发〔2015〕53号"
SENTENCE_END = "。；！？!?;"
# "*", not "+": a line that starts with "；" or "？" must not lose that character.
SENTENCE = re.compile(rf"[^{SENTENCE_END}\n]*(?:[{SENTENCE_END}]+[”’」）)]*|$)", re.M)
NUMBER = re.compile(r"\d+(?:[.．]\d+)?")
# Characters that glue a number together: never split between two of them ("92.41", "90％").
NUMERIC = set("0123456789.．％%‰/／—-～~")
PUNCT = set("，。；：！？、（）()《》“”‘’「」【】…—-·,.;:!?\"'[]{}<>＜＞≥≤ \t\n\r\u3000")

STOP_WORDS = set(
    """的 了 和 与 及 或 等 是 在 对 为 中 上 下 把 被 由 以 其 之 于 而 并 且 也 都 就 要 将 从 向 到
    吗 呢 吧 啊 呀 么 嘛 哪 那 这 该 此 个 有 没有 什么 多少 怎么 怎样 如何 哪些 哪个 哪里 是否 是不是
    请问 请 一下 我 我们 你 你们 他 她 它 他们 一个 可以 能 会 应该 需要 关于 对于 规划 里 说 提到
    """.split()
)


# jieba part-of-speech tags of words that name no thing: verbs, numbers, measure words, pronouns,
# place/time words, adverbs, prepositions, conjunctions, particles ("制止", "左右", "每年").
NAMES_NOTHING = frozenset("v vd vg m mq q r f t d p c u y e o".split())

TERMS_KEPT = 256  # texts whose search terms are remembered (the questions being answered)


@lru_cache(maxsize=4096)
def tokens(text: str) -> tuple[str, ...]:
    """jieba tokens (precise mode) of a text, punctuation and whitespace included."""
    return tuple(jieba.lcut(text))


@lru_cache(maxsize=4096)
def names_a_thing(word: str) -> bool:
    """Whether one of the word's jieba tokens is tagged as naming a thing (a noun, a name, a verbal
    noun, an idiom: "色法", "嘉家福", "评估"), not only as a verb, number or time ("制止", "每年")."""
    return any(w.flag not in NAMES_NOTHING for w in jieba.posseg.cut(word))


def search_terms(text: str) -> list[str]:
    """Keyword terms for BM25: jieba search-mode tokens without stop words or punctuation.

    Single Chinese characters carry little meaning alone ("率", "的") and are dropped;
    numbers and Latin words are kept ("12338", "90"). A question's text is tokenized once
    however many steps ask for its terms (remembered for the last TERMS_KEPT texts).
    """
    return list(_search_terms(text))


@lru_cache(maxsize=TERMS_KEPT)
def _search_terms(text: str) -> tuple[str, ...]:
    out = []
    for tok in jieba.cut_for_search(text.lower()):
        tok = tok.strip()
        if not tok or all(ch in PUNCT for ch in tok) or tok in STOP_WORDS:
            continue
        if len(tok) == 1 and "\u4e00" <= tok <= "\u9fff":
            continue
        out.append(tok)
    return tuple(out)


def sentence_spans(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """Spans of sentences (ending in 。；！？ or a line end), trimmed of blanks."""
    spans = []
    for m in SENTENCE.finditer(text):
        s, e = m.start(), m.end()
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            spans.append((offset + s, offset + e))
    return spans


# A figure a target is stated in: a number with a unit or a comparison ("90％以上", "1家", "不低于60").
# An age or a period ("0-3岁", "16周岁以下", "2021-2025年") names who or when, not how much.
FIGURE = re.compile(r"(?:达到|保持在|不低于|不少于|控制在|提高到|降低|至少|以上|超过|低于|新建|建成|每年)?"
                    r"\d+(?:[.．]\d+)?\s*(?:％|%|‰|/10万|个百分点|个|家|所|座|人|名|万|张|天|元|次|项|倍|分钟|小时|条|辆|种|剂|国际单位|工作日)"
                    # a rhythm ("每3-5年", "每2-3年") or a grade ("3类及以上") is a figure too
                    r"|每\s*\d{1,2}(?:\s*[-－~～]\s*\d{1,2})?\s*(?:年|个月|月|周|天)|(?<!\d)\d{1,2}\s*[类级](?:及以上|以上)")

# A time stated: a date or a yearly rhythm. "中期和终期评估" names phases, not when.
# A time or a time limit: a date, "每年", or a duration ("5个工作日内", "12小时内", "每2-3年", "每三年").
# "12月龄" is an age, not a time.
TIME_STATED = re.compile(r"\d{4}\s*年|\d+\s*月(?!龄)|\d+\s*日|每年|年底|年内|之前|以前"
                         r"|(?:\d+|[一二两三四五六七八九十半]+)(?:\s*[-－~～]\s*\d+)?\s*个?\s*(?:工作日|小时|天|周|月(?!龄)|年)")

# A value a question states as a share or a decimal ("2020年是48.9%的那个指标", "58.4"), not a year or an age.
STATED_VALUE = re.compile(r"(?<![\d.])(\d+\.\d+|\d+(?=\s*[%％‰]))")


def figures(text: str) -> list[str]:
    """Figures a target is stated in ("90％", "1家", "15分钟"); ages and years are not figures."""
    return [m.group(0) for m in FIGURE.finditer(text)]


def numbers(text: str) -> list[str]:
    """Numbers as written: "90", "92.41"."""
    return [m.group(0).replace("．", ".") for m in NUMBER.finditer(text)]


def safe_cut(text: str, i: int) -> bool:
    """True when position i is between two characters that may be split apart."""
    if i <= 0 or i >= len(text):
        return True
    return not (text[i - 1] in NUMERIC and text[i] in NUMERIC)


def char_bigrams(text: str) -> set[str]:
    """Bigrams of Chinese/alphanumeric characters, punctuation removed."""
    clean = "".join(ch for ch in text if ch not in PUNCT)
    return {clean[i : i + 2] for i in range(len(clean) - 1)}
