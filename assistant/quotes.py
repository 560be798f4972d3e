"""Check a trainer's quotation against the plan text: exact, differs (and where), or not found. Pure."""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from difflib import SequenceMatcher

import numpy as np

from assistant.corpus import Corpus
from assistant.limits import check_deadline
from assistant.text import PUNCT, char_bigrams, sentence_spans

# Outer quotation marks first, so "“…‘一条龙’…”" yields the whole passage, not the inner word.
QUOTED = [re.compile(p) for p in (r"“([^“”]{4,})”", r"「([^「」]{4,})」", r"『([^『』]{4,})』",
                                      r'"([^"]{4,})"', r"‘([^‘’]{4,})’", r"'([^']{4,})'")]
SAYS = re.compile(r"(?:是不是说|是否说|是否提到|有没有说|有没有提到|写着|原文是|是不是写)[：:，,]?\s*"
                  r"(.{6,}?)[？?吗呢。]*$")
# A quotation is checked when the question asks whether the plan says it, or is mostly the quotation.
# Words that ask whether a passage is right, wherever they stand (shared by the patterns below).
CHECK_WORDS = (r"有出入|出入|依据|出处|出自|没说错|说错|写错|有误|核实|核对|确认|属实|可靠|靠谱|原文|原话|原句|"
               r"confirm|verify|genuine|real quote|actually (?:in|from)|"
               r"in the (?:\w+'s )?plan|from the (?:\w+'s )?plan")
VERIFY = re.compile(r"是不是|是否|对吗|对不对|吗[？?]?$|原文|这么写|这样写|这句话|确实|真的|有没有|写了|写着|提到过|"
                    r"说过|准确|" + CHECK_WORDS + "|"
                    r"is it|\bsays?\b|\bsaid\b|\btrue\b|verbatim|correct|accurate", re.I)
# A passage pasted after a verifying frame and a colon: "核对引文：…", "PPT上这句对不对：…".
FRAMED = re.compile(r"^(?P<frame>[^：:]{1,60}?)[：:]\s*(?P<quote>.{6,}?)[。？?！!\s]*$")
FRAME_CUE = re.compile(r"核对|原文|原话|是不是|对不对|对吗|在规划里|规划里有|引文|这句|这段|这话|准确|写着|写的|"
                       r"课件|PPT|ppt|幻灯片|材料|讲稿|check|verify|true|accurate|slide|"
                       r"verbatim|quote|really|" + CHECK_WORDS, re.I)
# A passage followed by the question whether it is the plan's: "…，是原文吗？".
SUFFIXED = re.compile(r"^(?P<quote>.{8,}?)[，,。\s]*(?:这句话?|这段话?)?"
                      r"(?:是不是(?:规划)?(?:原文|原话)|是(?:规划)?(?:原文|原话)吗|"
                      r"对不对|对吗|是这么写的吗|原文是这样吗|规划里有这句吗|在规划里吗|有这句话吗)[？?。！!]*$")
ENGLISH_SAYS = re.compile(r"(?:is it (?:true|accurate|correct|right)(?: that)?|does|did)\s+the\s+"
                          r"(?:\w+'s\s+)?plan\s+(?:really\s+)?"
                          r"(?:say|state|write|contain)s?(?: that)?[:,]?"
                          # "does the plan say anything about …" asks about a topic, not a passage
                          r"(?!\s*(?:anything|something|much|a lot|about|what|how|whether|if)\b)"
                          r"\s*(?P<quote>.{6,}?)[?？.]*$", re.I)
# A passage, a comma, and a short tail asking whether it is the plan's: "…，这是规划里的原话吗？".
TAILED = re.compile(r"^(?P<quote>.{8,})[，,。\s—-]+(?P<tail>[^，,。\s]{1,12})$")
TAIL_CUE = re.compile(r"原文|原话|原句|对不对|对吗|没错吧|没问题吧|对吧|是吧|准确吗|这么写|这样写|有这句|有这个说法|"
                      r"规划里有吗|规划里的吗|" + CHECK_WORDS + "|"
                      r"is (?:that|this|it) (?:right|correct|accurate|true)|verbatim|word for word", re.I)
