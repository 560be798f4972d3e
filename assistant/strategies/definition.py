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
DEFINED_WORDS = ("是指", "指的是", "系指")  # DEFINED_AS matches only text holding one of them
# Names of a plan as a document ("儿童规划", "妇女发展规划"), not its group of people ("儿童").
_TITLES = [w for w in lexicon.PLAN_NAMING if "规划" in w or "plan" in w.lower()]
PLAN_TITLES = re.compile("|".join(re.escape(w) for w in sorted(_TITLES, key=len, reverse=True)) or "(?!)", re.I)
FRAME = re.compile(r"规划里说的|规划里|里说的|说的|所说|什么人|哪些人|什么|啥|意思|是")


class DefinitionStrategy(Strategy):
    name = "definition"

    def __init__(self, kit: Toolkit) -> None:
        super().__init__(kit)
        self.terms = defined_terms(kit)

    def match(self, query: Query, state: DialogueState | None) -> bool:
        return query.intent == Intent.DEFINITION and bool(self.terms)

    def _standalone(self, term: str, raw: str) -> bool:
        """The term is asked by itself somewhere in the question, not as the start of a longer phrase
        the plan uses: "规划说的儿童 刚满18岁的算不算" asks about 儿童; "儿童友好城市是什么意思" does not."""
        text = PLAN_TITLES.sub("|", raw)  # "儿童规划说的儿童": the plan's name is not the term
        known = self.kit.retriever.idf  # the corpus's bigrams: no scan of the corpus per question
        return any(not _continues(text, term, m.start(), known) for m in re.finditer(re.escape(term), text))

    def answer(self, query: Query, hits: list[Hit]) -> Draft | None:
        asked = asked_grams(query) | char_bigrams(_quoted(query.raw))
        found = []
        for term, chunk, start, end in self.terms:
            if (query.plans and chunk.plan not in query.plans) or (query.docs and chunk.doc not in query.docs):
                continue
            grams = char_bigrams(term) or {term}
            said = query.raw if term in query.raw else query.text
            if term in said and self._standalone(term, said):
                covers = len(grams & asked) / len(asked) if asked else 1.0
                if covers >= T.TERM_COVERS or set(grams) <= asked or term in _quoted(query.raw):
                    found.append((chunk, start, end))
        if not found:
            present = [t for t in self.terms if self._standalone(t[0], query.raw)
                       and (not query.plans or t[1].plan in query.plans)]
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


def _continues(text: str, term: str, at: int, known) -> bool:
    """Does the term at `at` run on into a longer phrase of the plan ("儿童" in "儿童友好城市")? Its
    last character and the next, and the next two, are both bigrams the corpus has (童友, 友好)."""
    rest = text[at + len(term) :]
    if rest.startswith("是") or any(rest.startswith(cue) for cue in lexicon.INTENT_CUES["definition"]):
        return False  # "儿童是指多大的": a definition asked of the term, not a longer phrase
    after = rest[:2]
    return (len(after) == 2 and bool(re.fullmatch(r"[\u4e00-\u9fff]{2}", after))
            and term[-1] + after[0] in known and after in known)


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
        # each pattern only where its literal words are: the regexes are slow to fail (100 plans: 1.3 s)
        for m in ABBREVIATION.finditer(body) if "以下简称" in body else ():
            out.append((m.group(2), chunk, chunk.start + m.start(), chunk.start + m.end()))
        for m in DEFINED_AS.finditer(body) if any(w in body for w in DEFINED_WORDS) else ():
            term = m.group(1).strip("“”")
            if len(term) >= 2:
                out.append((term, chunk, chunk.start + m.start(), chunk.start + m.end()))
    return out
