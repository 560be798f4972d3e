"""What every answer strategy needs: exact citations, sentences, and the support measure. Pure.

`Toolkit` is built once per Assistant from the corpus and the retriever's chunks; strategies and
refusal checks share it. A citation is always `corpus_text[start:end]`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant import lexicon
from assistant import thresholds as T
from assistant.corpus import Corpus
from assistant.retrieve import Retriever
from assistant.sentences import SentenceVectors
from assistant.structure import TITLE_NOTE, unnumbered
from assistant.targets import NameIndex, row_name
from assistant.text import TIME_STATED, char_bigrams, figures, numbers, sentence_spans
from assistant.types import Chunk, Citation, Hit, Indicator, Intent, plan_kind

TOTALS_KEPT = 256  # questions' total bigram weights remembered (Toolkit._weight); a bound, not a tuning


@dataclass
class Draft:
    """A candidate answer from one strategy, before the refusal step judges it."""

    text: str
    citations: list[Citation]
    kind: str  # "indicator" | "text_target" | "text" | "measures" | "detail" | "document" | "structure" | "quote_check"
    strategy: str = ""
    named: bool = False  # the question names its target outright (an indicator, a section): support is given
    exact: bool = False  # a fact of the document's structure or a quote check: no support check applies
    chunks: list[Chunk] = field(default_factory=list)  # the chunks the citations come from
    indicators: tuple[str, ...] = ()
    items: tuple[str, ...] = ()
    item: str | None = None
    plans: tuple[str, ...] = ()
    rows: list[Indicator] = field(default_factory=list)  # the indicator rows answered
    context: dict = field(default_factory=dict)
    refusal: str | None = None  # the strategy itself found the plan silent (a reason, in Chinese)


def title_words(plans: dict[str, tuple]) -> dict[str, frozenset[str]]:
    """Words that name a plan by its topic ("宫颈癌筛查工作方案": 宫颈, 颈癌): bigrams of its title that
    no other plan's title has and that its own text uses far more than the other plans' texts do.
    Plans the lexicon names (妇女规划, 儿童规划 and their everyday forms) get none: there "妇女" or
    "儿童" in a question is the population asked about, not the document."""
    grams = {k: char_bigrams(TITLE_NOTE.sub("", p.title)) for k, (_, p) in plans.items()}
    texts = {k: d.text[p.start : p.end] for k, (d, p) in plans.items()}
    out = {}
    for key, mine in grams.items():
        if plan_kind(key) in lexicon.PLAN_SWITCH:
            out[key] = frozenset()
            continue
        others = set().union(*(g for k, g in grams.items() if k != key)) if len(grams) > 1 else set()
        words = set()
        for g in mine - others - lexicon.TITLE_FRAME_GRAMS:
            own = texts[key].count(g)
            rest = sum(t.count(g) for k, t in texts.items() if k != key)
            if own >= 3 and rest <= T.TITLE_WORD_SHARE * own:
                words.add(g)
        out[key] = frozenset(words)
    return out


class Toolkit:
    """Citations, sentences and support scores over one corpus and its chunks."""

    def __init__(self, corpus: Corpus, retriever: Retriever, names: NameIndex | None = None,
                 sentences: SentenceVectors | None = None) -> None:
        self.corpus = corpus
        self.retriever = retriever
        self.names = names
        self.sentence_vectors = sentences
        self.chunks = retriever.chunks
        self.by_id = {c.id: c for c in self.chunks}
        self._by_doc: dict[str, list[Chunk]] = {}  # each document's chunks, in chunk order
        for c in self.chunks:
            self._by_doc.setdefault(c.doc, []).append(c)
        self.indicators: dict[str, Indicator] = {}
        self.plans = {}
        for doc in corpus.documents.values():
            for plan in doc.plans:
                self.plans[plan.key] = (doc, plan)
                for ind in plan.indicators:
                    self.indicators[f"{doc.doc}/{plan.key}/table/{ind.number}"] = ind
        self.plan_names = {key: plan.name for key, (_, plan) in self.plans.items()}
        self.plan_by_key = {key: plan for key, (_, plan) in self.plans.items()}
        self.title_words = title_words(self.plans)
        self._totals: dict[frozenset[str], float] = {}  # see _weight

    # ---- citations -------------------------------------------------------------------------------

    def cite(self, chunk: Chunk, start: int, end: int) -> Citation:
        text = self.corpus.text(chunk.doc)
        return Citation(
            plan=chunk.plan_name, section=chunk.section, quote=text[start:end], start=start, end=end, doc=chunk.doc
        )

    def cite_span(self, doc: str, plan_name: str, section: str, start: int, end: int) -> Citation:
        return Citation(
            plan=plan_name, section=section, quote=self.corpus.text(doc)[start:end], start=start, end=end, doc=doc
        )

    def sentences(self, chunk: Chunk) -> list[tuple[int, int]]:
        if chunk.kind == "indicator":
            return [(chunk.start, chunk.end)]
        return sentence_spans(self.corpus.text(chunk.doc)[chunk.start : chunk.end], chunk.start)

    def text_of(self, chunk: Chunk, start: int, end: int) -> str:
        return self.corpus.text(chunk.doc)[start:end]

    def rows_holding(self, grams: frozenset[str], plans: list[str] | None = None,
                     docs: list[str] | None = None) -> list[Chunk]:
        """Rows whose names hold all of these bigrams ("死亡率": 孕产妇死亡率, 婴儿死亡率, 儿童伤害死亡率).

        The names' inverted index sums, per row, the weight of the bigrams its name holds: only the rows
        within rounding of the share are scored here (a long question shares a bigram with thousands of rows)."""
        least = T.ROWS_ALL_WORDS * self._weight(grams) * (1 - 1e-9)  # a bound, with room for rounding
        return [c for c in self.retriever.rows_holding(grams, least, plans, docs)
                if self.coverage(grams, row_name(c)) >= T.ROWS_ALL_WORDS]

    def later_sentences(self, grams: frozenset[str], chunk: Chunk, spans: list[tuple[int, int]],
                        stated: tuple[str, ...] = ()) -> list[tuple[int, int]]:
        """Of an item's later sentences, the one(s) holding most of `grams` (at least LATER_SENTENCE_MIN),
        in text order: "…检测率保持在98％以上" is an item's 6th sentence. A sentence that holds a count
        the question states ("报了4类": "4类或5类者…") and some of its words holds all of it."""
        def held_by(se: tuple[int, int]) -> float:
            text = self.text_of(chunk, *se)
            flat_text, held = re.sub(r"\s+", "", text), self.coverage(grams, text)
            return 1.0 if held and any(s in flat_text for s in stated) else held  # a bare "0类3类" is no sentence

        held = sorted(((held_by(se), se) for se in spans), key=lambda x: -x[0])
        return sorted(se for cov, se in held[: T.LATER_SENTENCES] if cov >= T.LATER_SENTENCE_MIN)

    def nearest_sentence(self, query, chunk: Chunk, spans: list[tuple[int, int]]) -> tuple[int, int] | None:
        """Of an item's sentences, the one nearest the question in meaning, when it is near enough
        (LATER_MEANING_MIN, scaled): "喂养上怎么说" -> "…提倡人工喂养", in words the question lacks."""
        if self.sentence_vectors is None or not query.vector or not spans:
            return None
        cosines = self.sentence_vectors.cosines(query.vector, [(chunk.doc, s, e) for s, e in spans])
        scale = self.dense_scaled_english if query.english else self.dense_scaled
        best = max(((scale(c), se) for c, se in zip(cosines, spans) if c is not None), default=None)
        return best[1] if best is not None and best[0] >= T.LATER_MEANING_MIN else None

    def doc_chunks(self, doc: str) -> list[Chunk]:
        """One document's chunks in chunk order (a scan of one document, not of the corpus)."""
        return self._by_doc.get(doc, [])

    def chunk_at(self, doc: str, offset: int) -> Chunk | None:
        """The text chunk holding an offset (a table row when no text chunk does)."""
        inside = [c for c in self.doc_chunks(doc) if c.start <= offset < c.end]
        return next((c for c in inside if c.kind != "indicator"), inside[0] if inside else None)

    def name_similarities(self, query) -> dict[str, float]:
        """Cosine of the question to each indicator name (empty without a name index or a vector)."""
        return self.names.similarities(list(query.vector) if query.vector else None) if self.names else {}

    # ---- support -----------------------------------------------------------------------------------

    def coverage(self, grams: frozenset[str] | set[str], text: str) -> float:
        """IDF-weighted share of `grams` present in `text`.

        The work is the smaller of the two sets: the question's total weight is summed once per
        question (a 2,000-character question has ~1,500 bigrams, and rows are many at scale)."""
        if not grams:
            return 0.0
        w = self.retriever.weight
        return sum(w(g) for g in grams & char_bigrams(text)) / self._weight(grams)

    def _weight(self, grams: frozenset[str] | set[str]) -> float:
        """Total IDF weight of `grams`, remembered for a frozenset (a Query's grams) as summed the first time."""
        if not isinstance(grams, frozenset):
            return sum(self.retriever.weight(g) for g in grams)
        total = self._totals.get(grams)
        if total is None:
            if len(self._totals) >= TOTALS_KEPT:
                self._totals.clear()
            total = self._totals[grams] = sum(self.retriever.weight(g) for g in grams)
        return total

    @staticmethod
    def name_dense(cosine: float) -> float:
        """A name cosine on the passage-cosine scale: names sit higher (short query-to-query pairs)."""
        return cosine - (T.NAME_MEANT_MIN - T.DENSE_FLOOR)

    @staticmethod
    def dense_scaled(cosine: float, floor: float = T.DENSE_FLOOR) -> float:
        return min(1.0, max(0.0, (cosine - floor) / (T.DENSE_CEIL - floor)))

    @staticmethod
    def dense_scaled_english(cosine: float) -> float:
        """The same for an English question: cross-lingual cosines sit lower (0.83-0.88 for the right passage)."""
        return Toolkit.dense_scaled(cosine, T.DENSE_FLOOR_ENGLISH)

    def known_coverage(self, grams: frozenset[str] | set[str], text: str) -> float:
        """Coverage over the bigrams the corpus has at all: "我女儿今年上高一" chatter that no passage
        could contain does not count against the passage that answers."""
        known = {g for g in grams if g in self.retriever.idf}
        return self.coverage(known, text) if known else 0.0

    def support(self, grams: frozenset[str], evidence: str, dense: float, english: bool = False) -> float:
        """How well evidence answers a question: lexical coverage and dense similarity, combined.
        An English question's bigrams come from the glossary only, so its meaning weighs more."""
        if english:
            scaled = self.dense_scaled_english(dense)
            return T.LEXICAL_WEIGHT_ENGLISH * self.coverage(grams, evidence) + (1 - T.LEXICAL_WEIGHT_ENGLISH) * scaled
        lexical = self.known_coverage(grams, evidence)
        return T.LEXICAL_WEIGHT * lexical + (1 - T.LEXICAL_WEIGHT) * self.dense_scaled(dense)

    # ---- sentence choice -----------------------------------------------------------------------------

    def best_sentences(
        self,
        query,
        hits: list[Hit],
        limit: int = 2,
        prefer: re.Pattern | None = None,
        margin: float = T.SECOND_SENTENCE_MARGIN,
        only: re.Pattern | None = None,
    ) -> list[tuple[Chunk, int, int, float]]:
        """The sentences of the top hits that best answer the query, best first (then in text order)."""
        scored = []
        for rank, hit in enumerate(hits[: T.SENTENCE_HITS]):
            if hit.chunk.kind == "indicator":
                continue
            heading = hit.chunk.section.rsplit(" > ", 1)[-1]
            for s, e in self.sentences(hit.chunk):
                sent = self.text_of(hit.chunk, s, e)
                if only is not None and not only.search(sent):
                    continue
                score = (
                    T.SENTENCE_OWN * self.coverage(query.grams, sent)
                    + T.SENTENCE_SECTION * self.coverage(query.grams, hit.chunk.section)
                    + T.SENTENCE_DENSE * self.dense_scaled(hit.dense)
                    - T.SENTENCE_RANK_STEP * rank
                )
                if sent.rstrip("。") == heading:
                    score -= T.HEADING_PENALTY  # a heading alone ("（一）儿童近视防控项目。") rarely answers
                score += sentence_bonus(query, sent, prefer)
                scored.append((hit.chunk, s, e, score))
        scored = self._with_meaning(query, scored)
        scored.sort(key=lambda x: -x[3])
        best = scored[:1]
        held = self.coverage(query.grams, self.text_of(*best[0][:3])) if best else 0.0
        for cand in scored[1:]:
            if len(best) >= limit:
                break
            if cand[0].id == best[0][0].id and cand[3] >= best[0][3] - margin:
                best.append(cand)
            elif cand[0].plan == best[0][0].plan and cand[3] >= best[0][3] - T.OTHER_ITEM_MARGIN and \
                    self.coverage(query.grams, self.text_of(*cand[:3])) >= held:
                best.append(cand)  # another item says it as fully ("儿童之家" in two items): both
        best.sort(key=lambda x: x[1])
        if best and query.plans is None and len(self.plan_names) > 1:
            # The same statement in the other plan ("市政府妇儿工委负责…" is in both): give both.
            top = max(b[3] for b in best)
            twin = next((c for c in scored if c[0].plan != best[0][0].plan and c[3] >= top - T.TWIN_MARGIN), None)
            if twin is None:
                twin = next((c for c in scored if c[0].plan != best[0][0].plan and c[3] >= top - T.PARALLEL_TWIN_MARGIN
                             and parallel_sections(c[0], best[0][0])), None)
            if twin is not None:  # and, as for the first plan, its chunk's next best sentences within the margin
                more = [c for c in scored if c[0].id == twin[0].id and c is not twin and c[3] >= twin[3] - margin]
                best += sorted([twin] + more[: max(0, limit - 1)], key=lambda x: x[1])
        return best

    def quoted_meaning(self, query, citations: list[Citation]) -> float:
        """The highest cosine of the question to a cited sentence (0 without sentence vectors)."""
        if self.sentence_vectors is None or not query.vector or not citations:
            return 0.0
        cosines = self.sentence_vectors.cosines(query.vector, [(c.doc, c.start, c.end) for c in citations])
        return max((x for x in cosines if x is not None), default=0.0)

    def _with_meaning(self, query, scored: list[tuple[Chunk, int, int, float]]) -> list[tuple[Chunk, int, int, float]]:
        """Each sentence's score plus how close it is in meaning to the question (its own vector's
        cosine, when the sentence vectors and the question's vector are there)."""
        if self.sentence_vectors is None or not query.vector or not scored:
            return scored
        cosines = self.sentence_vectors.cosines(query.vector, [(c.doc, s, e) for c, s, e, _ in scored])
        scale = self.dense_scaled_english if query.english else self.dense_scaled
        return [(c, s, e, score + (T.SENTENCE_MEANING * scale(cos) if cos is not None else 0.0))
                for (c, s, e, score), cos in zip(scored, cosines)]

    def text_mention(self, ind: Indicator, hits: list[Hit]) -> Citation | None:
        """A clause of the running text that states this indicator with a number, if retrieved."""
        core = indicator_core(ind.name)
        for hit in hits[: T.SENTENCE_HITS]:
            if hit.chunk.kind == "indicator" or hit.chunk.plan != ind.plan:
                continue
            text = self.corpus.text(hit.chunk.doc)
            for s, e in self.sentences(hit.chunk):
                for cs, ce in clauses(text, s, e):
                    clause = text[cs:ce]
                    # "1．婚前医学检查率稳步提高" states no figure: an item number is not one.
                    if core in clause and numbers(ITEM_LEAD.sub("", clause.replace(core, ""))):
                        return self.cite(hit.chunk, cs, ce)
        return None


