"""Indicator value: a table row's 2025 target and 2020 value, for the row the question means."""

from __future__ import annotations

import re
from functools import lru_cache

from assistant import lexicon
from assistant import thresholds as T
from assistant.compose import Draft, clauses, fmt_value
from assistant.dialogue import AGE_BAND
from assistant.query import GROUP_GRAMS, Query, unit_fits
from assistant.strategies.base import Strategy
from assistant.structure import unnumbered
from assistant.targets import row_name
from assistant.text import NUMBER, STATED_VALUE, char_bigrams, figures
from assistant.types import Chunk, DialogueState, Hit, Intent, plan_kind

PLAN_GROUP_WORDS = re.compile("|".join(lexicon.GROUP_IN_NAMES))
RATIO_WORDS = {"占比", "比例", "比重", "比率", "多少", "数"}
GROUP_STEMS = {"女生": ("女",), "女性": ("女",), "妇女": ("女",), "男生": ("男",)}
SHARE_UNITS = ("％", "%", "‰")
ASKS = (Intent.VALUE, Intent.COUNT, Intent.STATEMENT, Intent.WHEN)


def groups_named(query: Query) -> set[str]:
    """Plans whose group of people the question names ("女性", "未成年人"), by the lexicon's plan words."""
    low = query.raw.lower() + " " + query.text
    return {key for key, words in lexicon.PLAN_WORDS.items() if any(w in low for w in words)}


def has_focus(name: str, focus: tuple[str, ...]) -> bool:
    """Does a row name hold every focus word? A group word matches its group ("女生" ~ 女性), and
    ratio words ("占比") say nothing about which row."""
    for word in focus:
        if word in RATIO_WORDS or word in name:
            continue
        group = next((words for words in lexicon.PLAN_WORDS.values() if word in words), ())
        if not any(w in name for w in group + tuple(GROUP_STEMS.get(word, ()))):
            return False
    return True


# A column that holds targets: a year's ("2025年") or a target's ("目标值").
TARGET_HEADER = re.compile(r"20\d\d|目标")


def asks_column(query: Query) -> bool:
    """Whether the question asks for a formula or a definition column (the target column's cues,
    多少 / 目标, are every value question's)."""
    text = query.raw.lower()
    return any(cue in text for _, cues in lexicon.TABLE_COLUMNS[:2] for cue in cues)


def columns_asked(query: Query, ind) -> list[str]:
    """Headers of the row's columns the question asks for; the target column's when it names none."""
    text = query.raw.lower()
    name_header = next((h for h, t, _, _ in ind.columns if t == ind.name), None)
    headers = [h for h, _, _, _ in ind.columns if h and h != name_header]
    asked = [h for h in headers if h in query.raw]
    for pattern, cues in lexicon.TABLE_COLUMNS:
        if any(cue in text for cue in cues):
            asked += [h for h in headers if re.search(pattern, h)][:1]
    if not asked:
        target = next((h for h, t, _, _ in ind.columns if t == ind.target), None)
        asked = [target] if target and target != name_header else headers[-1:]
    return list(dict.fromkeys(asked))


def names_heading(query: Query, chunk: Chunk) -> bool:
    """Does the question hold most of the bigrams of the chunk's heading ("妇幼保健机构能力提升项目…")?"""
    heading = char_bigrams(unnumbered(chunk.section.rsplit(" > ", 1)[-1]))
    return len(heading) >= 3 and len(heading & char_bigrams(query.text)) >= T.HEADING_NAMED * len(heading)


@lru_cache(maxsize=65536)
def group_free_grams(name: str) -> frozenset[str]:
    """A row name's bigrams without its plan's group words, once per name (twins are looked for among all rows)."""
    return frozenset(char_bigrams(PLAN_GROUP_WORDS.sub("", name)))


