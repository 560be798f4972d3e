"""The refusal step: checks that each return a reason (in Chinese) or None. Pure.

A draft is refused when any check gives a reason; the refusal then says what the plan does state
nearby. Each check reads only the Query, the Draft and facts of the corpus, so each one can be
tested on a hand-made Draft.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from assistant import thresholds as T
from assistant.compose import Draft, Toolkit, flat
from assistant.lexicon import COUNT_UNITS, FACETS, GENERIC, HEAD_ROLES, LEVELS, NOW_WORDS, POPULATIONS, STOP_CHARS
from assistant.query import Query, asked_unit, has_cue, unit_fits
from assistant.strategies.document import PERIOD_YEARS
from assistant.targets import row_name
from assistant.text import NUMBER, STATED_VALUE, TIME_STATED, char_bigrams, figures, tokens
from assistant.types import Hit, Intent

REFUSAL = "规划中没有写明这一点。"
DIGITS = re.compile(r"\d")
# A target cell that gives a direction, not a level ("延长", "逐步提高"): no figure of what is reached.
DIRECTION = re.compile(r"^(?:逐步|稳步|持续|不断|有所)?(?:提高|提升|延长|降低|下降|增加|增长|减少|扩大|缩小|改善)$")
# A figure with its unit asked of the target ("2025年目标多少岁", "要到多少岁"): a DIRECTION cell does not
# answer it. Bare "目标是多少" is answered by the plan's word ("规划想达到多少": 延长).
TARGET_FIGURE = re.compile(r"(?:20\d\d年?|目标|要到|要达到)[^，。？?\s]{0,4}(?:多少|几)\s*万?\s*[岁个人家所天元张名次]")
HORIZON = re.compile(r"(?:到|至|截至|截止)\s*((?:19|20)\d\d)\s*年")
AGE_ASKED = re.compile(r"(?:几|多少)\s*周?岁|多大")
AGE = re.compile(r"\d+\s*(?:[-－~～]\s*\d+\s*)?周?岁")
MONEY = re.compile(r"收费|费用|补贴|津贴|工资|价格|预算|金额|资金|经费|多少钱|花多少|奖励|报销"
                   r"|\b(?:how much money|subsid(?:y|ies)|allowances?|fees?|costs?|prices?|budget|yuan|RMB)\b", re.I)
# whether something costs the user, not an amount
FREE_ASKED = re.compile(r"免费|不要钱|要钱|自费|\bfree of charge\b|\bfor free\b|\bat no cost\b|\bfree\b(?!-)", re.I)
AMOUNT = re.compile(r"\d+\s*万?亿?元")  # an amount of money stated
RURAL = ("农村", "乡村")  # 城乡 is town and country: a rural facet it covers
CITY = re.compile(r"^([\u4e00-\u9fff]{2,4}?)[市省县区]")


@dataclass
class Facts:
    """Facts of the corpus the checks need: each plan's years and its own place."""

    years: dict[str, set[str]]  # plan key -> years a plan answers without naming them (base, target, period)
    periods: dict[str, str]  # plan key -> "2021—2025年"
    places: dict[str, str]  # plan key -> "嘉兴"
    columns: dict[str, set[str]] = field(default_factory=dict)  # plan key -> the table's year columns


def corpus_facts(kit: Toolkit) -> Facts:
    """Read the plan period, table years and the plan's own place from each plan's text."""
    years, periods, places, columns = {}, {}, {}, {}
    for key, (doc, plan) in kit.plans.items():
        have = ({i.baseline_year for i in plan.indicators} | {i.target_year for i in plan.indicators}) - {""}
        columns[key] = set(have)
        # "到2025年底，实现以下目标": a year the plan's targets are set for answers without being named.
        have |= set(HORIZON.findall(doc.text[plan.start : plan.end]))
        head = doc.text[plan.start : plan.preamble.end] if plan.preamble else plan.title
        if m := PERIOD_YEARS.search(head):
            have |= {m.group(1), m.group(2)}
            periods[key] = f"{m.group(1)}—{m.group(2)}年"
        years[key] = have
        if m := CITY.match(plan.title):
            places[key] = m.group(1)
    return Facts(years, periods, places, columns)


Check = Callable[[Query, Draft, Toolkit, Facts, list[Hit]], str | None]


def row_names(draft: Draft) -> list[str]:
    """The names of a row draft's Jiaxing-style rows (a table of any header names no level or age)."""
    return [r.name for r in draft.rows if not r.columns]


def count_clauses(draft: Draft) -> list[str]:
    """The quoted clauses that state a count (a figure that is not a rate)."""
    return [c for c in quoted_clauses(draft) if figures(c) and not RATE_FIGURE.search(c)]


def evidence_text(draft: Draft) -> str:
    return "".join(c.quote + c.section for c in draft.citations)


def evidence_with_chunks(draft: Draft) -> str:
    """The draft's evidence and the full text of the chunks it quotes (a topic may sit beside the quote)."""
    return evidence_text(draft) + "".join(c.text for c in draft.chunks)


