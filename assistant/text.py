"""Chinese text helpers shared by chunking, retrieval and answers: jieba, sentences, numbers."""

from __future__ import annotations

import logging
import re
from functools import lru_cache

import jieba

jieba.setLogLevel(logging.WARNING)

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


@lru_cache(maxsize=4096)
def tokens(text: str) -> tuple[str, ...]:
    """jieba tokens (precise mode) of a text, punctuation and whitespace included."""
    return tuple(jieba.lcut(text))


def search_terms(text: str) -> list[str]:
    """Keyword terms for BM25: jieba search-mode tokens without stop words or punctuation.

    Single Chinese characters carry little meaning alone ("率", "的") and are dropped;
    numbers and Latin words are kept ("12338", "90").
    """
    out = []
    for tok in jieba.cut_for_search(text.lower()):
        tok = tok.strip()
        if not tok or all(ch in PUNCT for ch in tok) or tok in STOP_WORDS:
            continue
        if len(tok) == 1 and "\u4e00" <= tok <= "\u9fff":
            continue
        out.append(tok)
    return out


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


# Everyday words -> the plan's own words, so keyword search and coverage checks see the
# plan's term: "孩子蛀牙" is asked, "儿童龋齿" is written.
SYNONYMS: dict[str, str] = {
    "蛀牙": "龋齿", "虫牙": "龋齿", "近视眼": "近视", "小孩子": "儿童", "小孩": "儿童", "孩子": "儿童",
    "小朋友": "儿童", "娃": "儿童", "托儿所": "托育", "托儿": "托育", "婚检": "婚前医学检查",
    "婚前体检": "婚前医学检查", "孕妇": "孕产妇", "家暴": "家庭暴力", "性侵": "性侵害",
    "网络诈骗": "电信网络诈骗", "上大学": "高等教育", "读高中": "高中阶段", "上高中": "高中阶段",
    "幼儿园入园率": "毛入园率", "入园率": "毛入园率", "寿命": "预期寿命", "女人": "妇女",
    "女同志": "女性", "妇女同胞": "妇女", "女干部比例": "配有女干部的班子比例", "娃娃": "儿童",
    "宝宝": "婴幼儿", "婴儿夭折": "婴儿死亡", "新生儿死亡": "婴儿死亡", "残疾孩子": "残疾儿童",
    "养老金": "养老保险", "法律援助": "法律援助", "法援": "法律援助", "儿童医院": "儿童医院",
    "乳腺癌宫颈癌": "两癌", "宫颈癌乳腺癌": "两癌", "十四五期间": "2021—2025年",
}

# English keywords -> plan terms, so a question in English still finds the passage by keyword.
GLOSSARY: dict[str, str] = {
    "premarital": "婚前医学检查", "medical examination": "医学检查", "maternal mortality": "孕产妇死亡率",
    "infant mortality": "婴儿死亡率", "life expectancy": "预期寿命", "myopia": "近视",
    "nearsighted": "近视", "dental caries": "龋齿", "tooth decay": "龋齿", "cavities": "龋齿",
    "kindergarten": "幼儿园", "preschool": "学前教育", "high school": "高中阶段",
    "enrollment": "毛入学率", "enrolment": "毛入学率", "childcare": "托育", "nursery": "托位",
    "domestic violence": "家庭暴力", "trafficking": "拐卖", "legal aid": "法律援助",
    "women": "妇女", "woman": "妇女", "children": "儿童", "child": "儿童", "target": "目标",
    "2025": "2025年", "2020": "2020年", "responsible": "负责", "who is responsible": "负责",
    "measures": "措施", "birth defect": "出生缺陷", "cervical": "宫颈癌", "breast cancer": "乳腺癌",
    "screening": "筛查", "mental health": "心理健康", "insurance": "保险", "injury": "伤害",
    "hospital": "医院", "evaluation": "评估", "monitoring": "监测", "plan period": "规划期限",
    "reading": "阅读", "physical fitness": "体质", "elderly": "老年", "employment": "就业",
}


def normalize_question(question: str) -> str:
    """Map colloquial and English words to the plan's wording; keep everything else."""
    q = question
    low = q.lower()
    if any("a" <= ch <= "z" for ch in low):
        extra = [zh for en, zh in GLOSSARY.items() if en in low]
        if extra:
            q = q + " " + " ".join(dict.fromkeys(extra))
    for word in sorted(SYNONYMS, key=len, reverse=True):
        if word in q and SYNONYMS[word] not in q:
            q = q.replace(word, SYNONYMS[word])
    return q