# Who says it, before the passage: "PPT上写的…", "培训材料里说…", "规划中提到…".
LEAD_FRAME = re.compile(r"^.{0,14}?(?:上写的是|里写的是|上写的|里写的|中写的|写的是|写着|写了|说的是|里说|上说|中说|"
                        r"说|提到|称)"
                        r"[：:，,]?\s*")
BARE = re.compile(r"^(?P<quote>[^？?]{14,})[？?]$")
# Anything that makes the text a question of its own, not a pasted statement.
ASKING = re.compile(r"吗|呢|吧|么|嘛|要|是否|是不是|有没有|能不能|可不可以|会不会|哪|几|谁|啥|咋|多少|多久|多长|"
                    r"多大|多高|"
                    r"何|怎|什么|如何|为啥|[a-zA-Z]")
QUESTION_WORDS = re.compile(r"多少|哪些|什么|怎么|如何|为什么|谁|几[个项条家]")
# Quotation marks differ between a trainer's slide and the plan (‘一肩挑’ / “一肩挑”): compare them as one.
QUOTE_CHARS = str.maketrans({c: '"' for c in "“”‘’「」『』\"'"})
MEASURE = set("家个所项岁人名次天万元％‰%")
DIFFERS_MIN = 0.6  # similarity above which a near passage is "the same sentence, differently worded"
# Alignment work above which a check aligns with SequenceMatcher's autojunk, in quote characters x
# source characters of the candidate windows. Without autojunk the alignment is quadratic or worse,
# and on a long quote it loses its way: 1,990 characters near the plan text took 12 s (23.7 s
# under load) over 28 windows, and found 0.86 only because one window started mid-quote (0.25 in
# those that start earlier: a stray 9-character match pulls the quote's start onto the extra text).
# With autojunk (characters in over 1% of the quote are not used to anchor a match) the same
# quote aligns 30 windows in 0.8 s, at 0.89. Autojunk only acts on quotes of 200+ characters, and
# below this budget (about 500 characters; 0.2 s) nothing changes: verdicts on normal quotes are as before.
ALIGN_BUDGET = 12_000_000
CANDIDATES = 30  # windows aligned, of those sharing the most bigrams with the quote


@dataclass
class QuoteCheck:
    verdict: str  # "exact" | "differs" | "not_found"
    quote: str
    doc: str = ""
    start: int = 0
    end: int = 0
    ratio: float = 0.0
    diffs: list[tuple[str, str]] = field(default_factory=list)  # (quoted, source) pairs


def extract_quote(question: str) -> str | None:
    """The passage in a question that asks whether the plan says it: quoted, pasted after a
    verifying frame ("核对引文：…"), or followed by one ("…，是原文吗？"); its frame trimmed off."""
    found = _extract(question.strip())
    return _trim(found) if found else None


def _trim(passage: str) -> str:
    """A passage without the frame words a pattern left at its ends: "确认一下，规划写的是…",
    "规划里真有“…”这个说法", "…，规划是这么说的", "…——"."""
    p = passage.strip().strip("—-－ ")
    inner = [m.group(1) for pattern in QUOTED for m in pattern.finditer(p)]
    if inner and len(longest := max(inner, key=len)) >= 0.6 * len(p):
        return longest.strip()
    while (m := re.match(r"^([^，,：:]{1,16})[，,：:]\s*", p)) and _is_frame(m.group(1)) \
            and len(p) - m.end() >= STATEMENT_MIN:
        p = p[m.end() :]
    while (m := re.search(r"[，,。；;—]+\s*([^，,。；;—]{1,16})$", p)) and _is_frame(m.group(1)) \
            and m.start() >= STATEMENT_MIN:
        p = p[: m.start()]
    return LEAD_FRAME.sub("", p, count=1) if len(LEAD_FRAME.sub("", p, count=1)) >= STATEMENT_MIN else p


