"""Optional LLM answers over any OpenAI-compatible endpoint, checked against the passages they cite.

The extractive answer stays the default and the safety net: the model rewrites it from numbered
passages ([1]..[n]: the extractive citations, then the top retrieved chunks), and its text is shown
only when every number and quoted phrase is in a passage it cites. Anything else — a failed check, a
timeout, an HTTP error, an empty reply — shows the extractive answer and logs why.
`langchain_openai` is imported only when a model is configured.
"""

from __future__ import annotations

import logging
import re
import string
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from assistant.config import ROOT, Settings
from assistant.corpus import Corpus
from assistant.errors import AssistantError
from assistant.query import Query, with_text
from assistant.refusal import REFUSAL
from assistant.types import Answer, Chunk, Citation

log = logging.getLogger(__name__)

PROMPTS_DIR = ROOT / "prompts"
PROMPT_VARIABLES = {  # file stem -> the variables its template must be given
    "system": {"not_found"},
    "context": {"passages", "question"},
    "passage": {"number", "source", "text"},
    "condense": {"history", "question"},
}
MAX_CHUNKS = 4  # retrieved chunks given after the extractive citations
CONDENSE_TURNS = 3  # recent turns shown when condensing a follow-up
MAX_CONDENSED = 200  # a condensed question this long or longer is not trusted
NO_KEY = "unused"
PLAN_YEARS = {"2020", "2021", "2025"}  # the plan period and base year, stated in the system prompt
NO_CITATION = "no citation"

MARKER = re.compile(r"[\[［【]\s*([0-9０-９]+(?:\s*[,，、]\s*[0-9０-９]+)*)\s*[\]］】]")
SENTENCE = re.compile(rf"[^。！？；!?\n]*(?:[。！？；!?\n]+(?:\s*{MARKER.pattern})*|$)")
ENUMERATOR = re.compile(r"^\s*(?:[(（]\d{1,2}[)）]|\d{1,2}[.．、)）](?!\d)|[-*•])\s*")  # "1. ", "（2）": list format
NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
PERCENT_WORDS = re.compile(r"百分之([零一二两三四五六七八九十百]+)")
QUOTED = re.compile(r"“([^“”]+)”|「([^「」]+)」|『([^『』]+)』")
THINK = re.compile(r"<think>.*?</think>", re.S)
CN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


class PromptError(AssistantError):
    """A prompt file is missing or rendered without one of its variables."""


class LLMConfigError(AssistantError):
    """The LLM endpoint settings are incomplete or malformed."""


# ---- prompts ------------------------------------------------------------------------------------


# The value an indicator answer states first for each row (the aspect asked): "…“残疾儿童康复救助人数
# （人）”：2025年目标为应救尽救，2020年为514人" -> 应救尽救.
ROW_VALUE = re.compile(r"重点指标“[^”]+”：(?:\d{4}年(?:目标)?为)?(.+?)(?=，\d{4}年|；|\[|。|（与第|$)")
CJK_CHARS = re.compile(r"[\u4e00-\u9fff]")
MIN_ANSWER_CHARS = 4  # fewer Chinese characters than this outside the markers is no answer


def render(name: str, folder: Path = PROMPTS_DIR, **values: object) -> str:
    """Fill prompts/<name>.txt (`${var}` placeholders); a missing variable raises PromptError."""
    path = folder / f"{name}.txt"
    try:
        template = string.Template(path.read_text(encoding="utf-8").rstrip("\n"))
        return template.substitute({k: str(v) for k, v in values.items()})
    except OSError as exc:
        raise PromptError(f"prompt file {path} cannot be read: {exc}") from exc
    except (KeyError, ValueError) as exc:
        raise PromptError(f"prompt {path.name}: missing or malformed variable {exc}") from exc


def check_prompts(folder: Path = PROMPTS_DIR) -> None:
    """Render every prompt with its variables once, so a broken file fails at startup."""
    for name, variables in PROMPT_VARIABLES.items():
        render(name, folder, **{v: "x" for v in variables})


# ---- passages and the grounding check (pure) ----------------------------------------------------


@dataclass
class Passage:
    """A numbered passage shown to the model, with the exact corpus citation it stands for."""

    citation: Citation
    text: str  # the body as shown: the quote, for a table row with its reading

    @property
    def evidence(self) -> str:
        """What the model saw of this passage, normalised for comparison."""
        return normalize(f"{self.citation.section}\n{self.text}")


