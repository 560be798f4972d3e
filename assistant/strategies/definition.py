"""Definitions: what a term the plan defines means ("两癌", "本规划所称儿童"), found by the shape of
the defining sentence, not by a list of terms."""

from __future__ import annotations

import re
from dataclasses import replace

from assistant import lexicon
from assistant import thresholds as T
from assistant.compose import Draft, Toolkit, flat
from assistant.dialogue import own_grams
from assistant.query import Query
from assistant.strategies.base import Strategy
from assistant.text import char_bigrams
from assistant.types import Chunk, DialogueState, Hit, Intent

# "宫颈癌、乳腺癌（以下简称“两癌”）", "本规划所称儿童是指未满十八周岁的未成年人".
ABBREVIATION = re.compile(r"([^，。；：（）]{2,40}?)[（(]以下简称[“\"]([^”\"]{1,12})[”\"][）)]")
DEFINED_AS = re.compile(
    r"(?:本[\u4e00-\u9fff]{0,3}?所称|所称|所说的?)?([\u4e00-\u9fff“”]{1,12}?)(?:是指|指的是|系指)([^。；]{2,80})"
)
FRAME = re.compile(r"规划里说的|规划里|里说的|说的|所说|什么人|哪些人|什么|啥|意思|是")


class DefinitionStrategy(Strategy):
    name = "definition"

    def __init__(self, kit: Toolkit) -> None:
        super().__init__(kit)
        self.terms = defined_terms(kit)

    def match(self, query: Query, state: DialogueState | None) -> bool:
        return query.intent == Intent.DEFINITION and bool(self.terms)

    def answer(self, query: Query, hits: list[Hit]) -> Draft | None:
        asked = asked_grams(query) | char_bigrams(_quoted(query.raw))
        found = []
        for term, chunk, start, end in self.terms:
            if (query.plans and chunk.plan not in query.plans) or (query.docs and chunk.doc not in query.docs):
                continue
            grams = char_bigrams(term) or {term}
            if term in query.raw or term in query.text:
                covers = len(grams & asked) / len(asked) if asked else 1.0
                if covers >= T.TERM_COVERS or set(grams) <= asked or term in _quoted(query.raw):
                    found.append((chunk, start, end))
        if not found:
            present = [t for t in self.terms if t[0] in query.raw and (not query.plans or t[1].plan in query.plans)]
            if len({t[0] for t in present}) == 1:  # "儿童规划说的儿童 刚满18岁的算不算": the one term it names
                found = [(chunk, start, end) for _, chunk, start, end in present]
        if not found:
            return None
        cites, parts = [], []
        for chunk, start, end in found[:2]:
            cites.append(self.kit.cite(chunk, start, end))
            parts.append(f"{chunk.plan_name}：{flat(cites[-1].quote)}[{len(cites)}]")
        return Draft(
            "\n".join(parts),
            cites,
            "text",
            self.name,
            named=True,
            chunks=[c for c, *_ in found[:2]],
            plans=tuple(dict.fromkeys(c.plan for c, *_ in found[:2])),
        )


def asked_grams(query: Query) -> frozenset[str]:
    """What the question asks to define: its substance without definition cues ("指什么人", "里说的")."""
    text = query.text
    for cue in sorted(lexicon.INTENT_CUES["definition"], key=len, reverse=True):
        text = text.replace(cue, "|")
    text = FRAME.sub("|", text)
    return own_grams(replace(query, text=text))


def _quoted(text: str) -> str:
    return "".join(re.findall(r"[“\"']([^”\"']{1,12})[”\"']", text))


def defined_terms(kit: Toolkit) -> list[tuple[str, Chunk, int, int]]:
    """(term, chunk, start, end) of every defining clause in the text chunks."""
    out = []
    for chunk in kit.chunks:
        if chunk.kind == "indicator":
            continue
        text = kit.corpus.text(chunk.doc)
        body = text[chunk.start : chunk.end]
        for m in ABBREVIATION.finditer(body):
            out.append((m.group(2), chunk, chunk.start + m.start(), chunk.start + m.end()))
        for m in DEFINED_AS.finditer(body):
            term = m.group(1).strip("“”")
            if len(term) >= 2:
                out.append((term, chunk, chunk.start + m.start(), chunk.start + m.end()))
    return out
