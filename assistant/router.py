"""Query + hits -> Answer: the first strategy that drafts an answer, then the refusal step. Pure."""

from __future__ import annotations

import re
from dataclasses import replace

from assistant import thresholds as T
from assistant.compose import Draft, Toolkit, flat
from assistant.dialogue import next_state
from assistant.query import GROUP_GRAMS, Query
from assistant.refusal import (
    REFUSAL,
    Facts,
    Verdict,
    corpus_facts,
    dense_of,
    refusal_reason,
    support_floor,
    support_score,
)
from assistant.strategies import Strategy, make_strategies
from assistant.strategies.indicator import IndicatorValueStrategy, groups_named, names_heading
from assistant.text import names_a_thing
from assistant.types import Answer, Chunk, Citation, DialogueState, Hit, Intent

NEARBY = 2  # passages a refusal quotes as what the plan does say
PASSAGE_KINDS = ("text", "text_target", "measures")  # answers quoted from the running text
TOPIC_INTENTS = (Intent.MEASURES, Intent.STATEMENT, Intent.LIST)  # a topic asked about in general
WORDY = re.compile(r"[\u4e00-\u9fffA-Za-z]")
CJK_TERM = re.compile(r"[\u4e00-\u9fff]+")
MARKER = re.compile(r"\[(\d+)\]")
# A question about a ratio or figure answered by a requirement in words says so first.
RATIO_ASKED = re.compile(r"比例|占比|比重|百分比|百分之|具体数|数字|指标值|\bratio\b|\bpercentage\b|\bshare\b", re.I)
NO_FIGURE = "规划没有规定具体数字，相关要求是：\n"
# Whether the plans say anything of a thing ("婚检规划里有提吗", "提到了吗", "有没有写").
MENTION_ASKED = re.compile(r"有提|提到|提及|提没提|有没有(?:说|写|讲)|写了吗|说了吗|涉及")