def quoted_text(draft: Draft) -> str:
    return "".join(c.quote for c in draft.citations)


def _plans_of(draft: Draft, facts: Facts) -> list[str]:
    return list(draft.plans) or list(facts.years)


def year_outside(query: Query, draft: Draft, kit: Toolkit, facts: Facts, hits: list[Hit]) -> str | None:
    """A year the plan does not cover (2030, 2019) and the evidence does not name."""
    evidence = evidence_text(draft)
    plans = _plans_of(draft, facts)
    known = set().union(*(facts.years.get(p, set()) for p in plans)) if plans else set()
    for y in query.years:
        if y not in known and y not in evidence:
            period = next((facts.periods[p] for p in plans if p in facts.periods), "")
            where = f"规划期为{period}" if period else "规划"
            columns = sorted({c for p in plans for c in facts.columns.get(p, set())})
            if draft.kind == "indicator" and columns:
                return f"{where}，指标表只有{'年和'.join(columns)}年两栏，没有{y}年的数据或目标。"
            return f"{where}，没有{y}年的数据或目标。"
    return None


def other_place(query: Query, draft: Draft, kit: Toolkit, facts: Facts, hits: list[Hit]) -> str | None:
    """A city or county other than the plan's own, which the evidence does not name."""
    evidence = evidence_text(draft)
    own = {facts.places.get(p, "") for p in _plans_of(draft, facts)}
    for place in query.places:
        if place not in own and place not in evidence:
            city = next((o for o in own if o), "")
            return f"规划只涉及{city}市，没有关于{place}的内容。" if city else f"规划没有关于{place}的内容。"
    return None


def baseline_missing(query: Query, draft: Draft, kit: Toolkit, facts: Facts, hits: list[Hit]) -> str | None:
    """The 2020 value asked of a row whose 2020 cell is '－'."""
    if draft.kind != "indicator" or query.aspect != "baseline" or not draft.rows:
        return None
    if all(not r.baseline for r in draft.rows):
        return "指标表中这一项的2020年数值为“－”（没有数据）。"
    return None


def baseline_not_in_text(query: Query, draft: Draft, kit: Toolkit, facts: Facts, hits: list[Hit]) -> str | None:
    """The 2020 value asked ("2020年的数有吗") of a sentence that states only a target: the text gives
    no base-year figure (a table row answers with its 2020 cell; baseline_missing reads that)."""
    if query.aspect != "baseline" or draft.kind == "indicator" or draft.exact:
        return None
    base = sorted({y for p in _plans_of(draft, facts) for y in facts.columns.get(p, set())})[:1]
    if not base or base[0] in quoted_text(draft):
        return None
    if base[0] in query.years:
        return f"规划正文没有给出{base[0]}年的数字。"
    # today's figure asked of a sentence that states a target ("嘉兴现在女党员占比多少"); the past in
    # words, "原来村里承包的地", says "originally", not "in 2020", and is left be
    if query.wants_number and has_cue(query.raw, NOW_WORDS):
        return "规划没有给出现在的数字，只写了要达到的目标。"
    return None


LEVEL_PATTERNS = {name: re.compile(words) for name, words in LEVELS.items()}


LEVEL_ASKED = re.compile(r"哪一级|哪级|哪个级别|什么级别|哪一层级|\bwhich level\b|\bat what level\b", re.I)


def level_unstated(query: Query, draft: Draft, kit: Toolkit, facts: Facts, hits: list[Hit]) -> str | None:
    """ "由哪一级卫健部门来定": the evidence must name a level of government (县级, 省, 国家 ...)."""
    if draft.exact or not LEVEL_ASKED.search(query.raw):
        return None
    return None if levels_named(quoted_text(draft)) else "相关段落没有说是哪一级。"


def levels_named(text: str) -> set[str]:
    return {name for name, pattern in LEVEL_PATTERNS.items() if pattern.search(text)}


def level_missing(query: Query, draft: Draft, kit: Toolkit, facts: Facts, hits: list[Hit]) -> str | None:
    """A level of government asked ("残疾人之家每个村都要有吗", "县委书记里女性") that the quoted
    sentences do not name while they name another (各镇(街道), 村党支部): the plan says it of that level."""
    if draft.exact:
        return None
    asked = levels_named(query.raw)
    if draft.kind == "indicator":  # "乡镇党委班子里女干部": the row is of 县（市、区）党委领导班子
        names = row_names(draft)
        said = set().union(*map(levels_named, names)) if names else set()
        if asked and said and not asked & said:
            levels, missing = "、".join(sorted(said)), "、".join(sorted(asked))
            return f"指标表中这一项说的是{levels}一级（{names[0]}），没有说到{missing}。"
        return None
    said = levels_named(quoted_text(draft))
    if not asked or not said or asked & said:
        return None
    return f"相关段落说的是{'、'.join(sorted(said))}一级，没有说到{'、'.join(sorted(asked))}。"