def normalize(text: str) -> str:
    """Full-width digits, ％ and ． to ASCII (NFKC), so "９０％" and "90%" compare equal."""
    return unicodedata.normalize("NFKC", text)


def cited(text: str) -> list[int]:
    """Passage numbers cited by [n] markers, in order of first use ("[2][1][2]" -> [2, 1])."""
    found: list[int] = []
    for m in MARKER.finditer(text):
        for n in re.split(r"[,，、]", normalize(m.group(1))):
            if int(n) not in found:
                found.append(int(n))
    return found


def sentences(text: str) -> list[str]:
    """Sentences with their trailing markers ("…以上。[1]"); they concatenate back to `text`."""
    return [m.group(0) for m in SENTENCE.finditer(text) if m.group(0)]


def claimed_numbers(sentence: str) -> set[str]:
    """Numbers a sentence states, markers and list numbering aside ("百分之百" counts as 100)."""
    text = normalize(ENUMERATOR.sub(" ", MARKER.sub(" ", sentence)))
    words = {cn_number(w) for w in PERCENT_WORDS.findall(text)}
    return (set(NUMBER.findall(text)) | words) - PLAN_YEARS


def cn_number(word: str) -> str:
    """"九十五" -> "95", "百" -> "100"; the word itself when it is not a number below 1000."""
    total, digit = 0, None
    for ch in word:
        if ch in CN_DIGITS:
            digit = CN_DIGITS[ch]
        elif ch in "十百":
            total += (1 if digit is None else digit) * (10 if ch == "十" else 100)
            digit = None
        else:
            return word
    return str(total + (digit or 0))


def sentence_problem(sentence: str, evidence: list[str]) -> str:
    """A number or quoted phrase of one sentence that no passage it cites contains ('' if none)."""
    found = set().union(*(set(NUMBER.findall(e)) | {cn_number(w) for w in PERCENT_WORDS.findall(e)}
                          for e in evidence))
    missing = sorted(claimed_numbers(sentence) - found)
    if missing:
        return f"number {missing[0]} not in the cited passages"
    flat = ["".join(e.split()) for e in evidence]
    for m in QUOTED.finditer(MARKER.sub("", sentence)):
        phrase = "".join(normalize(next(g for g in m.groups() if g)).split())
        if not any(phrase in e for e in flat):
            return f"quote “{phrase[:30]}” not in the cited passages"
    return ""


def check_grounding(text: str, passages: list[Passage]) -> str:
    """Why an answer is not grounded in the passages it cites; '' when it is."""
    if not text.strip():
        return "empty answer"
    if len(CJK_CHARS.findall(MARKER.sub("", text))) < MIN_ANSWER_CHARS:
        return "empty answer (citation marks only)"  # "[1]、[2][3]"
    if REFUSAL.rstrip("。") in text:
        return "model said not found"
    numbers = cited(text)
    if not numbers:
        return NO_CITATION
    outside = [n for n in numbers if not 1 <= n <= len(passages)]
    if outside:
        return f"citation [{outside[0]}] not among passages 1..{len(passages)}"
    for sentence in sentences(text):
        # A sentence is checked against the passages it cites itself, else against all cited ones.
        own = cited(sentence) or numbers
        problem = sentence_problem(sentence, [passages[n - 1].evidence for n in own])
        if problem:
            return problem
    return ""


def value_missing(text: str, answer: Answer) -> str:
    """An indicator answer's value that the model's text leaves out ('' when all are there).

    Every number the model writes may be in the passages and still be the wrong one: measured with
    the real local model, "514[1]" (the 2020 value) answered a 2025 target of 应救尽救, and "≥99%"
    the row after "倒数第二个" whose target is 100％. So the model must state the value the
    extractive answer gives first for each row: its numbers, or its words when it has none."""
    if answer.kind != "indicator":
        return ""
    have = set(NUMBER.findall(normalize(text)))
    flat = "".join(normalize(text).split())
    for value in ROW_VALUE.findall(answer.answer):
        numbers = set(NUMBER.findall(normalize(value)))
        words = "".join(normalize(value).split()).strip("％%")
        if (numbers and not numbers <= have) or (not numbers and words and words not in flat):
            return f"value {value} of the row left out"
    return ""