class Router:
    """Walks the strategies in order; the first Draft goes through the refusal checks."""

    def __init__(self, kit: Toolkit, strategies: list[Strategy] | None = None) -> None:
        self.kit = kit
        self.strategies = strategies or make_strategies(kit)
        self.facts: Facts = corpus_facts(kit)

    def draft(self, query: Query, state: DialogueState | None, hits: list[Hit]) -> tuple[Draft | None, Verdict | None]:
        """The first draft the refusal step lets stand; else the first draft refused for the plan's
        silence; else the first draft at all (refused as unsupported); (None, None) when none."""
        first: tuple[Draft | None, Verdict | None] = (None, None)
        for strategy in self.strategies:
            if not strategy.match(query, state):
                continue
            found = strategy.answer(query, hits)
            if found is None:
                continue
            verdict = refusal_reason(query, found, self.kit, self.facts, hits)
            if verdict is None:
                return self._both_plans(strategy, query, found, hits), None
            if not verdict.soft:
                return found, verdict
            if first[0] is None:
                first = (found, verdict)
        return first

    def answer(self, query: Query, state: DialogueState | None, hits: list[Hit], top_k: int) -> Answer:
        """The answer to a (resolved) query, or a refusal that quotes what the plan says nearby."""
        query = self._item_as_indicator(query)
        found, verdict = self.draft(query, state, hits)
        audit = self._audit(query, found, verdict, hits)
        if found is None or verdict is not None:
            refused = self.refuse(query, state, found, hits, verdict.reason if verdict else "", top_k)
            refused.context.update(audit)
            return refused
        answerable = True
        if found.kind in PASSAGE_KINDS and query.intent in TOPIC_INTENTS:
            found = self._with_mentions(query, self._with_rows(query, found, hits), hits)
        if RATIO_ASKED.search(query.raw) and found.kind not in ("indicator", "quote_check", "structure", "document") \
                and not any(ch.isdigit() for c in found.citations for ch in c.quote):
            found.text = NO_FIGURE + found.text  # "女高管比例有要求吗": no ratio, but a requirement
        topic = None
        if found.kind == "detail" and found.chunks:  # "最后一个" -> "谁负责": about that item
            topic = found.chunks[0].section.rsplit(" > ", 1)[-1]
        new_state = next_state(query, state, indicators=found.indicators, items=found.items, item=found.item,
                               topic=topic, said="".join(c.quote for c in found.citations))
        return Answer(
            query.raw,
            found.text,
            answerable,
            found.citations,
            hits[:top_k],
            kind=found.kind,
            resolved_question=query.text if query.followup else query.raw,
            context={**found.context, "strategy": found.strategy, **audit},
            state=new_state,
        )

    def _both_plans(self, strategy: Strategy, query: Query, found: Draft, hits: list[Hit]) -> Draft:
        """A question that names no plan and fits both ("艾滋病母婴传播方面规划怎么说"): the other plan's
        answer too, from the same strategy over that plan's passages, when it is nearly as well supported."""
        # a row named in a question that asks whether the plans say anything of it ("婚检规划里有提吗"):
        # the other plan's sentence on it too
        mention = found.kind == "indicator" and bool(MENTION_ASKED.search(query.raw)) and not query.wants_number
        # "两个规划都有提吗": both plans asked by name, so each one's passage is looked for, the row's too
        asked_both = len(query.named_plans) > 1 and not query.plans
        if not asked_both and ((found.kind not in PASSAGE_KINDS and not mention) or query.plans
                               or groups_named(query) or len(self.kit.plan_names) < 2):
            return found
        if found.kind not in PASSAGE_KINDS + ("indicator",):
            return found
        if not (mention or asked_both) and any(names_heading(query, c) for c in found.chunks):
            return found  # "妇幼保健机构能力提升项目依托哪家医院": an item of one plan is named
        mine = support_score(query, found, self.kit, hits)
        meaning = dense_of(hits, found.chunks)
        for plan in self.kit.plan_names:
            if plan in found.plans:
                continue
            scoped = replace(query, plans=(plan,))
            if asked_both and found.kind == "indicator":  # the other plan's mention of the row, not its figure
                scoped = replace(scoped, wants_number=False, wants_figure=False)
            need = min(mine - T.BOTH_PLANS_MARGIN, T.BOTH_PLANS_SURE)
            # the other plan's passage nearer in meaning than the answer, in other words ("锻炼身体" ->
            # "全民健身"): a lower lexical support stands
            passages = [h.dense for h in hits if h.chunk.plan == plan and h.chunk.kind != "indicator"]
            if max(passages, default=0.0) >= meaning or asked_both:
                need = min(need, T.BOTH_PLANS_NEARER)
            theirs = self._other_plans_draft(strategy, scoped, [h for h in hits if h.chunk.plan == plan], hits, need,
                                             any_passage=asked_both)
            if theirs is not None:
                found = merge_drafts(found, theirs)
        return found

    def _with_rows(self, query: Query, found: Draft, hits: list[Hit]) -> Draft:
        """A topic asked about in general ("出生缺陷有什么指标和措施"): the table rows whose names hold all
        of its words follow the text (at most two: more are not the topic's own)."""
        if not query.grams - GROUP_GRAMS:
            return found
        indicator = next(s for s in self.strategies if isinstance(s, IndicatorValueStrategy))
        rows = self.kit.rows_holding(query.grams, list(query.plans or ()) or None, list(query.docs or ()) or None)
        rows = rows or self._row_on_topic(query, hits)
        if not 1 <= len(rows) <= 2 or any(c.start == r.start and c.doc == r.doc for c in found.citations for r in rows):
            return found
        table = indicator.compose(query, rows, [], named=True)  # no text mention: the text is quoted above
        shift = len(found.citations)
        text = MARKER.sub(lambda m: f"[{int(m.group(1)) + shift}]", table.text)
        return replace(found, text=found.text + "\n" + text, citations=found.citations + table.citations,
                       chunks=found.chunks + table.chunks)

    def _with_mentions(self, query: Query, found: Draft, hits: list[Hit]) -> Draft:
        """A topic named by a word that few places of the plans use ("嘉家福", "三色法", "儿童之家"): the
        other retrieved places that use it follow the answer, each with its sentence that does. The
        answer itself uses the word: one it does not ("做到啥程度") frames the question, not its topic."""
        term = self._topic_term(query, found)
        if term is None:
            return found
        kit = self.kit
        shown = {c.id for c in found.chunks}
        quoted = {(c.doc, c.start) for c in found.citations}
        places = []
        for h in hits:
            c = h.chunk
            if c.kind == "indicator" or c.id in shown or (query.plans and c.plan not in query.plans):
                continue
            held = [(kit.coverage(query.grams, kit.text_of(c, *se)), se) for se in kit.sentences(c)
                    if term in kit.text_of(c, *se) and (c.doc, se[0]) not in quoted]
            cover, best = max(held, key=lambda x: x[0], default=(0.0, None))  # the first of equals
            if best is None or cover < T.MENTION_COVERAGE:
                continue
            shown.add(c.id)
            places.append((c, best))
        if not places:
            return found
        places = places[: T.MENTION_PLACES]
        term = _widest(query.text, term, [kit.text_of(c, *se) for c, se in places])
        cites = list(found.citations)
        lines = []
        for c, (s, e) in places:
            cites.append(kit.cite(c, s, e))
            prefix = c.plan_name if len(kit.plan_names) > 1 else ""
            lines.append(f"{prefix}“{c.section.rsplit(' > ', 1)[-1]}”：{flat(cites[-1].quote)}[{len(cites)}]")
        text = found.text + f"\n规划中提到“{term}”的其他地方：\n" + "\n".join(lines)
        return replace(found, text=text, citations=cites, chunks=found.chunks + [c for c, _ in places])

    def _topic_term(self, query: Query, found: Draft) -> str | None:
        """The question's word that the fewest places of the corpus use, when 2 to MENTION_PLACES + 1
        of them do (a word most places use, "行动", names no topic; nor does a verb or a measure word,
        "制止", "左右")."""
        using = {t: self.kit.retriever.chunks_using(t) for t in query.terms}
        unused = [t for t, n in using.items() if n == 0]
        counts = {}
        for term, n in using.items():
            if len(term) < 2 or not CJK_TERM.fullmatch(term) or term not in found.text or not names_a_thing(term):
                continue
            if any(term in t and term != t for t in unused):
                continue  # a part of a word the plans never use ("身体" of "锻炼身体") stands for it poorly
            if 2 <= n <= T.MENTION_PLACES + 1:
                counts[term] = n
        if not counts:
            return None
        return min(counts, key=lambda t: (counts[t], -len(t)))

    def _row_on_topic(self, query: Query, hits: list[Hit]) -> list[Chunk]:
        """The retrieved row about the topic though its name lacks the question's words ("托育这块" ->
        the 托位 row), when its support is near a passage's: its figure belongs with the text."""
        kit = self.kit
        for h in hits[: T.SENTENCE_HITS]:
            c = h.chunk
            if c.kind == "indicator" and c.id in kit.indicators and not kit.indicators[c.id].columns \
                    and (not query.plans or c.plan in query.plans) \
                    and kit.support(query.grams, c.text + c.section, h.dense, query.english) >= T.TOPIC_ROW_MIN:
                return [c]
        return []

    def _other_plans_draft(self, strategy: Strategy, scoped: Query, theirs: list[Hit], hits: list[Hit],
                           need: float, any_passage: bool = False) -> Draft | None:
        """The other plan's passage answer supported at least `need`: from the same strategy, else from
        the later passage strategies (the other plan states it without the figure the first plan's
        sentence has: its figure sentence is about something else). A number asked is answered by
        the same kind of draft only: a figure-less sentence is no answer to it, unless `any_passage`
        (both plans asked by name: what the other one says is asked too)."""
        if any_passage:
            later = [strategy] + [s for s in self.strategies if s is not strategy]
        else:
            later = [strategy] if scoped.wants_number else self.strategies[self.strategies.index(strategy):]
        for other in later:
            if (other is not strategy and not other.match(scoped, None)) or (other.from_hits and not theirs):
                continue
            draft = other.answer(scoped, theirs)
            if draft is None or draft.kind not in PASSAGE_KINDS:
                continue
            if refusal_reason(scoped, draft, self.kit, self.facts, hits) is None and \
                    support_score(scoped, draft, self.kit, hits) >= need:
                return draft
        return None

    def _audit(self, query: Query, found: Draft | None, verdict: Verdict | None, hits: list[Hit]) -> dict:
        """What the refusal step saw, for the eval's trade-off curve: the support score of a draft
        the support check judges (None when it is exempt), and whether a hard check refused it."""
        support = None
        if found is not None and not (found.named or found.exact):
            support = round(support_score(query, found, self.kit, hits), 4)
        # a soft check with a reason of its own (fees the evidence never mentions) is not the support floor
        hard = found is None or (verdict is not None and (not verdict.soft or bool(verdict.reason)))
        return {"support": support, "support_floor": support_floor(query), "hard_refusal": hard}

    def refuse(
        self, query: Query, state: DialogueState | None, found: Draft | None, hits: list[Hit], reason: str, top_k: int
    ) -> Answer:
        """Say the plan does not state it, why, and quote what it does state nearest."""
        cites = self._nearby(query, found, hits)
        lines = [REFUSAL + reason]
        if found is not None and found.kind == "indicator" and found.text:
            lines.append("指标表中列有：" + found.text)  # the row's values, 2020 "－" included
            cites = found.citations
        elif cites:
            lines.append(
                "规划中相关的表述：" + "；".join(f"{self._shown(c)}[{i}]" for i, c in enumerate(cites, 1)) + "。"
            )
        kept = next_state(
            query, state, indicators=found.indicators if found else (), items=(state.items if state else ())
        )
        return Answer(
            query.raw,
            "\n".join(lines),
            False,
            cites,
            hits[:top_k],
            kind="refusal",
            resolved_question=query.text if query.followup else query.raw,
            context={"strategy": found.strategy if found else ""},
            state=kept,
        )

    def _nearby(self, query: Query, found: Draft | None, hits: list[Hit]) -> list[Citation]:
        seen, out = set(), []
        pool = list(found.citations) if found else []
        if not pool:
            pool = [self.kit.cite(c, s, e) for c, s, e, _ in self.kit.best_sentences(query, hits, limit=NEARBY)]
        if not pool:
            pool = [self.kit.cite(h.chunk, *self.kit.sentences(h.chunk)[0]) for h in hits[:NEARBY]]
        for c in pool:
            if not WORDY.search(c.quote):  # a stray "。" or a page number says nothing nearby
                continue
            if (c.doc, c.start, c.end) not in seen:
                seen.add((c.doc, c.start, c.end))
                out.append(c)
        return out[:NEARBY]

    def _shown(self, cite: Citation) -> str:
        """A nearby passage as shown: a table row as its sentence, text in quotation marks."""
        row = next((c for c in self.kit.retriever.indicators if c.doc == cite.doc and c.start == cite.start), None)
        return row.text.rstrip("。") if row is not None else f"“{flat(cite.quote).rstrip('。；')}”"

    def _item_as_indicator(self, query: Query) -> Query:
        """An ordinal into a list of table rows asks for that row's value."""
        chunk = self.kit.by_id.get(query.item or "")
        if chunk is not None and chunk.kind == "indicator":
            return replace(query, item=None, indicators=(chunk.id,), intent=Intent.VALUE)
        return query