def _is_frame(segment: str) -> bool:
    """A clause that talks about the passage ("规划是这么说的", "确认一下", "培训稿"), not part of it."""
    return bool(FRAME_CUE.search(segment) or TAIL_CUE.search(segment) or VERIFY.search(segment)
                or re.search(r"规划|稿|材料|课件|文件", segment) and len(segment) <= 8)


def _extract(q: str) -> str | None:
    m = FRAMED.match(q)
    if m and FRAME_CUE.search(m.group("frame")) and _statement(m.group("quote")):
        quote = m.group("quote")
        tail = TAILED.match(quote)
        if tail and TAIL_CUE.search(tail.group("tail")):  # "…，没问题吧？": the check, not the passage
            quote = tail.group("quote")
        return _unquote(quote)
    found = [m.group(1).strip() for p in QUOTED for m in p.finditer(q)]
    if found:
        quote = max(found, key=len)
        rest = len(q) - len(quote)
        if VERIFY.search(q.replace(quote, "")) or (len(quote) >= 8 and rest <= len(quote) * 0.5):
            return quote
    m = SAYS.search(q)
    if m:
        return m.group(1).strip()
    m = TAILED.match(q)
    if m and TAIL_CUE.search(m.group("tail")) and _statement(m.group("quote")):
        return _unquote(LEAD_FRAME.sub("", m.group("quote"), count=1))
    for pattern in (SUFFIXED, ENGLISH_SAYS):
        m = pattern.match(q)
        if m and _statement(m.group("quote")):
            return _unquote(LEAD_FRAME.sub("", m.group("quote"), count=1))
    m = BARE.match(q)  # a pasted statement with only a question mark: "所有助产机构实现…最多跑一次？"
    if m and _statement(m.group("quote")) and not ASKING.search(m.group("quote")):
        return m.group("quote")
    return _framed_statement(q)


# The frame around a bare statement must ask about the passage itself; "有没有" or "是不是" alone
# ask about the topic ("孩子在学校被同学欺负 学校是不是必须要上报").
# "有啥说法" asks what the plan says of a topic; "这个说法" is a passage.
CHECKING = re.compile(CHECK_WORDS + r"|对不对|对吗|没错吧|对吧|是吧|这么说|这样说|这么写|这样写|(?<![啥么些何])说法|"
                      r"这句|这段|"
                      r"引用|引文|准确|is (?:that|this|it) (?:right|correct|accurate|true)|\bquote\b|\bsays?\b", re.I)
SEGMENT = re.compile(r"[：:，,。？?！!；;—\s]+")
STATEMENT_MIN = 10  # characters: a passage worth checking, not a topic ("托育服务")


def _framed_statement(q: str) -> str | None:
    """The general form the patterns above miss: a statement (a run of clauses with no question
    words, STATEMENT_MIN+ characters) and, around it, a frame that asks whether it is right
    ("…，这个说法有依据吗", "我讲课时说…，没说错吧", "Can you confirm the plan says …?")."""
    cuts = [(m.start(), m.end()) for m in SEGMENT.finditer(q)]
    bounds = [0] + [e for _, e in cuts]
    ends = [s for s, _ in cuts] + [len(q)]
    parts = [(b, e) for b, e in zip(bounds, ends) if e > b]
    best: tuple[int, int] | None = None
    i = 0
    while i < len(parts):
        if not _plain(q[parts[i][0] : parts[i][1]]):
            i += 1
            continue
        j = i
        while j + 1 < len(parts) and _plain(q[parts[j + 1][0] : parts[j + 1][1]]):
            j += 1
        span = (parts[i][0], parts[j][1])
        if best is None or span[1] - span[0] > best[1] - best[0]:
            best = span
        i = j + 1
    if best is None:
        return None
    passage = q[best[0] : best[1]]
    frame = q[: best[0]] + "|" + q[best[1] :]
    if len(re.sub(r"\W", "", passage)) < STATEMENT_MIN or not CHECKING.search(frame):
        return None
    return _unquote(LEAD_FRAME.sub("", passage, count=1))


