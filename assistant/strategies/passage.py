"""Answers from the running text: who is responsible, a stated target, the measures on a topic,
and the sentence fallback. Each quotes the plan's own sentences."""

from __future__ import annotations

from dataclasses import replace

from assistant import thresholds as T
from assistant.compose import WHO_WORDS, Draft, flat
from assistant.query import Query
from assistant.strategies.base import Strategy
from assistant.text import numbers
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
    for plan in plans:
        body = "".join(f"{flat(cites[i].quote)}[{i + 1}]" for i, (c, *_) in enumerate(picked) if c.plan == plan)
        label = picked[[c.plan for c, *_ in picked].index(plan)][0].plan_name
        parts.append(f"{label}：{body}" if len(kit.plan_names) > 1 else body)
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


class ResponsibilityStrategy(Strategy):
    """ "谁负责规划实施": the sentences that name a responsible body."""

    name = "responsibility"

    def match(self, query: Query, state: DialogueState | None) -> bool:
        return query.intent == Intent.WHO

    def answer(self, query: Query, hits: list[Hit]) -> Draft | None:
        return sentence_draft(self, query, self.kit.best_sentences(query, hits, prefer=WHO_WORDS))


class TextTargetStrategy(Strategy):
    """ "产前筛查率要达到多少": the sentence of the text that states the target."""

    name = "text_target"

    def match(self, query: Query, state: DialogueState | None) -> bool:
        return query.intent in (Intent.VALUE, Intent.COUNT, Intent.WHEN)

    def answer(self, query: Query, hits: list[Hit]) -> Draft | None:
        picked = self.kit.best_sentences(query, hits)
        if not picked or not any(numbers(self.kit.text_of(c, s, e)) for c, s, e, _ in picked):
            return None  # no stated figure: the fallback quotes what is said, the refusal step judges it
        return sentence_draft(self, query, picked)


class MeasuresStrategy(Strategy):
    """ "家暴这块规划打算怎么管": the item that is about the topic, its heading and best sentences;
    several items when several are about it."""

    name = "measures"

    def match(self, query: Query, state: DialogueState | None) -> bool:
        return query.intent in (Intent.MEASURES, Intent.LIST)

    def answer(self, query: Query, hits: list[Hit]) -> Draft | None:
        kit = self.kit
        relevant = []
        for h in hits[: T.SENTENCE_HITS]:
            if h.chunk.kind == "indicator" or h.chunk.id in {c.id for c in relevant}:
                continue
            if kit.support(query.grams, h.chunk.text + h.chunk.section, h.dense) >= T.LIST_ITEM_MIN:
                relevant.append(h.chunk)
        if len(relevant) < 2:
            return None
        cites, lines = [], []
        mixed = len({c.plan for c in relevant}) > 1
        for k, chunk in enumerate(relevant[:3]):
            heading = chunk.section.rsplit(" > ", 1)[-1]
            best = kit.best_sentences(
                replace(query, plans=(chunk.plan,)),
                [Hit(chunk, 1.0, dense=_dense(hits, chunk))],
                limit=T.TOP_ITEM_SENTENCES if k == 0 else 1,
                margin=T.TOP_ITEM_MARGIN,
            )
            body = []
            for c, s, e, _ in best:
                cites.append(kit.cite(c, s, e))
                body.append(f"{flat(cites[-1].quote)}[{len(cites)}]")
            prefix = f"{chunk.plan_name}" if mixed or len(kit.plan_names) > 1 else ""
            lines.append(f"{prefix}“{heading}”：{''.join(body)}")
        shown = relevant[:3]
        return Draft(
            "\n".join(lines),
            cites,
            "measures",
            self.name,
            chunks=shown,
            items=tuple(c.id for c in shown),
            plans=tuple(dict.fromkeys(c.plan for c in shown)),
        )


def _dense(hits: list[Hit], chunk: Chunk) -> float:
    return next((h.dense for h in hits if h.chunk.id == chunk.id), 0.0)


class SentenceStrategy(Strategy):
    """The fallback: the sentences that best answer the question, in the plan's words."""

    name = "sentence"

    def match(self, query: Query, state: DialogueState | None) -> bool:
        return True

    def answer(self, query: Query, hits: list[Hit]) -> Draft | None:
        return sentence_draft(self, query, self.kit.best_sentences(query, hits))
