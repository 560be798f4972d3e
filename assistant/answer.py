"""Hits -> Answer: extractive, short, in the plan's own words, every claim cited. Pure.

The answer states an indicator's 2025 target and 2020 value, a target sentence from the text,
or the numbered items that answer a "what measures" question. When the evidence does not
cover the question (a 2030 target, a figure the plan never gives) the answer says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.corpus import Corpus
from assistant.retrieve import Retriever
from assistant.text import char_bigrams, normalize_question, numbers, search_terms, sentence_spans
from assistant.types import Answer, Chunk, Citation, Hit, Indicator

ASKS_NUMBER = re.compile(r"多少|几[个家所项岁%％]?|百分之|比例是|数值|数字|目标值|how (much|many)|what percent", re.I)
ASKS_MEASURES = re.compile(r"措施|举措|任务|怎么做|怎样做|如何|做什么|做哪些|哪些工作|干什么|做法|具体|内容|安排|measures|what does .* do", re.I)
ASKS_COUNT = re.compile(r"多少\s*([所个家座名人次项条张天元]|钱)")
ASKS_WHEN = re.compile(r"什么时候|何时|哪天|哪一天|几月|哪一年|哪年")
ASKS_VALUE = re.compile(r"多少|目标|达到|2020|2025|数值|比例|多大|几|怎样的要求|要求|基数|现状|target|rate|how much|what share|percent|value", re.I)
ASKS_LIST = re.compile(r"有哪些|哪几|包括|包含|列出|都有什么|有什么|which|list", re.I)
ASKS_WHO = re.compile(r"负责|牵头|谁|哪个部门|哪些部门|主管|责任单位|who", re.I)
ASKS_BASELINE = re.compile(r"2020|基数|基期|现状|现在|目前|基线|baseline", re.I)
ASKS_TARGET = re.compile(r"2025|目标|要求|达到|target", re.I)
YEAR = re.compile(r"((?:19|20)\d\d)\s*年?")
KNOWN_YEARS = {"2020", "2021", "2025"}
# Another city, county or province named in a question ("杭州市的…"): the plans cover Jiaxing only.
PLACE = re.compile(r"([\u4e00-\u9fff]{2,3}?)(?:市|省|县)(?!级|场|民|委|政府|区、|（)")
# Words that say what kind of answer is wanted, not what it is about.
GENERIC = set("""目标 要求 措施 任务 内容 情况 工作 方面 具体 主要 嘉兴 嘉兴市 十四五 规划 指标 多少 数值
    怎么 怎样 如何 哪些 什么 做 提出 提到 实现 达到 重点 是否 有没有 预计 应该 年 计划 能 几年 哪年
    哪几年 什么时候 多久 多长 到底 降到 降至 降低 提高 提升 提高到 控制 控制在 保持 超过 不低于 低于
    高于 增加 减少 要求 打算 准备 现在 目前 现状 基数 数据 数字 百分之 比例是 一下 知道 想 问问 告诉
    领域 部分 章节 一节 方面 主要任务 任务措施 有关 相关 规定 说明 写 提 讲 明确
    the what is of which how rate plan target does say about in for and to""".split())
REFUSAL = "规划中没有写明这一点。"
# Function characters: a bigram containing one says nothing about the topic ("率要", "的预").
STOP_CHARS = set("的了吗呢吧啊呀么是有在和与及或要会能把被对给让从向到就都也还又再很更最该这那哪谁几多少个")
COVERAGE_MIN = 0.55  # weighted share of the question's key bigrams the evidence must contain
COVERAGE_LOOSE = 0.4  # the same, for questions that do not ask for a number
MAX_LIST = 5


@dataclass
class Evidence:
    """Sentences chosen to answer, each with its chunk."""

    spans: list[tuple[Chunk, int, int]] = field(default_factory=list)


class Answerer:
    """Composes answers from retrieved chunks and the corpus text."""

    def __init__(self, corpus: Corpus, retriever: Retriever) -> None:
        self.corpus = corpus
        self.retriever = retriever
        self.indicators: dict[str, Indicator] = {}
        for doc in corpus.documents.values():
            for plan in doc.plans:
                for ind in plan.indicators:
                    self.indicators[f"{doc.doc}/{plan.key}/table/{ind.number}"] = ind
        self.plan_names = {p.key: p.name for d in corpus.documents.values() for p in d.plans}

    # ---- citations -------------------------------------------------------------------------

    def cite(self, chunk: Chunk, start: int, end: int) -> Citation:
        text = self.corpus.text(chunk.doc)
        return Citation(plan=chunk.plan_name, section=chunk.section, quote=text[start:end],
                        start=start, end=end, doc=chunk.doc)

    def sentences(self, chunk: Chunk) -> list[tuple[int, int]]:
        if chunk.kind == "indicator":
            return [(chunk.start, chunk.end)]
        return sentence_spans(self.corpus.text(chunk.doc)[chunk.start : chunk.end], chunk.start)

    # ---- scoring ---------------------------------------------------------------------------

    def key_terms(self, question: str) -> list[str]:
        """The question's content words: jieba terms without question words ("多少", "目标")."""
        return [t for t in search_terms(normalize_question(question))
                if t not in GENERIC and not (STOP_CHARS & set(t)) and not t.isascii()]

    def key_grams(self, question: str) -> set[str]:
        """Chinese/number bigrams of the question once question words and particles are cut out.

        "产前筛查率要达到多少" -> 产前 前筛 筛查 查率: bigrams, not jieba words, so that a word jieba
        splits oddly ("率要") or a typo still leaves most of the question's substance.
        """
        text = normalize_question(question)
        for word in sorted(GENERIC, key=len, reverse=True):
            if len(word) > 1:
                text = text.replace(word, "|")
        segments = re.split(rf"[^\u4e00-\u9fff0-9]|[{''.join(STOP_CHARS)}]", text)
        return {seg[i:i + 2] for seg in segments for i in range(len(seg) - 1)}

    def coverage(self, grams: set[str], text: str) -> float:
        """IDF-weighted share of `grams` present in `text`."""
        if not grams:
            return 0.0
        have = char_bigrams(text)
        w = self.retriever.weight
        return sum(w(g) for g in grams & have) / sum(w(g) for g in grams)

    def best_sentences(self, question: str, hits: list[Hit], limit: int = 2) -> list[tuple[Chunk, int, int, float]]:
        """The sentences of the top hits that best cover the question, best first."""
        grams = self.key_grams(question)
        wants_number = bool(ASKS_NUMBER.search(question) or ASKS_TARGET.search(question))
        wants_who = bool(ASKS_WHO.search(question))
        wants_when = bool(ASKS_WHEN.search(question))
        scored = []
        for rank, hit in enumerate(hits[:6]):
            if hit.chunk.kind == "indicator":
                continue
            text = self.corpus.text(hit.chunk.doc)
            heading = hit.chunk.section.rsplit(" > ", 1)[-1]
            for s, e in self.sentences(hit.chunk):
                sent = text[s:e]
                score = self.coverage(grams, sent + hit.chunk.section) - 0.03 * rank
                if sent.rstrip("。") == heading:
                    score -= 0.3  # a heading alone ("（一）儿童近视防控项目。") rarely answers
                if wants_number and numbers(sent):
                    score += 0.25
                if wants_when and re.search(r"\d{4}年|\d+月|\d+日", sent):
                    score += 0.25
                if wants_who and re.search(r"负责|牵头|主体责任|协调", sent):
                    score += 0.2
                scored.append((hit.chunk, s, e, score))
        scored.sort(key=lambda x: -x[3])
        best = scored[:1]
        for cand in scored[1:]:
            if len(best) >= limit:
                break
            if cand[0].id == best[0][0].id and cand[3] >= best[0][3] - 0.12:
                best.append(cand)
        best.sort(key=lambda x: x[1])
        if best and plan_free(question):
            # The same sentence in the other plan ("市政府妇儿工委负责…" is in both): give both.
            twin = next((c for c in scored if c[0].plan != best[0][0].plan and c[3] >= max(b[3] for b in best) - 0.05),
                        None)
            if twin is not None:
                best.append(twin)
        return best

    # ---- answer kinds ----------------------------------------------------------------------

    def refuse(self, question: str, hits: list[Hit], why: str = "") -> Answer:
        near = hits[:2]
        cites = []
        for h in near:
            s, e = self.sentences(h.chunk)[0]
            cites.append(self.cite(h.chunk, s, e))
        lines = [REFUSAL + (why or "")]
        if cites:
            lines.append("最接近的内容：" + "；".join(f"{c.section}[{i + 1}]" for i, c in enumerate(cites)) + "。")
        return Answer(question, "\n".join(lines), False, cites, hits, kind="refusal")

    def indicator_answer(self, question: str, chunks: list[Chunk], hits: list[Hit], year: str | None,
                         named: bool = True) -> Answer:
        """2025 target and 2020 value of the named indicator(s), from the table rows."""
        year = year or ("2020" if ASKS_BASELINE.search(question) and not ASKS_TARGET.search(question) else "2025")
        parts, cites = [], []
        for chunk in chunks:
            ind = self.indicators[chunk.id]
            cites.append(self.cite(chunk, ind.start, ind.end))
            marks = f"[{len(cites)}]"
            if ind.target_shared_with:
                cites.append(self.cite(chunk, ind.target_start, ind.target_end))
                marks += f"[{len(cites)}]"
            base = (f"{ind.baseline_year}年为{fmt_value(ind.baseline, ind.unit)}" if ind.baseline
                    else f"{ind.baseline_year}年无数据（表中为“－”）")
            target = f"{ind.target_year}年目标为{fmt_value(ind.target, ind.unit)}" if ind.target else f"{ind.target_year}年目标未列"
            if ind.target_shared_with:
                target += f"（与第{ind.target_shared_with}项共用）"
            values = f"{base}，{target}" if year == "2020" else f"{target}，{base}"
            line = f"{chunk.plan_name}重点指标“{ind.name}”：{values}{marks}"
            found = self.text_mention(ind, hits)
            if found is not None:
                cites.append(found)
                line += f"；正文写明“{found.quote.rstrip('。；')}”[{len(cites)}]"
            parts.append(line)
        plans = {c.plan for c in chunks}
        lead = "两个规划都列有这一指标。" if len(plans) > 1 else ""
        context = {"indicators": [c.id for c in chunks], "plans": sorted(plans), "named": named}
        return Answer(question, lead + "；".join(parts) + "。", True, cites, hits, kind="indicator", context=context)

    def text_mention(self, ind: Indicator, hits: list[Hit]) -> Citation | None:
        """A sentence of the running text that states this indicator with a number, if retrieved."""
        core = ind.name.rsplit("（", 1)[0] if ind.name.endswith("）") else ind.name
        for hit in hits[:6]:
            if hit.chunk.kind == "indicator" or hit.chunk.plan != ind.plan:
                continue
            text = self.corpus.text(hit.chunk.doc)
            for s, e in self.sentences(hit.chunk):
                for clause_s, clause_e in _clauses(text, s, e):
                    clause = text[clause_s:clause_e]
                    if core in clause and numbers(clause.replace(core, "")):
                        return self.cite(hit.chunk, clause_s, clause_e)
        return None

    def list_answer(self, question: str, title: str, chunks: list[Chunk], hits: list[Hit],
                    detail: bool = True, limit: int = MAX_LIST) -> Answer:
        """Numbered items with their headings (and, with detail, the sentence that fits best)."""
        cites, lines = [], []
        grams = self.key_grams(question)
        text_of = self.corpus.text
        for chunk in chunks[:limit]:
            sents = self.sentences(chunk)
            cites.append(self.cite(chunk, *sents[0]))
            line = f"{self.prefix(chunk, chunks)}{chunk.section.rsplit(' > ', 1)[-1]}[{len(cites)}]"
            best = max(sents[1:], key=lambda se: self.coverage(grams, text_of(chunk.doc)[se[0]:se[1]]), default=None)
            if detail and best and self.coverage(grams, text_of(chunk.doc)[best[0]:best[1]]) > 0.3:
                cites.append(self.cite(chunk, *best))
                line += f"：{text_of(chunk.doc)[best[0]:best[1]]}[{len(cites)}]"
            lines.append(line)
        context = {"list": [c.id for c in chunks[:limit]], "plans": sorted({c.plan for c in chunks})}
        return Answer(question, f"{title}\n" + "\n".join(lines), True, cites, hits, kind="measures", context=context)

    @staticmethod
    def prefix(chunk: Chunk, chunks: list[Chunk]) -> str:
        """"儿童规划 " before an item when the list mixes plans."""
        return f"{chunk.plan_name} " if len({c.plan for c in chunks}) > 1 else ""

    def detail_answer(self, question: str, chunk: Chunk, hits: list[Hit]) -> Answer:
        """What one item says: its heading and its first sentences."""
        sents = self.sentences(chunk)
        s, e = sents[0][0], sents[min(2, len(sents) - 1)][1]
        cite = self.cite(chunk, s, e)
        heading = chunk.section.rsplit(" > ", 1)[-1]
        body = cite.quote.replace("\n", "")
        return Answer(question, f"{chunk.plan_name}“{heading}”：{body}[1]", True, [cite], hits,
                      kind="detail", context={"item": chunk.id, "plans": [chunk.plan]})

    def sentence_answer(self, question: str, hits: list[Hit]) -> Answer:
        """The sentence(s) that state the answer, in the source's words."""
        best = self.best_sentences(question, hits)
        if not best:
            return self.refuse(question, hits)
        cites = [self.cite(c, s, e) for c, s, e, _ in best]
        groups: dict[str, list[int]] = {}
        for i, c in enumerate(cites):
            groups.setdefault(c.section, []).append(i)
        parts = []
        for section, idx in groups.items():
            body = "".join(cites[i].quote.replace("\n", "") + f"[{i + 1}]" for i in idx)
            parts.append(f"据{section}：{body}")
        plans = sorted({c.plan for c, *_ in best})
        lead = "两个规划都写明了这一点。\n" if len(plans) > 1 else ""
        kind = "text_target" if any(numbers(c.quote) for c in cites) else "text"
        return Answer(question, lead + "\n".join(parts), True, cites, hits, kind=kind,
                      context={"plans": plans, "item": best[0][0].id})

    def evidence_ok(self, question: str, answer: Answer) -> tuple[bool, str]:
        """Does the cited evidence cover what the question asks? (the refusal test)."""
        evidence = "".join(c.quote + c.section for c in answer.citations)
        for place in PLACE.findall(question):
            if place not in evidence and place not in ("嘉兴", "全市", "本市"):
                return False, f"规划只涉及嘉兴市，没有关于{place}的内容。"
        for y in YEAR.findall(question):
            if y not in KNOWN_YEARS and y not in evidence:
                return False, f"规划期为2021—2025年，没有{y}年的数据或目标。"
        quoted = "".join(c.quote for c in answer.citations)
        if answer.kind != "indicator":
            if ASKS_NUMBER.search(question) and not numbers(quoted):
                return False, "相关段落没有给出具体数字。"
            unit = ASKS_COUNT.search(question)
            measure = "元" if unit and unit.group(1) == "钱" else unit.group(1) if unit else ""
            if unit and not re.search(rf"[\d０-９一二两三四五六七八九十百千万]+\s*{measure}", quoted):
                return False, f"相关段落没有给出具体的数量（多少{unit.group(1)}）。"
            if ASKS_WHEN.search(question) and not re.search(r"\d{4}\s*年|\d+\s*月|\d+\s*日|每年|年底|年内", quoted):
                return False, "相关段落没有给出具体时间。"
        if answer.context.get("named"):
            return True, ""  # the question names this indicator outright
        grams = self.key_grams(question)
        if not grams:
            return False, "问题里没有可以查询的具体内容。"
        whole = evidence + "".join(self.chunk_texts(answer))
        # A number must be asked for in the plan's terms; a "how"/"what" question is usually a
        # paraphrase ("医美" for 医疗美容), so it needs less of its wording in the evidence.
        wants_number = ASKS_NUMBER.search(question) or answer.kind == "indicator"
        if self.coverage(grams, whole) < (COVERAGE_MIN if wants_number else COVERAGE_LOOSE):
            return False, ""
        return True, ""

    def chunk_texts(self, answer: Answer) -> list[str]:
        """Full text of the chunks the citations come from (the context of a quoted sentence)."""
        return [h.chunk.text for h in answer.retrieved
                if any(c.doc == h.chunk.doc and h.chunk.start <= c.start < h.chunk.end for c in answer.citations)]


def _clauses(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Clauses of a sentence, split at "，" (the unit a target is stated in)."""
    out, pos = [], start
    for m in re.finditer(r"[，。；]", text[start:end]):
        out.append((pos, start + m.end() - (1 if m.group() == "，" else 0)))
        pos = start + m.end()
    if pos < end:
        out.append((pos, end))
    return [(s, e) for s, e in out if e > s]


def plan_free(question: str) -> bool:
    """True when the question does not name one plan."""
    return not re.search(r"妇女|女性|儿童|孩子|未成年|women|children|child", question, re.I)


def fmt_value(value: str, unit: str) -> str:
    """">85" + "％" -> ">85％"; "延长" stays as it is; "<7" + "1/10万" -> "<7（1/10万）"."""
    if not re.fullmatch(r"[<>＜＞≥≤]?\d+(?:\.\d+)?", value) or not unit:
        return value
    if unit in ("％", "‰", "%") or ("/" not in unit and len(unit) <= 2):
        return value + unit
    return f"{value}（{unit}）"