AGE_RANGE = re.compile(r"(\d+)\s*(周?岁|个月)?\s*[-－~～—至到]\s*(\d+)\s*(周?岁|个月)")
SINGLE_AGE = re.compile(r"(?<![\d\-－~～—至到满])(\d+)\s*周?岁(?!\s*(?:以下|以内|之前|前|以上|[-－~～—至到]))")
AGE_BOUND = re.compile(r"(\d+)\s*(周?岁|个月)\s*(以下|以内|之前|前|以上)")
AGE_BOUND_BEFORE = re.compile(r"(未满|不满|年满|满)\s*(\d+)\s*(周?岁|个月)")  # "未满16周岁": under 16


MONTHS = {"岁": 12, "个月": 1}  # a band is compared in months: "6个月到1岁" is no part of "0-6个月"


def age_bands(text: str) -> set[tuple[float, float]]:
    """The age bands a text names, in months: "0-3岁" and "3岁以下" are (0, 36), "16周岁以上" is
    (192, inf), "未满16周岁" is (0, 192), "6个月到1岁" is (6, 12).
    A single age ("15岁的孩子") is not a band: see ages_said."""
    bands = set()
    for m in AGE_RANGE.finditer(text):
        last = MONTHS[m.group(4).lstrip("周")]
        first = MONTHS[m.group(2).lstrip("周")] if m.group(2) else last
        bands.add((int(m.group(1)) * first, float(m.group(3)) * last))
    for m in AGE_BOUND.finditer(text):
        n = int(m.group(1)) * MONTHS[m.group(2).lstrip("周")]
        bands.add((n, float("inf")) if m.group(3) == "以上" else (0, float(n)))
    for m in AGE_BOUND_BEFORE.finditer(text):
        n = int(m.group(2)) * MONTHS[m.group(3).lstrip("周")]
        bands.add((0, float(n)) if m.group(1) in ("未满", "不满") else (n, float("inf")))
    return bands


def ages_said(text: str) -> set[tuple[float, float]]:
    """Bands where one age is a band too: "12岁儿童龋齿患病率" is of 12-year-olds, and the asker's
    "我家闺女14岁" is of a 14-year-old."""
    return age_bands(text) | {(int(n) * 12, (int(n) + 1) * 12.0) for n in SINGLE_AGE.findall(text)}


def age_band_missing(query: Query, draft: Draft, kit: Toolkit, facts: Facts, hits: list[Hit]) -> str | None:
    """An age band asked ("3岁到6岁的小孩") of sentences that name only bands apart from it (0-3岁):
    what the plan says is of other children."""
    if draft.exact:
        return None
    asked = ages_said(query.text)  # "我家闺女14岁 能免费打hpv疫苗不" of 16-18岁: other girls
    if draft.kind == "indicator":  # "3到5岁的蛀牙率" of 12岁儿童龋齿发生率: a row's one age is its band
        said = ages_said(" ".join(row_names(draft)))
        if asked and said and not any(_overlap(a, b) for a in asked for b in said):
            return "指标表中这一项说的是其他年龄段，没有说到这个年龄段。"
        return None
    said = ages_said(quoted_text(draft))
    # refused only when every band asked lies outside every band said (7岁以下 is near 0-6岁)
    if not asked or not said or any(_overlap(a, b) for a in asked for b in said):
        return None
    return "相关段落说的是其他年龄段，没有说到这个年龄段。"


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def money_missing(query: Query, draft: Draft, kit: Toolkit, facts: Facts, hits: list[Hit]) -> str | None:
    """Fees or money asked about ("托儿所收费有没有上限") when the evidence says nothing about money."""
    asked = MONEY.search(query.raw) or FREE_ASKED.search(query.raw)
    if draft.exact or not asked:
        return None
    evidence = evidence_with_chunks(draft)
    if MONEY.search(evidence) or AMOUNT.search(evidence) or re.search(r"免费|买单|自费", evidence):
        return None
    said = "是否免费" if asked.group().isascii() else asked.group()  # the answer is in Chinese
    return f"相关段落没有关于{said}的内容。"


# How a figure is computed ("分母是什么人", "how is the rate calculated"), and what states it: a
# numerator or denominator, a formula column, "×100%".
# "童工怎么算" asks what counts as one, not a computation: "怎么算" only of a rate, a number or a share.
FORMULA_ASKED = re.compile(r"分子|分母|计算方法|计算公式|公式"
                           r"|(?:率|数|比例|比重|指标)[^，。？\s]{0,6}?(?:怎么|咋|如何)(?:计?算)"
                           r"|\bformula\b|\bnumerator\b|\bdenominator\b|\bcalculated\b", re.I)
FORMULA_SAID = re.compile(r"分子|分母|计算方法|计算公式|×\s*100|÷")
POINTER = re.compile(r"^[^。；]{0,30}见附件\s*\d+[。；]?$")  # "上述指标定义与计算方法见附件1。": a pointer only


def formula_missing(query: Query, draft: Draft, kit: Toolkit, facts: Facts, hits: list[Hit]) -> str | None:
    """How a figure is computed, when the evidence gives no formula: a target ("孕早期检测率达70%以上")
    or a pointer ("计算方法见附件1") to an annex the document does not hold says nothing of it."""
    if draft.exact or not FORMULA_ASKED.search(query.raw):
        return None
    if FORMULA_SAID.search(evidence_with_chunks(draft)) and not POINTER.search(quoted_text(draft)):
        return None
    return "相关段落没有给出计算方法。"



