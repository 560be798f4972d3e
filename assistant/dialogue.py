"""Follow-ups resolved against a typed dialogue state. Pure.

A follow-up overrides the slots it mentions and keeps the rest: "那2020年呢" keeps the indicator
and changes the year; "儿童规划有类似的吗" keeps the topic and changes the plan; "女生的呢" keeps
the topic and narrows it; "倒数第二个" picks from the last list shown; "有没有具体数字" keeps the
topic and asks for a number. A question with content of its own starts afresh.
"""

from __future__ import annotations

import re
from dataclasses import replace

from assistant import lexicon
from assistant import thresholds as T
from assistant.query import Query, asks_number, at_ordinal, key_grams, key_terms, with_text
from assistant.text import char_bigrams
from assistant.types import DialogueState, Intent

PLAN_NAME_WORDS = re.compile("|".join(map(re.escape, lexicon.PLAN_NAMING)), re.I)
ENGLISH_FOLLOWUP_WORDS = 5  # "And in 2020?", "What about the children's plan?"
TOPIC_LEADS = ("那", "那么", "what about", "how about", "and ")
# What a question of each intent asks, added to a new topic that brings no question words of its own.
ASK_PHRASE = {Intent.VALUE: "目标是多少", Intent.COUNT: "有多少", Intent.WHO: "由谁负责", Intent.WHEN: "什么时候",
              Intent.MEASURES: "有哪些措施", Intent.LIST: "有哪些", Intent.DEFINITION: "指什么"}
NUMBER_INTENTS = (Intent.VALUE, Intent.COUNT)  # a follow-up that keeps asking a value keeps asking a number
YEAR_WORDS = re.compile(r"(?:19|20)\d\d\s*年?")
# An age band kept whole as a focus ("5岁以下的呢": not the bare "以下", which every band has).
AGE_BAND = re.compile(r"\d+\s*(?:[-－~～至到]\s*\d+\s*)?(?:个月|周?岁)(?:以下|以上|以内)?")


def own_grams(query: Query) -> frozenset[str]:
    """The question's substance once plan names and follow-up words are cut out."""
    text = PLAN_NAME_WORDS.sub("|", query.text)
    for word in lexicon.ANAPHORA:
        if not word.isascii():
            text = text.replace(word, "|")
    text = YEAR_WORDS.sub("|", text)
    for word in lexicon.COLUMN_WORDS:  # "计算公式呢": another cell of the same row
        text = text.replace(word, "|")
    return key_grams(text) - query.named_grams  # "那乳腺癌筛查呢": the plan's own name asks nothing


def looks_like_followup(query: Query) -> bool:
    """Would this question lean on an earlier turn if there were one? ("那2020年呢", "第三个")."""
    low = query.raw.strip().lower()
    if query.quote or any(w in low for w in lexicon.NEW_TOPIC):
        return False
    if query.ordinal is not None:
        return True
    if query.english:  # English content words are not bigrams: a long question stands on its own
        return low.startswith(lexicon.FOLLOWUP_LEADS) or len(re.findall(r"[a-z]+", low)) <= ENGLISH_FOLLOWUP_WORDS
    grams = own_grams(query)
    leans = (
        low.startswith(lexicon.FOLLOWUP_LEADS)
        or low.rstrip("？?。 ").endswith("呢")
        or any(w in low for w in lexicon.ANAPHORA if not w.isascii())
        or any(re.search(rf"\b{re.escape(w)}\b", low) for w in lexicon.ANAPHORA if w.isascii())
    )
    return len(grams) <= 1 or (leans and len(grams) <= T.FOLLOWUP_MAX_GRAMS) or replaces_topic(query)


def _short(query: Query) -> bool:
    """Few words of its own and no quotation: a question the last answer's words may be all of."""
    return len(own_grams(query)) <= T.FOLLOWUP_MAX_GRAMS and not query.quote


def may_lean(query: Query) -> bool:
    """Could this question lean on the turn before it? A follow-up, or a short question that may be in
    the last answer's words (replaying a conversation goes back past it)."""
    return looks_like_followup(query) or _short(query)


def about_what_was_said(query: Query, state: DialogueState) -> bool:
    """"覆盖率要达到多少" right after an answer that quotes 筛查覆盖率: a short question all of whose words
    the last answer said asks about that answer's topic, not afresh."""
    grams = own_grams(query)
    return bool(grams) and _short(query) and not query.english and grams <= char_bigrams(state.said)


def replaces_topic(query: Query) -> bool:
    """"那孕产妇死亡率呢？" after a target question: a new topic, asked the same way."""
    low = query.raw.strip().lower()
    return low.startswith(TOPIC_LEADS) and low.rstrip("？?。 ").endswith(("呢", "?")) and not query.quote