def grounded_prefix(text: str, passages: list[Passage]) -> str:
    """The complete sentences at the start of a streamed answer that already pass the check."""
    shown, candidate = "", ""
    for sentence in sentences(text)[:-1]:  # the last sentence may still grow (or get its marker)
        candidate += sentence
        problem = check_grounding(candidate, passages)
        if not problem:
            shown = candidate
        elif problem != NO_CITATION:
            break
    return shown


def renumber(text: str, passages: list[Passage]) -> tuple[str, list[Citation]]:
    """Markers renumbered 1..m in order of first use, and the citations they now point to."""
    order = cited(text)
    new = {old: i + 1 for i, old in enumerate(order)}

    def swap(m: re.Match) -> str:
        return "".join(f"[{new[n]}]" for n in cited(m.group(0)))

    return MARKER.sub(swap, text), [passages[n - 1].citation for n in order]


def strip_think(text: str) -> str:
    """The reply without a reasoning model's <think>…</think> block ('' while one is still open)."""
    text = THINK.sub("", text)
    return "" if "<think>" in text else text.strip()


def failure_reason(exc: BaseException) -> str:
    """A short, key-free reason for a failed model call: "timeout", "HTTP 500", "connection error"."""
    status = getattr(exc, "status_code", None)
    names = [k.__name__ for k in type(exc).__mro__]
    if isinstance(status, int):
        return f"HTTP {status}"
    if any("Timeout" in n for n in names):
        return "timeout"
    if any("Connection" in n for n in names):
        return "connection error"
    return type(exc).__name__


def clean_condensed(text: str) -> str:
    """The first line of a condensation reply without labels or quotes ("问题：…" -> "…")."""
    lines = [ln.strip() for ln in strip_think(text).splitlines() if ln.strip()]
    line = lines[0] if lines else ""
    line = re.sub(r"^(?:改写后的问题|独立问题|问题)[：:]\s*", "", line).strip("“”\"'「」 ")
    return "".join(ch for ch in line if ch.isprintable())


def with_note(answer: Answer, note: str) -> Answer:
    """A copy of the answer recording which path produced it in context["llm"]."""
    return replace(answer, context={**answer.context, "llm": note})


# ---- the model (I/O) ----------------------------------------------------------------------------


def chat_model(settings: Settings) -> Any:
    """A LangChain ChatOpenAI for the configured endpoint; imports langchain_openai on first use."""
    if urlsplit(settings.llm_base_url).scheme not in ("http", "https"):
        raise LLMConfigError(f"ASSISTANT_LLM_BASE_URL must be an http(s) URL, got {settings.llm_base_url!r}")
    if not settings.llm_model:
        raise LLMConfigError("ASSISTANT_LLM_MODEL is required when ASSISTANT_LLM_BASE_URL is set")
    from langchain_openai import ChatOpenAI

    # Local servers (Ollama, llama.cpp) need no key, but the client refuses to start without one; an
    # explicit value also keeps an OPENAI_API_KEY from the environment from going to this endpoint.
    return ChatOpenAI(base_url=settings.llm_base_url, model=settings.llm_model,
                      api_key=settings.llm_api_key or NO_KEY, timeout=settings.llm_timeout,
                      max_retries=0, use_responses_api=False)