def joined(whole: Answer, parts: list[Answer]) -> Answer:
    """The whole question's answer, or, when it leaves out a thing asked that a part's answer gives, the
    parts' answers one after another (each span cited once; the conversation goes on from the whole)."""
    given = [p for p in parts if p.answerable and p.citations]
    spans = {(c.doc, c.start) for c in whole.citations} if whole.answerable else set()
    if len(given) < 2 or all((p.citations[0].doc, p.citations[0].start) in spans for p in given):
        return whole
    citations: list[Citation] = []
    texts = []
    for part in given:
        at = {}
        for n, c in enumerate(part.citations, 1):
            same = next((i for i, d in enumerate(citations, 1) if (d.doc, d.start, d.end) == (c.doc, c.start, c.end)),
                        None)
            if same is None:
                citations.append(c)
                same = len(citations)
            at[n] = same
        texts.append(MARKER.sub(lambda m, at=at: f"[{at.get(int(m.group(1)), int(m.group(1)))}]", part.answer))
    return replace(whole, answer="\n".join(texts), answerable=True, citations=citations, kind=given[0].kind,
                   context={**whole.context, "strategy": "parts", "parts": [p.context.get("strategy") for p in given]})


def merge_drafts(first: Draft, second: Draft) -> Draft:
    """Two drafts as one answer: the second's [n] markers follow the first's citations."""
    shift = len(first.citations)
    text = MARKER.sub(lambda m: f"[{int(m.group(1)) + shift}]", second.text)
    lead = "" if first.text.startswith("两个规划") else "两个规划都写明了这一点。\n"
    return replace(first, text=lead + first.text + "\n" + text, citations=first.citations + second.citations,
                   chunks=first.chunks + second.chunks, items=first.items + second.items,
                   plans=tuple(dict.fromkeys(first.plans + second.plans)))


def _widest(question: str, term: str, texts: list[str]) -> str:
    """The longest run of the question around `term` that every text holds ("阳光" -> "阳光厨房")."""
    at = question.find(term)
    if at < 0:
        return term
    start, end = at, at + len(term)
    while start > 0 and CJK_TERM.match(question[start - 1]) and all(question[start - 1:end] in t for t in texts):
        start -= 1
    while end < len(question) and CJK_TERM.match(question[end]) and all(question[start:end + 1] in t for t in texts):
        end += 1
    return question[start:end]