def jaccard(a: set[str] | frozenset[str], b: set[str] | frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


class IndicatorValueStrategy(Strategy):
    name = "indicator"

    def __init__(self, kit) -> None:
        super().__init__(kit)
        self.named_columns = any(ind.columns for ind in kit.indicators.values())  # a table of any header

    def match(self, query: Query, state: DialogueState | None) -> bool:
        if query.indicators or query.intent in ASKS:
            return True
        # "早诊率的分母包括哪些人": a column of a table of any header (计算公式, 指标定义) is asked
        return self.named_columns and asks_column(query)

    def answer(self, query: Query, hits: list[Hit]) -> Draft | None:
        rows, named = self.rows(query, hits)
        if rows is None:
            return None
        # A follow-up's focus chose the rows ("义务教育呢"): the earlier topic's words in the text do not count.
        narrowed = any(w not in RATIO_WORDS for w in query.focus)  # "有具体比例吗" narrows nothing
        if rows and not query.indicators and not narrowed and self.text_covers_more(query, rows, hits):
            return None  # "等级幼儿园覆盖率": the text states it; 普惠性幼儿园覆盖率 is another indicator
        if rows and not query.indicators and self.target_the_table_lacks(query, rows) \
                and all(self.text_covers_more(query, [c], hits, margin=0.0, doc=c.doc) for c in rows):
            return None  # "筛查率到2025年要达到多少": a 评分标准 is no target; the text's 达到50%以上 is
        if not rows:  # carried to a plan whose table lacks the indicator
            names = "、".join(f"“{self._name(self.kit.by_id[i])}”" for i in query.indicators if i in self.kit.by_id)
            plans = "、".join(self.plan_label(p) for p in query.plans or ())
            return Draft("", [], "indicator", self.name, refusal=f"{plans}的重点指标目标表中没有{names}这一指标。")
        return self.compose(query, rows, hits, named)

    # ---- which rows ------------------------------------------------------------------------------

    def rows(self, query: Query, hits: list[Hit]) -> tuple[list[Chunk] | None, bool]:
        """(rows, named): the carried, named or meant rows; ([], True) when a carried row has no twin.
        When the question names one plan's group of people ("未成年人…"), rows of that plan only."""
        rows, named = self._rows(query, hits)
        groups = groups_named(query)
        if rows and len(groups) == 1 and not query.indicators:
            rows = [c for c in rows if plan_kind(c.plan) in groups] or rows
        return rows, named

    def _rows(self, query: Query, hits: list[Hit]) -> tuple[list[Chunk] | None, bool]:
        kit = self.kit
        plans = list(query.plans) if query.plans else None
        docs = list(query.docs) if query.docs else None
        if query.indicators:
            carried = [kit.by_id[i] for i in query.indicators if i in kit.by_id and kit.by_id[i].kind == "indicator"]
            if not carried:
                return None, False  # "它们分别是多少" of a list of items, not of rows
            if plans and not any(c.plan in plans for c in carried):
                # "那儿童规划呢？": the same indicator in the other plan's table. Plan words are dropped:
                # 建立妇女活动中心的… matches 建立儿童活动中心的….
                names = PLAN_GROUP_WORDS.sub("", " ".join(self._name(c) for c in carried))
                found = [m.chunk for m in kit.retriever.match_indicators(names, plans, list(query.terms), docs=docs)]
                return found, True
            return [c for c in carried if not plans or c.plan in plans], True
        heads = self.rows_sharing_the_words(query, plans, docs)
        if heads:  # "死亡率目标是多少": 孕产妇死亡率, 婴儿死亡率, 儿童伤害死亡率 are all meant alike
            return heads, True
        named = self.rank(query, hits, kit.retriever.match_indicators(query.text, plans, list(query.terms), docs=docs))
        if query.focus:  # "女生的呢" after 高等教育毛入学率: a row that has the focus, nearest in meaning
            # ... and still about the earlier topic: "3岁以下的呢" after 0-6岁儿童健康管理率 is no 托位 row
            # (a focus that names a measure itself, "the child injury death rate", is a topic of its own)
            qualifies = not any(w[-1] in lexicon.MEASURE_NAME_ENDS for w in query.focus)
            topic = query.grams - set().union(*(char_bigrams(w) for w in query.focus)) - GROUP_GRAMS \
                if qualifies else frozenset()
            fits = [c for c in self._all_rows(plans, docs) if has_focus(self._name(c), query.focus)
                    and (not topic or kit.coverage(topic, self._name(c)) > 0)]
            sims = kit.name_similarities(query)
            fits.sort(key=lambda c: -(sims.get(c.id, 0.0) or kit.coverage(query.grams, self._name(c))))
            named = [c for c in named if has_focus(self._name(c), query.focus)] or fits[:1]
            if not named and any(w in lexicon.POPULATIONS or AGE_BAND.fullmatch(w) for w in query.focus):
                return None, False  # "5岁以下的呢": no row is about these people; the text may be
        if named:
            return named, True
        if query.intent not in (Intent.VALUE, Intent.COUNT) and not query.aspect and not asks_column(query):
            return None, False
        by_value = self.rows_by_value(query, self._all_rows(plans, docs))
        if by_value:  # "2020年是48.9%的那个指标 2025年要到多少": the row that holds that value
            return by_value, True
        if self.heading_named(query, hits):
            return None, False  # "妇女心理健康促进项目对各县有什么要求": an item is named, no row is
        best = self.meant(query, self._all_rows(plans, docs))
        if best is None:
            return None, False
        if plans:  # "妇女规划里婴儿死亡率…": the row is another plan's, not this one's
            anywhere = self.meant(query, self._all_rows(None, docs))
            if anywhere is not None and anywhere.plan not in plans and self._named_better(query, anywhere, best):
                return [], True
        # The same indicator in the other plan's table (高中阶段毛入学率 in both): answer both.
        twins = [c for c in self._all_rows(plans, docs) if self._twins(best, c)]
        rival = self._near_tie(query, best, self._all_rows(plans, docs))
        if rival is not None and not twins:  # "女的技能培训比例": two rows fit alike, both are shown
            return [best, rival], True
        if not twins and not plans and not groups_named(query):
            twins = self._other_plans_row(query, best, docs)
        # Found by the embedded names under a calibrated bar: as resolved as a row named outright.
        return [best] + twins[:1], True

    def _near_tie(self, query: Query, best: Chunk, rows: list[Chunk]) -> Chunk | None:
        """Another row as near the question in meaning as the one meant (within NAME_TIE) that holds
        some of its words too (女职工接受技能培训比例 and 职业技能培训中女性所占比例)."""
        sims = self.kit.name_similarities(query)
        top = sims.get(best.id, 0.0)
        near = [c for c in rows if c.id != best.id and not self._twins(best, c)
                and sims.get(c.id, 0.0) >= top - T.NAME_TIE and unit_fits(query, self.kit.indicators[c.id].unit)
                and self.kit.coverage(query.grams, self._name(c)) >= T.NAME_TIE_LEXICAL]
        return max(near, key=lambda c: sims.get(c.id, 0.0)) if near else None

    def _other_plans_row(self, query: Query, best: Chunk, docs: list[str] | None) -> list[Chunk]:
        """A question that names no plan ("体质方面的指标定了多少"): the other plan's row nearest in
        meaning when its name holds as much of the question as the first row's (妇女国民体质合格率 beside
        国家学生体质健康标准达标优良率)."""
        kit = self.kit
        held = kit.coverage(query.grams, self._name(best))
        if held < T.NAME_LEXICAL:  # the question's words must be in both names, not a stray bigram
            return []
        sims = kit.name_similarities(query)
        others = [c for c in self._all_rows(None, docs)
                  if c.plan != best.plan and unit_fits(query, kit.indicators[c.id].unit)]
        others.sort(key=lambda c: -sims.get(c.id, 0.0))
        return [c for c in others[:1]
                if sims.get(c.id, 0.0) >= T.NAME_MEANT_MIN and kit.coverage(query.grams, self._name(c)) >= held]

    def rows_sharing_the_words(self, query: Query, plans: list[str] | None, docs: list[str] | None) -> list[Chunk]:
        """Rows of different indicators whose names each hold all of the question's words, when those
        words are more than the people's ("死亡率", "入学率"): the question fits each of them alike, so
        each is answered (at most MAX_LIST, nearest in meaning first). A follow-up's focus narrows instead."""
        if query.focus or not query.grams - GROUP_GRAMS:
            return []
        kit = self.kit
        share = any(w in query.raw.lower() for w in lexicon.SHARE_ASKED)
        held = [c for c in kit.rows_holding(query.grams, plans, docs) if unit_fits(query, kit.indicators[c.id].unit)
                and (not share or any(u in kit.indicators[c.id].unit for u in SHARE_UNITS))]
        distinct = [c for i, c in enumerate(held) if not any(self._twins(c, o) for o in held[:i])]
        if len(distinct) < 2:  # one indicator (in one or both tables) is named, not several
            return []
        sims = kit.name_similarities(query)
        held.sort(key=lambda c: -sims.get(c.id, 0.0))
        return held[: T.MAX_LIST]

    def rows_by_value(self, query: Query, rows: list[Chunk]) -> list[Chunk]:
        """Rows one of whose cells is a value the question states as a share or a decimal (48.9%, 58.4),
        when at most two rows hold it (a value as common as 100 names no row)."""
        stated = {float(m.group(1)) for m in STATED_VALUE.finditer(query.raw)}
        if not stated:
            return []
        def values(row: Chunk) -> set[float]:
            ind = self.kit.indicators[row.id]
            cells = f"{ind.baseline} {ind.target}".replace("．", ".")
            return {float(v) for v in NUMBER.findall(cells)}

        found = [c for c in rows if stated & values(c)]
        return found if len(found) <= 2 else []

    def heading_named(self, query: Query, hits: list[Hit]) -> bool:
        """Does the question name the heading of a retrieved item or project (most of its bigrams)?
        Then a row found only by meaning is not what is asked."""
        return any(names_heading(query, h.chunk) for h in hits[: T.SENTENCE_HITS] if h.chunk.kind != "indicator")

    def _named_better(self, query: Query, other: Chunk, mine: Chunk) -> bool:
        """Does another plan's row hold clearly more of the question than the one in scope?"""
        kit = self.kit
        theirs, ours = kit.coverage(query.grams, self._name(other)), kit.coverage(query.grams, self._name(mine))
        return theirs >= ours + T.TEXT_OVER_ROW

    def meant(self, query: Query, rows: list[Chunk]) -> Chunk | None:
        """The row the question means, by the embedded names ("女的平均能活多少岁" -> 妇女人均预期寿命),
        when its name is close enough to the question."""
        sims = self.kit.name_similarities(query)
        fits = [c for c in rows if unit_fits(query, self.kit.indicators[c.id].unit)]
        floor = T.NAME_MEANT_MIN_ENGLISH if query.english else T.NAME_MEANT_MIN
        best = max(fits, key=lambda c: sims.get(c.id, 0.0), default=None)  # the first of equals, in row order
        if best is None or sims.get(best.id, 0.0) < floor:
            return None
        cosine = sims.get(best.id, 0.0)
        # the same row in the other plan's table is no rival: "活动中心" names both
        rival = max((sims.get(c.id, 0.0) for c in fits if c is not best and not self._twins(best, c)), default=0.0)
        margin = cosine - rival
        # A plan named by its people ("妇女规划的目标有哪些": 妇女) says nothing about which row: every
        # row is about them. A document named by its topic (乳腺癌筛查工作方案) keeps those words.
        by_people = any(plan_kind(k) in lexicon.PLAN_SWITCH for k in query.named_plans)
        grams = query.grams - query.named_grams if by_people else query.grams
        if not grams:
            return None
        lexical = self.kit.coverage(grams, self._name(best))
        # Shared characters beyond the people's words: "适龄妇女…多少岁" shares only 妇女 with 妇女人均预期寿命
        rest = grams - GROUP_GRAMS
        beyond = self.kit.coverage(rest, self._name(best)) if rest else 0.0
        if cosine < T.NAME_MEANT_MIN:  # English, below the Chinese bar: its glossary words name the row
            return best if beyond >= T.NAME_LEXICAL else None
        topical = lexical if query.english else beyond  # an English question's few glossary bigrams are all it has
        if cosine >= T.NAME_SURE or (margin >= T.NAME_MARGIN and topical > 0) or lexical >= T.NAME_LEXICAL:
            return best
        if self._topic_coverage(query, grams, best) >= T.INDICATOR_NAME_FULL:  # 覆盖率 asked of a 比例 row
            return best
        return None

    def _topic_coverage(self, query: Query, grams: frozenset[str], row: Chunk) -> float:
        """Coverage of the row's name by the question's known bigrams other than those of a share word
        (覆盖率, 比例): what the share is of, whatever the share is called."""
        if not any(u in self.kit.indicators[row.id].unit for u in SHARE_UNITS):
            return 0.0  # a share asked is never a count's row (获得法律援助的人数 is no 比例)
        share = set().union(*(char_bigrams(w) for w in lexicon.SHARE_WORDS if w in query.text))
        topic = grams - share
        return self.kit.known_coverage(topic, self._name(row)) if share and topic else 0.0

    def _twins(self, one: Chunk, other: Chunk) -> bool:
        """The same indicator in two plans' tables (建立妇女活动中心… / 建立儿童活动中心…)."""
        return one.plan != other.plan and jaccard(group_free_grams(self._name(one)),
                                                  group_free_grams(self._name(other))) >= T.TWIN_NAME

    def target_the_table_lacks(self, query: Query, rows: list[Chunk]) -> bool:
        """A target asked ("到2025年要达到多少") of rows whose table has no target or year column (考核指标 /
        计算方法 / 评分标准), and no column named."""
        if query.aspect != "target" or asks_column(query):
            return False
        inds = [self.kit.indicators[c.id] for c in rows]
        if any(h and h in query.raw for ind in inds for h, *_ in ind.columns):
            return False  # "早诊率的评分标准是多少": the column is named
        return all(ind.columns and not any(TARGET_HEADER.search(h) for h, *_ in ind.columns) for ind in inds)

    def text_covers_more(self, query: Query, rows: list[Chunk], hits: list[Hit],
                         margin: float = T.TEXT_OVER_ROW, doc: str | None = None) -> bool:
        """Does a sentence with a figure (of `doc`, when given) hold clearly (by `margin`) more of the
        question than the rows' names?"""
        kit = self.kit
        named = max(kit.coverage(query.grams, self._name(c)) for c in rows)
        if named >= T.INDICATOR_NAME_FULL and margin > 0:
            return False
        for h in hits[: T.SENTENCE_HITS]:
            if h.chunk.kind == "indicator" or (doc is not None and h.chunk.doc != doc):
                continue
            for s, e in kit.sentences(h.chunk):
                for cs, ce in clauses(kit.corpus.text(h.chunk.doc), s, e):
                    clause = kit.corpus.text(h.chunk.doc)[cs:ce]
                    if figures(clause) and kit.coverage(query.grams, clause) >= named + margin:
                        return True
        return False

    def rank(self, query: Query, hits: list[Hit], matches: list) -> list[Chunk]:
        """Named rows re-ranked by how much of the question each name holds and by meaning; ties kept
        (the same name in both tables)."""
        if len(matches) <= 1:
            return [m.chunk for m in matches]
        dense = {h.chunk.id: h.dense for h in hits}
        scored = [
            (
                m.score
                + self.kit.coverage(query.grams, self._name(m.chunk))
                + self.kit.dense_scaled(dense.get(m.chunk.id, 0.0)),
                m,
            )
            for m in matches
        ]
        scored.sort(key=lambda x: -x[0])
        best, top = scored[0][0], scored[0][1]
        return [
            m.chunk for score, m in scored if m is top or (m.whole and top.whole) or score >= best - T.INDICATOR_TIE
        ]

    def _all_rows(self, plans: list[str] | None, docs: list[str] | None) -> list[Chunk]:
        return [
            c for c in self.kit.retriever.indicators if (not plans or c.plan in plans) and (not docs or c.doc in docs)
        ]

    @staticmethod
    def _name(chunk: Chunk) -> str:
        return row_name(chunk)

    # ---- the answer ------------------------------------------------------------------------------

    def cells(self, query: Query, chunk: Chunk, ind, cites: list) -> str:
        """A row of a table of any header: the cells of the columns asked ("计算方法" -> 计算公式),
        the target column's when none is; the row is cited once, as a Jiaxing row is."""
        asked = columns_asked(query, ind)
        cites.append(self.kit.cite(chunk, ind.start, ind.end))
        shown = [f"{header}为“{text}”[{len(cites)}]" for header, text, _, _ in ind.columns if header in asked]
        table = f"《{ind.table}》" if ind.table else "指标表"
        return f"{chunk.plan_name}{table}中“{ind.name}”的" + "，".join(shown)

    def compose(self, query: Query, rows: list[Chunk], hits: list[Hit], named: bool) -> Draft:
        kit = self.kit
        baseline_first = query.aspect == "baseline"
        parts, cites, inds = [], [], []
        for chunk in rows:
            ind = kit.indicators[chunk.id]
            inds.append(ind)
            if ind.columns:
                parts.append(self.cells(query, chunk, ind, cites))
                continue
            cites.append(kit.cite(chunk, ind.start, ind.end))
            marks = f"[{len(cites)}]"
            if ind.target_shared_with:
                cites.append(kit.cite(chunk, ind.target_start, ind.target_end))
                marks += f"[{len(cites)}]"
            base = (
                f"{ind.baseline_year}年为{fmt_value(ind.baseline, ind.unit)}"
                if ind.baseline
                else f"{ind.baseline_year}年无数据（表中为“－”）"
            )
            target = (
                f"{ind.target_year}年目标为{fmt_value(ind.target, ind.unit)}"
                if ind.target
                else f"{ind.target_year}年目标未列"
            )
            if ind.target_shared_with:
                target += f"（与第{ind.target_shared_with}项共用）"
            values = f"{base}，{target}" if baseline_first else f"{target}，{base}"
            line = f"{chunk.plan_name}重点指标“{ind.name}”：{values}{marks}"
            mention = kit.text_mention(ind, hits)
            if mention is not None and all((c.start, c.end) != (mention.start, mention.end) for c in cites):
                cites.append(mention)
                line += f"；正文写明“{mention.quote.rstrip('。；')}”[{len(cites)}]"
            parts.append(line)
        plans = tuple(dict.fromkeys(c.plan for c in rows))
        same = all(self._twins(rows[0], c) or c.section == rows[0].section for c in rows[1:])
        sep = "；"
        if len(rows) > 2 or (len(rows) == 2 and not same and len(plans) == 1):
            lead, sep = f"重点指标中有{len(rows)}项与此相关：\n", "；\n"
        else:
            lead = ("两个规划都列有这一指标。" if same else "两个规划各有相关指标。") if len(plans) > 1 else ""
        return Draft(
            lead + sep.join(parts) + "。",
            cites,
            "indicator",
            self.name,
            named=named,
            chunks=list(rows),
            indicators=tuple(c.id for c in rows),
            plans=plans,
            rows=inds,
        )

