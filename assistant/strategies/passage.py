"""Answers from the running text: who is responsible, a stated target, the measures on a topic,
and the sentence fallback. Each quotes the plan's own sentences."""

from __future__ import annotations

import re
from dataclasses import replace

from assistant import lexicon
from assistant import thresholds as T
from assistant.compose import BODIES, WHO_WORDS, Draft, flat
from assistant.query import Query, has_cue
from assistant.strategies.base import Strategy
from assistant.text import FIGURE, TIME_STATED, figures, numbers
from assistant.types import Chunk, DialogueState, Hit, Intent


def sentence_draft(
    strategy: Strategy, query: Query, picked: list[tuple[Chunk, int, int, float]], kind: str | None = None
) -> Draft | None:
    """The chosen sentences as the answer, grouped by plan when more than one plan speaks."""
    if not picked:
        return None
    kit = strategy.kit
    cites = [kit.cite(c, s, e) for c, s, e, _ in picked]
    plans = list(dict.fromkeys(c.plan for c, *_ in picked))
    parts = []
    part_asked = has_cue(query.raw, lexicon.PART_ASKED)  # "是哪个项目": each plan's passage under its heading
    for plan in plans:
        body = "".join(f"{_subject(c, cites[i].quote)}{flat(cites[i].quote)}[{i + 1}]"
                       for i, (c, *_) in enumerate(picked) if c.plan == plan)
        first = picked[[c.plan for c, *_ in picked].index(plan)][0]
        label = first.plan_name if len(kit.plan_names) > 1 else ""
        if part_asked and first.kind != "indicator":
            label += f"“{first.section.rsplit(' > ', 1)[-1]}”"
        parts.append(f"{label}：{body}" if label else body)
    lead = "两个规划都写明了这一点。\n" if len(plans) > 1 else ""
    chunks = list({c.id: c for c, *_ in picked}.values())
    kind = kind or ("text_target" if any(numbers(c.quote) for c in cites) else "text")
    return Draft(
        lead + "\n".join(parts),
        cites,
        kind,
        strategy.name,
        chunks=chunks,
        item=chunks[0].id,
        plans=tuple(plans),
        context={"score": max(p[3] for p in picked)},
    )


# A duty stated without its subject ("负责为初筛机构转诊的…病例提供乳腺X线检查"): the subject is the
# item's heading ("2.转诊机构"), named before the quote.
SUBJECTLESS = re.compile(r"(?:主要)?(?:负责|承担|协助|配合)")


def _subject(chunk: Chunk, quote: str) -> str:
    heading = chunk.section.rsplit(" > ", 1)[-1]
    return f"“{heading}”" if SUBJECTLESS.match(quote) and chunk.kind != "indicator" else ""


class ResponsibilityStrategy(Strategy):
    """ "谁负责规划实施": the sentences that name a responsible body."""

    name = "responsibility"
    from_hits = True

    def match(self, query: Query, state: DialogueState | None) -> bool:
        return query.intent == Intent.WHO

    def answer(self, query: Query, hits: list[Hit]) -> Draft | None:
        picked = self.kit.best_sentences(query, hits, prefer=WHO_WORDS)
        return sentence_draft(self, query, self._with_lead(picked))

    def _with_lead(self, picked: list[tuple[Chunk, int, int, float]]) -> list[tuple[Chunk, int, int, float]]:
        """Each picked sentence with the one just before it when that one also assigns a duty to a
        body: "各级政府负责规划实施工作。市政府妇儿工委负责…的组织、协调": who answers is both."""
        kit, out = self.kit, []
        taken = {(c.id, s) for c, s, _, _ in picked}
        for c, s, e, score in picked:
            spans = kit.sentences(c)
            before = next((sp for sp, nxt in zip(spans, spans[1:]) if nxt[0] == s), None)
            if before is not None and (c.id, before[0]) not in taken:
                text = kit.text_of(c, *before)
                if WHO_WORDS.search(text) and BODIES.search(text) and not c.section.endswith(text.rstrip("。")):
                    out.append((c, before[0], before[1], score))
                    taken.add((c.id, before[0]))
            out.append((c, s, e, score))
        return out


class TextTargetStrategy(Strategy):
    """ "产前筛查率要达到多少": the sentence of the text that states the target."""

    name = "text_target"
    from_hits = True

    def match(self, query: Query, state: DialogueState | None) -> bool:
        return query.intent in (Intent.VALUE, Intent.COUNT, Intent.WHEN)

    def answer(self, query: Query, hits: list[Hit]) -> Draft | None:
        picked = self.kit.best_sentences(query, hits, only=FIGURE)  # the sentences that state a figure
        if not picked:
            return None  # no stated figure: the fallback quotes what is said, the refusal step judges it
        return sentence_draft(self, query, picked)


class WhenStrategy(Strategy):
    """ "配置规划要在啥时候之前报上去备案": the sentence that states a time or a time limit."""

    name = "when"
    from_hits = True

    def match(self, query: Query, state: DialogueState | None) -> bool:
        return query.intent == Intent.WHEN

    def answer(self, query: Query, hits: list[Hit]) -> Draft | None:
        return sentence_draft(self, query, self.kit.best_sentences(query, hits, only=TIME_STATED))