# An obligation or a rule for every place asked of a yes/no question ("是不是强制家长必须装", "是不是每个
# 学校都要配"), and the words that state one in the quoted text (a target figure is a requirement too).
MANDATE_ASKED = re.compile(r"强制|必须|一定要|一定得|硬性")
# "避免将感染作为剖宫产指征" answers "是不是一定要剖腹产" (no); "应配尽配" states a duty.
MANDATE_SAID = re.compile(r"强制|必须|应当|严禁|禁止|一律|不得|硬性|确保|应(.)尽\1|避免|不应|不宜|无需|不需|不必"
                          r"|\d\s*[％%‰]")
EVERY_ASKED = re.compile(r"(?:每个|每所|每家|所有)[\u4e00-\u9fff]{0,6}?(?:都要|都得|都必须|都有|都会)")
EVERY_SAID = re.compile(r"每个|每所|每家|所有|全部|均|全覆盖|\d\s*[％%]|各[\u4e00-\u9fff（）、]{0,10}?(?:至少|都|均)")


def mandate_unstated(query: Query, draft: Draft, kit: Toolkit, facts: Facts, hits: list[Hit]) -> str | None:
    """A question whether something is compulsory or required of every place, when the quoted text
    states no such rule ("推行公益性未成年人上网监护软件" is no duty to install it)."""
    if draft.exact or draft.kind in ("indicator", "structure", "document"):
        return None
    quoted = quoted_text(draft)
    for asked, said in ((MANDATE_ASKED, MANDATE_SAID), (EVERY_ASKED, EVERY_SAID)):
        if (m := asked.search(query.raw)) and not said.search(quoted):
            return f"相关段落没有说{m.group()}。"
    return None


DISEASE = re.compile(r"[\u4e00-\u9fff]{2,6}(?:癌|病|症)$")


def disease_unmentioned(query: Query, draft: Draft, kit: Toolkit, facts: Facts, hits: list[Hit]) -> str | None:
    """A disease the user names ("乳腺癌筛查方案里 卵巢癌是怎么筛的") that the evidence does not mention:
    the passage that came nearest is about another disease."""
    if draft.exact:
        return None
    evidence = evidence_with_chunks(draft)
    for term in query.terms:
        if DISEASE.search(term) and term in query.raw and term not in evidence:  # the user's own words
            return f"相关段落没有关于“{term}”的内容。"
    return None


def unit_mismatch(query: Query, draft: Draft, kit: Toolkit, facts: Facts, hits: list[Hit]) -> str | None:
    """"多少人" of a row that is a rate (％): the table gives no count of people."""
    if draft.kind != "indicator" or not draft.rows:
        return None
    if all(not unit_fits(query, r.unit) for r in draft.rows):
        row = draft.rows[0]
        return f"指标表中“{row.name}”的单位是{row.unit or '文字目标'}，没有给出以“{asked_unit(query)}”计的数字。"
    return None


def facet_missing(query: Query, draft: Draft, kit: Toolkit, facts: Facts, hits: list[Hit]) -> str | None:
    """A figure asked for part of a population ("小学生近视率") when the evidence gives only the whole's;
    or any question about a group the plans never mention at all ("留守儿童关爱有啥措施")."""
    if draft.exact:
        return None
    figure = (query.wants_number or query.aspect) and query.intent in (Intent.VALUE, Intent.COUNT)
    evidence = evidence_with_chunks(draft)
    asked = query.raw  # the user's own words: the lexicon's mappings ("村里" -> 农村) are not facets
    if (rural := RURAL_ASKED.search(asked)) and (urban := urban_only(query, draft, kit)):
        return f"相关段落说的是“{urban}”，没有说到{rural.group()}。"  # "农村也要搞10分钟健身圈吗": 城市“…”
    for facet in FACETS:
        wider = any(facet in f and f in asked for f in FACETS if f != facet)  # "小学生" is asked, not "小学"
        if facet not in asked or facet in evidence or wider or (facet in RURAL and "城乡" in evidence):
            continue
        if figure:
            return f"规划没有单列“{facet}”的数字。"
        if not any(facet in kit.corpus.text(d) for d in kit.corpus.documents):
            return f"规划中没有关于“{facet}”的内容。"
    return None


def role_missing(query: Query, draft: Draft, kit: Toolkit, facts: Facts, hits: list[Hit]) -> str | None:
    """A figure asked of a body's head ("居委会主任里女的比例") when the evidence names no such head: the
    plan's figure (居民委员会成员中女性比例) is of its members. Or who the head is ("who chairs the
    committee"), when the evidence says only what the body does."""
    if draft.exact or not (query.wants_number or query.intent == Intent.WHO):
        return None
    evidence, asked = evidence_with_chunks(draft), query.raw.lower()
    for role, words in HEAD_ROLES.items():
        if any(re.search(rf"(?<![a-z]){re.escape(w)}(?![a-z])", asked) for w in words) \
                and not any(w in evidence for w in words):
            return f"规划没有单列{role}的数字。" if query.wants_number else f"相关段落没有说到{role}是谁。"
    return None