class OpenAIChatAnswerer:
    """Rewrites extractive answers (and condenses follow-ups) with a chat model, grounded."""

    def __init__(self, settings: Settings, corpus: Corpus, chunks: list[Chunk]) -> None:
        check_prompts()
        self.corpus = corpus
        self.model = chat_model(settings)
        self.rows = {(c.doc, c.start, c.end): c for c in chunks if c.kind == "indicator"}
        log.info("LLM answers from %s (model %s)", settings.llm_base_url, settings.llm_model)

    def rewrite(self, answer: Answer) -> Answer:
        """The model's answer when it passes the grounding check, else the extractive one."""
        *_, final = self._write(answer, stream=False)
        return final  # type: ignore[return-value]  # without streaming, the only item is the Answer

    def stream(self, answer: Answer) -> Iterator[str | Answer]:
        """Yield the answer text as it streams (checked sentences only), then the final Answer."""
        return self._write(answer, stream=True)

    def condense(self, question: str, turns: list[Answer], resolved: Query) -> Query:
        """A follow-up rewritten by the model as a standalone question; the rule-based one on failure."""
        # Ordinals and indicator references ("第二个", "那2020年呢") resolve exactly by rule.
        if not turns or not resolved.followup or resolved.item or resolved.indicators:
            return resolved
        history = "\n".join(f"用户：{a.question}\n助手：{a.answer[:300]}" for a in turns[-CONDENSE_TURNS:])
        prompt = render("condense", history=history, question=question)
        try:
            condensed = clean_condensed(self.model.invoke([("user", prompt)]).text)
        except Exception as exc:  # any model failure: the rule-based resolution stands
            log.warning("follow-up not condensed by the LLM (%s); using the rule-based question", failure_reason(exc))
            return resolved
        if not condensed or len(condensed) >= MAX_CONDENSED:
            log.warning("follow-up not condensed by the LLM (%s); using the rule-based question",
                        "empty reply" if not condensed else f"{len(condensed)} characters")
            return resolved
        return with_text(resolved, condensed)

    def passages(self, answer: Answer) -> list[Passage]:
        """The extractive citations first, then the top retrieved chunks, each span once."""
        out: dict[tuple[str, int, int], Passage] = {}
        cites = list(answer.citations) + [self._chunk_citation(h.chunk) for h in answer.retrieved[:MAX_CHUNKS]]
        for c in cites:
            out.setdefault((c.doc, c.start, c.end), Passage(c, self._shown(c)))
        return list(out.values())

    def messages(self, question: str, passages: list[Passage]) -> list[tuple[str, str]]:
        """System prompt, then the numbered passages and the question as data."""
        body = "\n\n".join(render("passage", number=i, source=p.citation.section, text=p.text)
                           for i, p in enumerate(passages, 1))
        return [("system", render("system", not_found=REFUSAL)),
                ("user", render("context", passages=body, question=question))]

    def _write(self, answer: Answer, stream: bool) -> Iterator[str | Answer]:
        if not answer.answerable:  # never let the model turn a refusal into an answer
            yield with_note(answer, "skipped: extractive refusal")
            return
        if answer.kind == "quote_check":  # a verbatim comparison; nothing to rephrase
            yield with_note(answer, "skipped: quote check")
            return
        passages = self.passages(answer)
        messages = self.messages(answer.resolved_question or answer.question, passages)
        text, shown = "", ""
        try:
            if stream:
                for chunk in self.model.stream(messages):
                    text += chunk.text
                    prefix = grounded_prefix(strip_think(text), passages)
                    if len(prefix) > len(shown):
                        shown = prefix
                        yield renumber(shown, passages)[0]
            else:
                text = self.model.invoke(messages).text
        except Exception as exc:  # timeout, HTTP error, refused connection: the extractive answer
            if stream and not text and isinstance(exc, ValueError):
                # LangChain's "No generation chunks were returned": the server ignores `stream`; ask once more.
                yield from self._write(answer, stream=False)
                return
            yield self._fallback(answer, failure_reason(exc))
            return
        yield self._grounded(answer, strip_think(text), passages)

    def _grounded(self, answer: Answer, text: str, passages: list[Passage]) -> Answer:
        problem = check_grounding(text, passages) or value_missing(text, answer)
        if problem:
            return self._fallback(answer, problem)
        new_text, citations = renumber(text, passages)
        return replace(with_note(answer, "used"), answer=new_text, citations=citations)

    def _fallback(self, answer: Answer, reason: str) -> Answer:
        log.warning("LLM answer not used (%s); showing the extractive answer", reason)
        return with_note(answer, f"fallback: {reason}")

    def _chunk_citation(self, chunk: Chunk) -> Citation:
        quote = self.corpus.quote(chunk.doc, chunk.start, chunk.end)
        return Citation(plan=chunk.plan_name, section=chunk.section, quote=quote, start=chunk.start,
                        end=chunk.end, doc=chunk.doc)

    def _shown(self, c: Citation) -> str:
        """The passage body: the quote; a table row also as the sentence it reads as."""
        quote = " ".join(c.quote.split())
        row = self.rows.get((c.doc, c.start, c.end))
        return f"{row.text}（表格原文：{quote}）" if row else quote