ITEM_LEAD = re.compile(r"^\s*(?:[（(]\d{1,3}[)）]|\d{1,3}[．.、](?!\d))")
WHO_WORDS = re.compile(r"负责|牵头|主体责任|协调|组织|指导|督促|承担|报送")
# A body named as who acts: a "谁" question's answer names one (卫生计生行政部门, 妇儿工委, 县级政府).
BODIES = re.compile(r"部门|委员会|工委|政府|[卫健]委|我委|机构|局|厅|妇联|团体|单位")
# A sentence a when-question prefers: a time or time limit, or a phase ("中期和终期评估").
WHEN_WORDS = re.compile(TIME_STATED.pattern + "|期间|中期|终期")
DEFINES = re.compile(r"是指|所称|简称|以下简称|包括|即|指的是|含")


def parallel_sections(a: Chunk, b: Chunk) -> bool:
    """Are two chunks of different documents under the same heading in each one's own words
    ("六、女性间隔多长时间做一次乳腺癌筛查？" and "七、…宫颈癌筛查？")? Numbering and each document's
    title words are set aside."""
    def own(chunk: Chunk) -> frozenset[str]:
        heading = unnumbered(chunk.section.rsplit(" > ", 1)[-1])
        return frozenset(char_bigrams(heading)) - frozenset(char_bigrams(chunk.plan_name))
    x, y = own(a), own(b)
    return len(x) >= 3 and len(y) >= 3 and len(x & y) / len(x | y) >= T.PARALLEL_HEADING_MIN