URBAN = re.compile(r"城市|城镇|城区|市区")
RURAL_ASKED = re.compile(r"农村|乡村|乡下|村里|村子|农民|\b(?:rural|countryside|villages?)\b", re.I)


def quoted_clauses(draft: Draft) -> list[str]:
    """The quoted text's clauses (split at ，；。): the unit a scope or a figure is stated in."""
    return [c for c in re.split(r"[，；。]", quoted_text(draft)) if c]


def best_clause(query: Query, draft: Draft, kit: Toolkit) -> str | None:
    """The clause of the quote that holds most of what is asked (at least LATER_SENTENCE_MIN of it)."""
    best, held = None, 0.0
    for clause in quoted_clauses(draft):
        cov = kit.coverage(query.grams, clause)
        if cov > held:
            best, held = clause, cov
    return best if held >= T.LATER_SENTENCE_MIN else None


def urban_only(query: Query, draft: Draft, kit: Toolkit) -> str | None:
    """The clause that holds what is asked, when it names a town scope (城市, 城镇) and no rural one:
    a rural question is then answered only for towns. The clause, or None."""
    best = best_clause(query, draft, kit)
    if best is None or not URBAN.search(best):
        return None
    return None if any(w in best for w in (*RURAL, "城乡")) else flat(best)


# "肥胖率", "近视率": a rate named by the two characters before 率 ("多少比例", "死亡的比例" name none).
RATE_ASKED = re.compile(r"((?:(?![的多少几是])[\u4e00-\u9fff]){2})率")


def quantity_missing(query: Query, draft: Draft, kit: Toolkit, facts: Facts, hits: list[Hit]) -> str | None:
    """A number asked of a named rate ("肥胖率要控制在多少") that the quoted text does not name: the
    figures there are of other rates (贫血患病率、龋齿患病率). A table row answers by its name, so this
    reads only text answers; the rate's head is its two characters before 率 ("肥胖", "近视")."""
    if not query.wants_number or draft.exact or draft.kind == "indicator":
        return None
    asked = [m.group(1) for m in RATE_ASKED.finditer(query.text)]
    if not asked:
        return None
    evidence = evidence_text(draft)
    if any(head in evidence for head in asked):
        return None
    return f"规划没有给出“{asked[0]}”方面的数字。"


# A rate named by its own word ("死亡率", "入学率"): the word right before it says which rate ("溺水死亡率").
MEASURE_WORD = re.compile(r"^[\u4e00-\u9fff]{2,}率$")
CJK_WORD = re.compile(r"^[\u4e00-\u9fff]{2,}$")


def qualifier_unnamed(query: Query, draft: Draft, kit: Toolkit, facts: Facts, hits: list[Hit]) -> str | None:
    """A number asked of a qualified rate ("溺水死亡率要控制在多少") answered by rows of that rate whose names
    lack the qualifier (儿童伤害死亡率, 婴儿死亡率): the table has no such row. The qualifier is the
    word right before the rate's own word, and one the plans use elsewhere (溺水 has its measures):
    a word they never use is the asker's own framing ("体质测试合格率", "表里"); a population word
    ("小孩", "女性") says whose rate, which the row's plan already answers."""
    if not query.wants_number or draft.exact or draft.kind != "indicator" or not draft.rows:
        return None
    names = "".join(r.name for r in draft.rows)
    words = tokens(query.text)
    for before, word in zip(words, words[1:]):
        if not MEASURE_WORD.match(word) or word not in names or not CJK_WORD.match(before):
            continue
        if before in GENERIC or STOP_CHARS & set(before) or any(before in p or p in before for p in POPULATIONS):
            continue
        if before not in names and not char_bigrams(before) & char_bigrams(names) \
                and kit.retriever.chunks_using(before) > 0:
            return f"指标表中没有单列“{before}{word}”。"
    return None


# "热线号码多少": a telephone number ("12338", "110"), not a year or a count.
PHONE_ASKED = re.compile(
    r"(?:电话|号码|热线)[^，。？?]{0,4}(?:多少|哪个|是什么|是啥|几号)|(?:打|拨)(?:哪个|什么|啥)电话"
    r"|\b(?:phone number|hotline number|number to call)\b",
    re.I,
)
PHONE_STATED = re.compile(r"(?<![\d.])(?:1\d{2}|\d{5,})(?![\d.]|\s*[年％%‰万人个])")