def _plain(segment: str) -> bool:
    """A clause that states, in Chinese: no question word, no English frame ("the plan says")."""
    return bool(re.search(r"[\u4e00-\u9fff]", segment)) and not ASKING.search(re.sub(r"[\d%％.]", "", segment))


def _statement(text: str) -> bool:
    """A pasted passage states something; a question ("…是多少") is not checked as a quotation."""
    return len(text.strip()) >= 6 and not QUESTION_WORDS.search(text)


def _unquote(text: str) -> str:
    text = text.strip().rstrip("。？?！!")
    pairs = {"“": "”", '"': '"', "「": "」", "『": "』", "‘": "’", "'": "'"}
    if len(text) > 2 and text[0] in pairs and text[-1] == pairs[text[0]] and text.count(text[0]) == 1:
        return text[1:-1]
    return text


def _fold(ch: str) -> str:
    """One character in a comparable form: NFKC ("％" and "%", "（" and "(" compare equal)."""
    folded = unicodedata.normalize("NFKC", ch)
    return folded if len(folded) == 1 else ch


def _squash(text: str) -> tuple[str, np.ndarray]:
    """Text without whitespace, folded and with quotation marks unified, and each kept character's
    offset: one translate() over the text's distinct characters and one mask, not a loop per character."""
    table: dict[int, str | None] = {}
    for ch in set(text):
        if ch.isspace():
            table[ord(ch)] = None
        else:
            kept = _fold(ch).translate(QUOTE_CHARS)
            if kept != ch:
                table[ord(ch)] = kept
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    blank = np.array(sorted(k for k, v in table.items() if v is None), dtype=np.uint32)
    return text.translate(table), np.flatnonzero(~np.isin(codes, blank)).astype(np.int32)  # a file < 2 GB


# A document's sentence as a local id in the low bits of a (bigram, sentence) key: a bigram is two
# 21-bit code points, so 2 x 21 + 21 bits fit an int64.
SENTENCE_BITS = 21
SLICE = 1 << 20  # keys read back at a time when the postings are built
POSITIONS_KEPT = 16  # documents whose squashed-text offsets are kept (a quote's windows are in a few)