class MeasuresStrategy(Strategy):
    """ "家暴这块规划打算怎么管": the item most about the topic, its heading and its text; then other
    items (the other plan's first) that are nearly as much about it, each with its best sentence."""

    name = "measures"
    from_hits = True

    def match(self, query: Query, state: DialogueState | None) -> bool:
        return query.intent in (Intent.MEASURES, Intent.LIST)

    def answer(self, query: Query, hits: list[Hit]) -> Draft | None:
        kit = self.kit
        scored, seen = [], set()
        for h in hits[: T.SENTENCE_HITS]:
            if h.chunk.kind == "indicator" or h.chunk.id in seen:
                continue
            seen.add(h.chunk.id)
            scored.append((kit.support(query.grams, h.chunk.text + h.chunk.section, h.dense, query.english), h.chunk))
        if not scored:
            return None
        scored.sort(key=lambda x: -x[0])
        top_score, top = scored[0]
        others = [c for score, c in scored[1:] if score >= max(T.LIST_ITEM_MIN, top_score - T.MEASURES_MARGIN)]
        others.sort(key=lambda c: c.plan == top.plan)  # the other plan's item first
        cites: list = []
        lines = [self._line(query, top, hits, cites, whole=True)]
        # the other plan's own item on the topic ("打拐": 妇女规划 4．and 儿童规划 12．) is shown as fully
        twin = next((c for c in others if c.plan != top.plan), None)
        for chunk in others[: T.MAX_LIST - 1]:
            lines.append(self._line(query, chunk, hits, cites, whole=chunk is twin))
        shown = [top] + others[: T.MAX_LIST - 1]
        return Draft("\n".join(lines), cites, "measures", self.name, chunks=shown,
                     items=tuple(c.id for c in shown), plans=tuple(dict.fromkeys(c.plan for c in shown)))

    def _line(self, query: Query, chunk: Chunk, hits: list[Hit], cites: list, whole: bool) -> str:
        """An item's heading and its text: when whole, its first sentences and the later one that holds
        most of the question ("…检测率保持在98％以上", an item's 6th); else its best sentence."""
        kit = self.kit
        heading = chunk.section.rsplit(" > ", 1)[-1]
        sents = [se for se in kit.sentences(chunk) if kit.text_of(chunk, *se).rstrip("。") != heading.rstrip("。")]
        if whole and sents:
            shown, rest = sents[: T.TOP_ITEM_SENTENCES], sents[T.TOP_ITEM_SENTENCES :]
            later = kit.later_sentences(query.grams, chunk, rest, counts_stated(query.raw))
            near = kit.nearest_sentence(query, chunk, rest)
            later = sorted(set(later) | {near}) if near else later
            figure = self._figure_sentence(query, chunk, rest, later)
            later = sorted(later + [figure]) if figure else later
            spans = [(shown[0][0], shown[-1][1]), *later]
        else:
            best = kit.best_sentences(replace(query, plans=(chunk.plan,)), [Hit(chunk, 1.0, dense=_dense(hits, chunk))],
                                      limit=2)
            # the item's own heading ("2．加强近视防控。") is already shown: its next-best sentence instead
            best = [b for b in best if kit.text_of(chunk, b[1], b[2]).rstrip("。") != heading.rstrip("。")]
            if not best:
                return ""
            top = max(best, key=lambda b: b[3])  # best_sentences gives them in text order
            spans = [(top[1], top[2])]
            figure = self._figure_sentence(query, chunk, sents, spans)
            spans = sorted(spans + [figure]) if figure else spans
        quoted = []
        for s, e in spans:
            cites.append(kit.cite(chunk, s, e))
            quoted.append(f"{flat(cites[-1].quote)}[{len(cites)}]")
        prefix = chunk.plan_name if len(kit.plan_names) > 1 else ""
        return f"{prefix}“{heading}”：" + "……".join(quoted)


    def _figure_sentence(self, query: Query, chunk: Chunk, spans: list[tuple[int, int]],
                         taken: list[tuple[int, int]]) -> tuple[int, int] | None:
        """The first of `spans` not already `taken` that states a figure and holds LATER_FIGURE_MIN of the
        question: a requirement stated as a figure ("…检测率保持在98％以上") is a measure too."""
        kit = self.kit
        return next((se for se in spans if se not in taken and figures(kit.text_of(chunk, *se))
                     and kit.coverage(query.grams, kit.text_of(chunk, *se)) >= T.LATER_FIGURE_MIN), None)


STATED_COUNT = re.compile(r"(\d+)\s*([类级期度档])")  # "报了4类", "3级": a class the question names


def counts_stated(raw: str) -> tuple[str, ...]:
    """The classes a question states by number ("4类"), whitespace removed."""
    return tuple(m.group(1) + m.group(2) for m in STATED_COUNT.finditer(raw))


def _dense(hits: list[Hit], chunk: Chunk) -> float:
    return next((h.dense for h in hits if h.chunk.id == chunk.id), 0.0)


class SentenceStrategy(Strategy):
    """The fallback: the sentences that best answer the question, in the plan's words."""

    name = "sentence"
    from_hits = True

    def match(self, query: Query, state: DialogueState | None) -> bool:
        return True

    def answer(self, query: Query, hits: list[Hit]) -> Draft | None:
        return sentence_draft(self, query, self.kit.best_sentences(query, hits, limit=T.FALLBACK_SENTENCES))