def number_missing(query: Query, draft: Draft, kit: Toolkit, facts: Facts, hits: list[Hit]) -> str | None:
    """A number asked for when the evidence states none: "要到多少岁" of a row whose 2025 cell is
    "延长". With no year asked, either cell answers ("有多少人参加": the 2020 count)."""
    if not query.wants_number or draft.exact:
        return None
    if draft.kind == "indicator":
        # "目标是多少" of a 提高 row: "提高" is the plan's answer; "2025年目标多少岁" of a 延长 row is not
        # (a direction gives no figure), while "应保尽保" answers "要达到多少万人" (everyone insured)
        unit_asked = bool(TARGET_FIGURE.search(query.raw.lower()))
        if not query.wants_figure and not (unit_asked and all(DIRECTION.match(r.target or "") for r in draft.rows)):
            return None
        cells = [
            c
            for r in draft.rows
            for c in (
                (r.baseline,)
                if query.aspect == "baseline"
                else (r.target,)
                if query.aspect == "target"
                else (r.baseline, r.target)
            )
        ]
        if cells and not any(DIGITS.search(c or "") for c in cells):
            return "指标表中这一项没有给出具体数字。"
        return None
    text = quoted_text(draft)
    if AGE_ASKED.search(query.raw) and AGE.search(text):
        return None  # "月经来得早是指几岁前": an age asked, an age stated
    if phone_stated(query, draft):
        return None  # "维权热线号码是多少": "“12338”…热线"
    count = COUNT_ASKED.search(query.raw)
    if count and count.group(1) != "钱":
        return None  # "要跑几趟" ("最多跑一次"): a count of a unit, judged by count_unit_missing
    if not figures(text):  # "0-3岁" says who, not how much
        return "相关段落没有给出具体数字。"
    return None


COUNT_ASKED = re.compile(rf"(?<!哪)(?:多少|几)\s*([{COUNT_UNITS}]|钱)")  # "哪几项" lists, it does not count


def count_unit_missing(query: Query, draft: Draft, kit: Toolkit, facts: Facts, hits: list[Hit]) -> str | None:
    """ "多少张床位", "多少天": the evidence must state a number with that unit."""
    if draft.exact or draft.kind == "indicator":
        return None
    if query.wants_number and MONEY.search(query.raw) and not AMOUNT.search(quoted_text(draft)):
        return "相关段落没有给出金额。"  # "收费标准是多少", "补贴多少": an amount of money, in 元
    m = COUNT_ASKED.search(query.raw)
    english = None if m else asked_unit(query)  # "how many days of leave"
    if not m and not english:
        return None
    unit = english or ("元" if m.group(1) == "钱" else m.group(1))
    # "几个" is answered by "1家", "几趟" by "一次"
    units = "个家所座名项条" if unit in "个家所座" else "次趟遍" if unit in "次趟遍" else unit
    text = quoted_text(draft)
    if unit == "天" and re.search(r"\d+\s*个?\s*(?:工作日|日)", text):
        return None  # "几天内通知": "5个工作日内"
    if unit == "岁" and AGE.search(text):
        return None  # "几岁前": "<12周岁"
    counted = COUNTED.search(query.raw)  # "要配几个心理咨询师": counselors are counted, not the centres built
    if unit in "个家所座" and EVERY_ONE.search(text) and not TOTAL_ASKED.search(query.raw) \
            and not (counted and counted.group(1) not in text):
        return None  # "心理辅导中心要建几个": "所有县（市、区）均建成…" (one in each), "实现村（社区）全覆盖"
    if not re.search(rf"[\d０-９一二两三四五六七八九十百千万]+\s*(?:[余多]\s*)?[{units}]", text):
        return f"相关段落没有给出具体的数量（多少{m.group(1) if m else unit}）。"
    return None


COUNTED = re.compile(r"(?:几|多少)\s*[个家所座]\s*([\u4e00-\u9fff]{2,})")  # the thing counted, named after the unit
# One in each unit, said without a number: "所有县（市、区）均建成", "各镇（街道）都设有", "实现…全覆盖".
EVERY_ONE = re.compile(r"(?:所有|各|每个|每一个)[^，。；]{0,12}(?:均|都|全部)(?:建成|建有|设有|设立|建立|配备|开设)"
                       r"|全覆盖")
TOTAL_ASKED = re.compile(r"一共|总共|合计|总数|总量|全市共|\b(?:in total|altogether|total)\b", re.I)
CITYWIDE = re.compile(r"全市|\b(?:citywide|city-wide|whole city|across the city)\b", re.I)
RATE_FIGURE = re.compile(r"[％%‰]|/10万")
PER_UNIT = re.compile(r"各|每|所有|均|千名|万名|/10万|\b(?:each|every|per)\b", re.I)


def total_missing(query: Query, draft: Draft, kit: Toolkit, facts: Facts, hits: list[Hit]) -> str | None:
    """A total asked ("全市一共有几家") where every figure the evidence states is per unit
    ("各县（市、区）至少设有1家", "每千名儿童…"): the plan gives no total. A count of the plan's own
    parts is a fact of its tree (exact) and is not judged here."""
    # "全市要建几家", "整个嘉兴有几家": a count of the whole city (the plan's own, read from its title)
    citywide = CITYWIDE.search(query.raw) or any(f"整个{p}" in query.raw for p in facts.places.values() if p)
    citywide_count = query.intent == Intent.COUNT and citywide
    if draft.exact or not query.wants_number or not (TOTAL_ASKED.search(query.raw) or citywide_count):
        return None
    if draft.kind == "indicator":
        names = [r.name for r in draft.rows]
        if names and all(PER_UNIT.search(n) for n in names):
            return f"指标表中这一项是按人口比例计的（{names[0]}），没有给出总数。"
        return None
    stated = count_clauses(draft)
    if stated and all(PER_UNIT.search(c) for c in stated):
        return f"规划写的是“{flat(stated[0])}”，没有给出总数。"
    return None