def sentence_bonus(query, sent: str, prefer: re.Pattern | None = None) -> float:
    """What a sentence gains for holding what the intent asks for (a number, a date, a body)."""
    bonus = 0.0
    if (query.wants_number or query.intent in (Intent.VALUE, Intent.COUNT)) and figures(sent):
        bonus += T.BONUS_FIGURE
    if query.intent == Intent.WHEN and WHEN_WORDS.search(sent):
        bonus += T.BONUS_TIME
    if query.intent == Intent.WHO and WHO_WORDS.search(sent):
        bonus += T.BONUS_BODY
    if query.intent == Intent.WHO and BODIES.search(sent):
        bonus += T.BONUS_BODY
    if query.intent == Intent.DEFINITION and DEFINES.search(sent):
        bonus += T.BONUS_DEFINES
    if prefer is not None and prefer.search(sent):
        bonus += T.BONUS_PREFERRED
    if query.head and query.head in sent:
        bonus += T.BONUS_HEAD
    if AGE_OF_ASKER.search(query.raw) and AGE_BAND_STATED.search(sent):
        bonus += T.BONUS_AGE_BAND  # "我今年30 能参加吗": who is covered is said by an age band
    return bonus


# The asker's own age ("我今年30", "孩子8岁了", "I'm 30") and a band a sentence covers ("35-64周岁").
AGE_OF_ASKER = re.compile(r"(?:今年|已经|刚满|才)\s*\d{1,2}(?!\d)|\d{1,2}\s*周?岁了|\b(?:i'?m|aged?)\s*\d{1,2}\b", re.I)
AGE_BAND_STATED = re.compile(r"\d+\s*(?:周?岁)?\s*[-－~～—至到]\s*\d+\s*周?岁|\d+\s*周?岁(?:以下|以上|以内)")


def clauses(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Clauses of a sentence, split at "，" (the unit a target is stated in)."""
    out, pos = [], start
    for m in re.finditer(r"[，。；]", text[start:end]):
        out.append((pos, start + m.end() - (1 if m.group() == "，" else 0)))
        pos = start + m.end()
    if pos < end:
        out.append((pos, end))
    return [(s, e) for s, e in out if e > s]


def indicator_core(name: str) -> str:
    """An indicator name without its unit: "婚前医学检查率（％）" -> "婚前医学检查率"."""
    return name.rsplit("（", 1)[0] if name.endswith("）") else name


def fmt_value(value: str, unit: str) -> str:
    """ ">85" + "％" -> ">85％"; "延长" stays as it is; "<7" + "1/10万" -> "<7（1/10万）"."""
    if not re.fullmatch(r"[<>＜＞≥≤]?\d+(?:\.\d+)?", value) or not unit:
        return value
    if unit in ("％", "‰", "%") or ("/" not in unit and len(unit) <= 2):
        return value + unit
    return f"{value}（{unit}）"


def flat(text: str) -> str:
    """A quote as shown inline: no line breaks (table cells and wrapped lines)."""
    return re.sub(r"\s*\n\s*", "", text)