class QuoteIndex:
    """Every sentence of a corpus with its bigrams as ids, and each bigram's sentences (postings), built
    once per corpus: a quotation is compared only with the sentences that share a bigram with it, so
    the work follows the quotation's bigrams and their frequency, not the size of the corpus."""

    def __init__(self, corpus: Corpus) -> None:
        self.docs = list(corpus.documents.values())
        self.flat: list[str] = []  # each document's squashed text (its offsets: positions)
        self._positions: OrderedDict[int, np.ndarray] = OrderedDict()
        # A bigram is a pair of code points, coded as one integer; char_bigrams' bigrams of a sentence
        # are the pairs of consecutive characters once PUNCT is removed, computed for a whole document at once.
        punct = np.array(sorted(ord(c) for c in PUNCT), dtype=np.int64)
        doc_of, starts, ends, sizes, pairs = [], [], [], [], []
        mask = (1 << SENTENCE_BITS) - 1
        for k, d in enumerate(self.docs):
            flat, kept_at = _squash(d.text)
            self.flat.append(flat)
            spans = np.array(sentence_spans(d.text), dtype=np.int64).reshape(-1, 2)
            if len(spans) > mask:
                raise ValueError(f"{d.doc}: {len(spans)} sentences, more than a quote index holds")
            text = np.frombuffer(d.text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.int64)
            at = np.flatnonzero(~np.isin(text, punct))
            sid = np.searchsorted(spans[:, 0], at, side="right") - 1
            inside = (sid >= 0) & (at < spans[np.maximum(sid, 0), 1])
            at, sid = at[inside], sid[inside]
            pair = sid[:-1] == sid[1:]
            # each (bigram, sentence of this document) once, as one sorted int64: bigram << 21 | sentence
            pairs.append(np.unique((text[at[:-1][pair]] << 21 | text[at[1:][pair]]) << SENTENCE_BITS | sid[:-1][pair]))
            doc_of.append(np.full(len(spans), k, dtype=np.int64))
            starts.append(spans[:, 0])
            ends.append(spans[:, 1])
            sizes.append(np.searchsorted(kept_at, spans[:, 1]) - np.searchsorted(kept_at, spans[:, 0]))
        join = (lambda parts: np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64))  # noqa: E731
        self.doc_of, self.starts, self.ends = join(doc_of), join(starts), join(ends)
        stride = max(len(self.starts), 1)  # a key is bigram id x stride + sentence
        # The distinct bigrams (few: thousands) are the vocabulary; a bigram's id is its rank. The
        # postings are the (id, sentence) keys of every document, sorted in place: one array of the
        # distinct pairs, read back in slices, so that at 100x the seed corpus the build holds about
        # two arrays of its 2M pairs at a time (the QuoteIndex is built while the app serves).
        self.codes = np.unique(join([np.unique(p >> SENTENCE_BITS) for p in pairs]))
        keys = np.empty(sum(len(p) for p in pairs), dtype=np.int64)
        pos, first_sentence = 0, 0
        for k, p in enumerate(pairs):
            ids = np.searchsorted(self.codes, p >> SENTENCE_BITS)
            keys[pos : pos + len(p)] = ids * stride + (p & mask) + first_sentence
            pos += len(p)
            first_sentence += len(starts[k])
            pairs[k] = None  # freed as it is copied
        keys.sort()
        self.post = np.empty(len(keys), dtype=np.int32)  # bigram g's sentences, ascending: post[gptr[g]:gptr[g+1]]
        counts = np.zeros(max(len(self.codes), 1), dtype=np.int64)
        for i in range(0, len(keys), SLICE):
            part = keys[i : i + SLICE]
            self.post[i : i + len(part)] = part % stride
            counts += np.bincount(part // stride, minlength=len(counts))
        del keys
        self.gptr = np.concatenate([[0], np.cumsum(counts)])
        total = len(self.starts)
        self.cum = np.concatenate([[0], np.cumsum(join(sizes))])  # non-blank characters before each sentence
        last = np.zeros(len(self.docs), dtype=np.int64)
        np.maximum.at(last, self.doc_of, np.arange(total))
        self.last = last[self.doc_of]  # each sentence's document's last sentence
        self.first = np.full(len(self.docs), total, dtype=np.int64)  # each document's first sentence
        np.minimum.at(self.first, self.doc_of, np.arange(total))

    def positions(self, k: int) -> np.ndarray:
        """The offsets in document k's text of its squashed characters. Made again when asked (a quote
        is checked against a few documents), not kept for all: at 100 documents they were 24 MB."""
        found = self._positions.get(k)
        if found is None:
            found = _squash(self.docs[k].text)[1]
            self._positions[k] = found  # a dict: threads at worst make one twice
            while len(self._positions) > POSITIONS_KEPT:
                self._positions.pop(next(iter(self._positions)), None)
        return found

    def bigram_ids(self, q: str) -> list[int]:
        """Ids of the quote's bigrams the corpus has, ascending."""
        asked = np.array(sorted({ord(g[0]) << 21 | ord(g[1]) for g in char_bigrams(q)}), dtype=np.int64)
        at = np.searchsorted(self.codes, asked)
        found = at < len(self.codes)
        found[found] = self.codes[at[found]] == asked[found]
        return sorted(at[found].tolist())

    def windows(self, q: str, n: int) -> list[tuple[int, int, int]]:
        """(document index, start, end) of the n windows sharing the most bigrams with q, best first.

        A window is a sentence alone, or the run from a sentence just long enough for the quote
        (a quotation often spans two sentences: "…85％以上。孕产妇…"; compared with one sentence
        only, a single changed word would make it "not found"). Ties keep document order, a
        sentence alone before its run.

        A run's count is the number of the quote's bigrams found anywhere in it, counted for every
        run at once from the bigrams' postings: an occurrence of a bigram in sentence p counts for
        the runs that start after the bigram's previous occurrence and reach p. The work is the
        quote's bigrams' occurrences, not the corpus's sentences times the quote's length."""
        ids = self.bigram_ids(q)
        total = len(self.starts)
        if not ids or not total:
            return []
        at = np.concatenate([self.post[self.gptr[g] : self.gptr[g + 1]] for g in ids])  # sorted per bigram
        counts = np.bincount(at, minlength=total)
        run_end = self._run_ends(len(q))  # nondecreasing: runs are found by searchsorted
        starts = np.concatenate([[0], np.cumsum([self.gptr[g + 1] - self.gptr[g] for g in ids])[:-1]])
        previous = np.concatenate([[-1], at[:-1]])
        previous[starts] = -1  # a bigram's first occurrence has none before it
        low = np.maximum(previous + 1, np.searchsorted(run_end, at, side="left"))
        keep = low <= at
        spread = np.bincount(low[keep], minlength=total + 1) - np.bincount(at[keep] + 1, minlength=total + 1)
        in_run = np.cumsum(spread)[:total]
        first = np.arange(total)
        singles = np.flatnonzero(counts > 0)
        runs = np.flatnonzero((run_end > first) & (in_run > 0))
        keys = np.concatenate([2 * singles, 2 * runs + 1])  # generation order: sentence k alone, then its run
        overlap = np.concatenate([counts[singles], in_run[runs]])
        if len(overlap) > n:
            nth = np.partition(overlap, len(overlap) - n)[len(overlap) - n]
            keys, overlap = keys[overlap >= nth], overlap[overlap >= nth]
        out = []
        for key in keys[np.lexsort((keys, -overlap))[:n]].tolist():
            k, is_run = divmod(key, 2)
            out.append((int(self.doc_of[k]), int(self.starts[k]), int(self.ends[run_end[k] if is_run else k])))
        return out

    def _run_ends(self, length: int) -> np.ndarray:
        """The last sentence of each sentence's run, as the sliding windows of the first version of this
        check had it (verdicts stay what they were): a run holds >= length characters, but in each
        document the runs up to the first sentence that stands alone must also hold the size of the
        document's first sentence (that version's running total started without it)."""
        first = np.arange(len(self.starts))
        doc_first = self.first[self.doc_of]
        ends = []
        for extra in (self.cum[doc_first + 1] - self.cum[doc_first], 0):
            reach = np.searchsorted(self.cum, self.cum[:-1] + length + extra, side="left") - 1
            ends.append(np.clip(reach, first, self.last))
        alone = np.full(len(self.docs), np.iinfo(np.int64).max)
        at = np.flatnonzero(ends[0] == first)
        np.minimum.at(alone, self.doc_of[at], at)
        return np.where(first <= alone[self.doc_of], ends[0], ends[1])


_INDEXES: OrderedDict[tuple, QuoteIndex] = OrderedDict()
_INDEXES_LOCK = threading.Lock()
INDEXES_KEPT = 2  # corpora whose QuoteIndex is kept (an app reloading after an ingest has two for a moment)


def quote_index(corpus: Corpus) -> QuoteIndex:
    """The QuoteIndex of a corpus, built on first use and kept while its documents are the same."""
    key = tuple((d.doc, d.sha256) for d in corpus.documents.values())
    with _INDEXES_LOCK:
        found = _INDEXES.get(key)
        if found is not None:
            _INDEXES.move_to_end(key)
            return found
    built = QuoteIndex(corpus)
    with _INDEXES_LOCK:
        _INDEXES[key] = built
        while len(_INDEXES) > INDEXES_KEPT:
            _INDEXES.popitem(last=False)
    return built


def check_quote(corpus: Corpus, quote: str) -> QuoteCheck:
    """Find the quotation in the corpus: verbatim (ignoring line breaks), or the closest passage."""
    q, _ = _squash(quote.strip().strip("。，；"))
    if len(q) < 2:
        return QuoteCheck("not_found", quote)
    index = quote_index(corpus)
    for k, (doc, flat) in enumerate(zip(index.docs, index.flat)):
        i = flat.find(q)
        if i >= 0:
            pos = index.positions(k)
            return QuoteCheck("exact", quote, doc.doc, int(pos[i]), int(pos[i + len(q) - 1]) + 1, 1.0)
    best = _closest(index, q)
    if best is None or best.ratio < DIFFERS_MIN:
        return QuoteCheck("not_found", quote)
    best.quote = quote
    return best


def _closest(index: QuoteIndex, q: str) -> QuoteCheck | None:
    """The nearest passage to the quote: the best-aligned of the CANDIDATES windows."""
    candidates = index.windows(q, CANDIDATES)
    junk = len(q) * sum(e - s for _, s, e in candidates) > ALIGN_BUDGET  # a long quote: see ALIGN_BUDGET
    best: tuple[QuoteCheck, str] | None = None  # the check and its source region
    chars = Counter(q)
    for k, s, e in candidates:
        check_deadline()
        doc_flat, doc_pos = index.flat[k], index.positions(k)
        a, b = np.searchsorted(doc_pos, [s, e])  # the window's characters in the squashed document
        flat, pos = doc_flat[a:b], doc_pos[a:b]
        if _ratio_bound(chars, flat, len(q)) < max(DIFFERS_MIN, best[0].ratio if best else 0.0):
            continue  # cannot win: skip the quadratic alignment (long quotes stay fast)
        aligned = _aligned(index.docs[k].doc, flat, pos, q, junk)
        if aligned is not None and (best is None or aligned[0].ratio > best[0].ratio):
            best = aligned
    if best is None:
        return None
    check, region = best
    check.diffs = differences(region, q, junk)
    return check


def _aligned(doc: str, flat: str, pos: np.ndarray, q: str, junk: bool = False) -> tuple[QuoteCheck, str] | None:
    """The region of `flat` (a window of doc's squashed text, `pos` its offsets) the quote aligns with,
    and its similarity."""
    sm = SequenceMatcher(None, flat, q, autojunk=junk)
    blocks = [b for b in sm.get_matching_blocks() if b.size]
    if not blocks:
        return None
    a0, a1 = blocks[0].a, blocks[-1].a + blocks[-1].size
    # Extend the aligned source region to cover unmatched quote characters at either end.
    a0 = max(0, a0 - blocks[0].b)
    a1 = min(len(flat), a1 + (len(q) - blocks[-1].b - blocks[-1].size))
    region = flat[a0:a1]
    ratio = SequenceMatcher(None, region, q, autojunk=junk).ratio()
    return QuoteCheck("differs", q, doc, int(pos[a0]), int(pos[a1 - 1]) + 1, ratio), region


def _ratio_bound(chars: Counter, flat: str, n: int) -> float:
    """An upper bound of SequenceMatcher(region of flat, quote).ratio(): 2C/(C+n), C = shared characters."""
    shared = sum((chars & Counter(flat)).values())
    return 2 * shared / (shared + n) if n else 0.0


def differences(source: str, quoted: str, junk: bool = False) -> list[tuple[str, str]]:
    """(quoted, source) pairs where the wording differs, widened to whole numbers with their unit."""
    out = []
    for op, a0, a1, b0, b1 in SequenceMatcher(None, source, quoted, autojunk=junk).get_opcodes():
        if op == "equal":
            continue
        a0, a1 = _widen(source, a0, a1)
        b0, b1 = _widen(quoted, b0, b1)
        out.append((quoted[b0:b1], source[a0:a1]))
    return out


def _widen(text: str, i: int, j: int) -> tuple[int, int]:
    """Widen a differing segment that touches a number to the whole number and its unit ("2家")."""
    num = set("0123456789.")
    touches = any(ch in num for ch in text[i:j]) or (i == j and (
        (i > 0 and text[i - 1] in num) or (i < len(text) and text[i] in num)))
    if touches:
        while i > 0 and text[i - 1] in num:
            i -= 1
        while j < len(text) and text[j] in num:
            j += 1
        if j < len(text) and text[j] in MEASURE:
            j += 1
    return i, j