# "每个县要建几个", "各镇多少家": a count asked of each unit of a level
EACH_UNIT_ASKED = re.compile(
    r"(?:每|各)\s*[个一所家]?\s*(?:县|区|镇|乡|街道|村|社区|学校|医院|幼儿园)"
    r"|\b(?:each|every|per)\s+(?:county|district|town|village|school)\b",
    re.I,
)


def each_missing(query: Query, draft: Draft, kit: Toolkit, facts: Facts, hits: list[Hit]) -> str | None:
    """A count asked of each unit ("观护帮教基地每个县要建几个") where every count the quoted text
    states is of the whole ("新建10个"), none per unit: the plan gives no figure for each. The mirror
    of total_missing."""
    if draft.exact or draft.kind == "indicator" or not query.wants_number or not EACH_UNIT_ASKED.search(query.raw):
        return None
    stated = count_clauses(draft)
    if stated and not any(PER_UNIT.search(c) for c in stated):
        return f"规划写的是“{flat(stated[0])}”，没有给出每一处的数量。"
    return None


DURATION = r"(?:小时|分钟|钟头)"
DURATION_ASKED = re.compile(rf"(?:多少|几)\s*个?\s*{DURATION}")  # "每天要睡够几个小时"
DURATION_STATED = re.compile(rf"\d+(?:\.\d+)?\s*个?\s*{DURATION}")  # "24小时有人接吗", "每天锻炼1小时"


def duration_missing(query: Query, draft: Draft, kit: Toolkit, facts: Facts, hits: list[Hit]) -> str | None:
    """Hours or minutes asked ("几个小时") or stated ("24小时有人接吗") that the quoted text does not
    give: a sentence about the topic is no answer to how long."""
    if draft.exact:
        return None
    text = quoted_text(draft)
    if DURATION_ASKED.search(query.text) and not DURATION_STATED.search(text):
        return "相关段落没有给出具体时长。"
    for m in DURATION_STATED.finditer(query.text):
        stated = re.sub(r"\s|个", "", m.group())
        if stated not in re.sub(r"\s|个", "", text):
            return f"相关段落没有提到“{stated}”。"
    return None


SENTENCE_END = re.compile(r"[。？！?!；;\n]")
CONFIRM = re.compile(r"吗|么|是不是|是否|对不对|对吗|有没有|\b(?:is|are|does|do|will)\b", re.I)


def stated_value_missing(query: Query, draft: Draft, kit: Toolkit, facts: Facts, hits: list[Hit]) -> str | None:
    """A share or decimal the question asks to confirm ("2025年要到30%吗") that the evidence does not
    hold: the plan does not say that figure (a row is cited by its whole line, cells included)."""
    if draft.exact:
        return None
    # only a value the question asks to confirm, in the same sentence as 吗/是不是/对吗: a value told
    # to the assistant ("回答说目标是100％") is not asked about, and must not change what is checked
    stated = [m.group(1) for part in SENTENCE_END.split(query.raw) if CONFIRM.search(part)
              for m in STATED_VALUE.finditer(part)]
    held = {float(n) for n in NUMBER.findall(quoted_text(draft).replace("．", "."))}
    missing = [v for v in stated if float(v) not in held]
    return f"规划没有给出“{missing[0]}”这个数。" if stated and len(missing) == len(stated) else None


CHOICE = re.compile(r"(?:是|^|[，,\s])([^，。？！?!\s是]{1,8}?)还是([^，。？！?!\s]{1,8}?)(?:啊|呢|呀|吧|[？?！!。]|$)")


def choice_missing(query: Query, draft: Draft, kit: Toolkit, facts: Facts, hits: list[Hit]) -> str | None:
    """ "是二价还是九价": a choice between two things the quoted text names neither of (none of
    either's bigrams): the plan does not say which."""
    if draft.exact:
        return None
    m = CHOICE.search(query.raw)
    if not m:
        return None
    quoted = quoted_text(draft)
    have = char_bigrams(quoted)
    if any(_names(o, quoted, have) for o in _distinct(m.group(1), m.group(2))):
        return None
    return f"相关段落没有说是{m.group(1)}还是{m.group(2)}。"


AGENCY_END = "局委厅部办院会联"  # 教育局, 卫健委, 妇联: a body's name is named whole or not at all


def _distinct(one: str, other: str) -> list[str]:
    """The two options without what they share at the end ("教育局牵头还是卫健委牵头" -> 教育局, 卫健委),
    each kept at two characters at least ("每年一次还是两年一次" -> 每年, 两年)."""
    k = 0
    while k < min(len(one), len(other)) - 2 and one[-1 - k] == other[-1 - k]:
        k += 1
    return [one[: len(one) - k], other[: len(other) - k]]