def resolve(query: Query, state: DialogueState | None) -> Query:
    """The query made self-contained against the state; a fresh question passes through."""
    if state is None or not (state.topic or state.items):
        return query
    by_words = not looks_like_followup(query)  # a follow-up only by being in the last answer's words
    if by_words and not about_what_was_said(query, state):
        return query
    intent = query.intent if query.intent not in (Intent.STATEMENT, Intent.DETAIL) else (state.intent or query.intent)
    if replaces_topic(query) and len(own_grams(query)) > T.FOLLOWUP_MAX_GRAMS:
        own_ask = query.intent not in (Intent.STATEMENT, Intent.DETAIL)
        text = query.text if own_ask else f"{_rest(query)} {ASK_PHRASE.get(intent, '')}".strip()
        return with_text(query, text, followup=True, intent=intent, plans=query.plans or state.plans,
                         aspect=query.aspect or state.aspect)
    if query.ordinal is not None and any(w in query.text for w in lexicon.STRUCTURE_NOUNS["domain"]):
        # "第三个领域里有哪些指标": the ordinal counts the plan's domains, not the rows or items last shown
        return replace(query, followup=True, plans=query.plans or state.plans)
    if state.items and query.intent in NUMBER_INTENTS and any(w in query.raw.lower() for w in lexicon.ALL_OF_THEM):
        # "它们2020年分别是多少" after a list of rows: each listed row's value (the strategy keeps the rows)
        return replace(query, followup=True, indicators=state.items[: T.MAX_LIST_ROWS],
                       plans=query.plans or state.plans, aspect=query.aspect or state.aspect)
    if (item := at_ordinal(state.items, query.ordinal)) is not None:
        asked = query.intent in (Intent.WHO, Intent.VALUE, Intent.COUNT, Intent.WHEN)
        wanted = query.intent if asked else Intent.DETAIL
        return replace(query, followup=True, item=item, intent=wanted, plans=query.plans or state.plans)
    if (picked := at_ordinal(state.indicators, query.ordinal)) is not None:
        return replace(
            query, followup=True, indicators=(picked,), intent=Intent.VALUE, aspect=query.aspect or state.aspect
        )
    topic = state.topic
    plans = query.plans or state.plans
    if query.named_plans:  # "那儿童规划呢？": the same topic in the named plan
        topic = PLAN_NAME_WORDS.sub("", topic).strip() or topic
        plans = query.named_plans
    rest = _rest(query)
    focus = _focus(rest) if own_grams(query) and not by_words else ()  # words the answer said narrow nothing
    swapped = _swap_population(topic, focus)
    if swapped is not None:  # "婴儿的呢" after 孕产妇死亡率: the topic with the other people, no narrowing
        topic, focus, rest = swapped, (), ""
    text = f"{topic} {rest}".strip() if rest else topic
    aspect = query.aspect or (state.aspect if not query.years else None)
    if query.years and not query.aspect:
        aspect = "baseline" if "2020" in query.years else "target" if "2025" in query.years else None
    keeps_rows = intent in (Intent.VALUE, Intent.COUNT, Intent.STATEMENT) and not focus and swapped is None
    return with_text(
        query,
        text,
        followup=True,
        plans=plans,
        intent=intent,
        aspect=aspect,
        focus=focus,
        indicators=state.indicators if keeps_rows else (),
        # the composed question's cues: "5岁以下儿童的呢" after 婴儿死亡率是多少 still asks a number
        wants_number=query.wants_number or (intent in NUMBER_INTENTS and asks_number(text))
        or (keeps_rows and bool(state.indicators)),
    )


def _focus(rest: str) -> tuple[str, ...]:
    """The words a follow-up narrows the topic by: its age bands whole, then its content words."""
    bands = tuple(m.group().replace(" ", "") for m in AGE_BAND.finditer(rest))
    words = key_terms(PLAN_NAME_WORDS.sub("", AGE_BAND.sub("|", rest)))
    return bands + tuple(t for t in words if t not in lexicon.ANAPHORA)


def _swap_population(topic: str, focus: tuple[str, ...]) -> str | None:
    """The topic with the follow-up's people in place of its own, when the follow-up names only
    people and the topic names other people; None otherwise ("女生的呢" narrows 高中阶段毛入学率)."""
    if len(focus) != 1 or focus[0] not in lexicon.POPULATIONS:
        return None
    new = focus[0]
    old = next((p for p in sorted(lexicon.POPULATIONS, key=len, reverse=True)
                if p in topic and p not in new and new not in p), None)
    return topic.replace(old, new) if old else None


def _rest(query: Query) -> str:
    """What a follow-up adds, without its lead word ("那", "还有") and trailing particle."""
    text = query.text.strip()
    for lead in sorted(lexicon.FOLLOWUP_LEADS, key=len, reverse=True):
        if text.lower().startswith(lead):
            text = text[len(lead) :]
            break
    return text.strip(" ？?。呢")


def next_state(
    query: Query,
    state: DialogueState | None,
    *,
    indicators: tuple[str, ...] = (),
    items: tuple[str, ...] = (),
    item: str | None = None,
    topic: str | None = None,
    said: str = "",
) -> DialogueState:
    """The state after answering `query`: its slots replace the old ones; a list lives until replaced.
    `topic` replaces the question's text when the answer was about one item ("最后一个" -> its heading)."""
    previous = state or DialogueState()
    return DialogueState(
        topic=(topic or query.text)[:300],
        plans=query.plans,
        docs=query.docs,
        indicators=indicators
        or (previous.indicators if query.followup and not query.focus and query.item is None else ()),
        items=items or previous.items,
        item=item or query.item,
        aspect=query.aspect,
        intent=query.intent if query.intent != Intent.DETAIL else previous.intent,
        said=said[: T.SAID_CHARS],
    )