def _names(option: str, quoted: str, have: frozenset[str] | set[str]) -> bool:
    """Does the quoted text name the option? A body by its whole name (教育部 is no 教育局), anything
    else by one of its bigrams."""
    if len(option) >= 3 and option[-1] in AGENCY_END:
        return option in quoted
    return bool(char_bigrams(option) & have) or (len(option) == 1 and option in quoted)


def phone_stated(query: Query, draft: Draft) -> bool:
    """Is the number asked for stated: a number in a clause that names it as the question does
    ("维权热线" asked, "“12338”…热线" quoted)? A hotline is no one's 联系电话."""
    if not PHONE_ASKED.search(query.raw):
        return False
    named = [w for w in ("电话", "热线") if w in query.raw] or ["电话", "热线", "号码"]
    return any(PHONE_STATED.search(c) and any(w in c for w in named) for c in quoted_clauses(draft))


def phone_missing(query: Query, draft: Draft, kit: Toolkit, facts: Facts, hits: list[Hit]) -> str | None:
    """A telephone number asked ("热线号码多少", "打哪个电话") of evidence that states none."""
    if draft.exact or not PHONE_ASKED.search(query.raw):
        return None
    return None if phone_stated(query, draft) else "相关段落没有给出电话号码。"


def time_missing(query: Query, draft: Draft, kit: Toolkit, facts: Facts, hits: list[Hit]) -> str | None:
    """A "when" question whose evidence states no time."""
    if Intent.WHEN not in query.asks[:2] and query.intent != Intent.WHEN or draft.exact:
        return None
    return None if TIME_STATED.search(quoted_text(draft)) else "相关段落没有给出具体时间。"


def support_low(query: Query, draft: Draft, kit: Toolkit, facts: Facts, hits: list[Hit]) -> str | None:
    """The cited evidence is not about what was asked (lexical coverage + dense similarity)."""
    if draft.named or draft.exact:
        return None
    return "" if support_score(query, draft, kit, hits) < support_floor(query) else None


def support_floor(query: Query) -> float:
    """The support a draft needs: more when a number is asked (a number from the wrong passage is the
    worst answer there is)."""
    return T.SUPPORT_MIN_NUMBER if query.wants_number else T.SUPPORT_MIN


def support_score(query: Query, draft: Draft, kit: Toolkit, hits: list[Hit]) -> float:
    """Support of the draft: its citations (with their chunks' full text) against the question."""
    if not query.grams and not query.english:  # an English question without glossary words has its meaning
        return 0.0
    if draft.kind == "indicator":  # a table row is about what its name says: its name, and the name's vector
        evidence = "".join(row_name(c) for c in draft.chunks)
        sims = kit.name_similarities(query)
        cosine = max((sims.get(c.id, 0.0) for c in draft.chunks), default=0.0)
        return kit.support(query.grams, evidence, kit.name_dense(cosine), query.english)
    evidence = evidence_with_chunks(draft)
    dense = dense_of(hits, draft.chunks)
    return kit.support(query.grams, evidence, max(dense, kit.quoted_meaning(query, draft.citations)), query.english)


def dense_of(hits: list[Hit], chunks: list) -> float:
    """The best dense similarity of the hits that are these chunks (0 when none is retrieved)."""
    ids = {c.id for c in chunks}
    return max((h.dense for h in hits if h.chunk.id in ids), default=0.0)


# support_low comes first and is "soft": a draft that is not about the question lets the next
# strategy try. The others are "hard": the draft is about the question and the plan is silent on it.
CHECKS: list[Check] = [
    support_low,
    year_outside,
    other_place,
    level_missing,
    level_unstated,
    age_band_missing,
    baseline_missing,
    baseline_not_in_text,
    money_missing,
    formula_missing,
    mandate_unstated,
    unit_mismatch,
    facet_missing,
    qualifier_unnamed,
    role_missing,
    disease_unmentioned,
    number_missing,
    quantity_missing,
    count_unit_missing,
    total_missing,
    each_missing,
    duration_missing,
    stated_value_missing,
    choice_missing,
    phone_missing,
    time_missing,
]
# Soft too: another strategy may quote the 经费 sentence, or the one of the level or age band asked.
SOFT = {support_low, money_missing, level_missing, level_unstated, age_band_missing, choice_missing, formula_missing}


@dataclass
class Verdict:
    reason: str  # why the plan does not answer ("" when there is no more specific reason)
    soft: bool  # the draft missed the question (try another strategy), not the plan


def refusal_reason(query: Query, draft: Draft, kit: Toolkit, facts: Facts, hits: list[Hit]) -> Verdict | None:
    """The first check that refuses the draft, or None when it stands. Exact drafts (a quote check,
    a fact of the tree or of the notice) are computed from the text itself and pass."""
    if draft.refusal is not None:
        return Verdict(draft.refusal, False)
    if draft.exact:
        return None
    for check in CHECKS:
        reason = check(query, draft, kit, facts, hits)
        if reason is not None:
            return Verdict(reason, check in SOFT)
    return None
