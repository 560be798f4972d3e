"""Dataclasses that flow between stages: structure, chunks, hits, answers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum

KIND_SEPARATOR = "@"  # "women@provincial_plan": the women's plan of that document


def plan_kind(key: str) -> str:
    """The kind of plan a key stands for: "women@doc" -> "women"; "women" -> "women"; "plan2" -> "plan2"."""
    return key.split(KIND_SEPARATOR, 1)[0]


@dataclass
class Node:
    """A heading and its body in a plan: a part, section or numbered item.

    `start`/`end` are character offsets into the document text; the node's text is
    `doc_text[start:end]` and includes the heading line ("3．提升妇女生殖健康服务水平。...").
    """

    id: str
    level: str  # "part" | "section" | "item" | "text"
    number: str  # "二" / "（二）" / "3" ; "" for unnumbered text
    title: str  # heading without its number: "妇女与健康"
    heading: str  # heading as shown in a path: "（二）妇女与健康"
    start: int
    end: int
    children: list[Node] = field(default_factory=list)


@dataclass
class Indicator:
    """One row of a 重点指标目标表, with the spans of its cells in the document."""

    plan: str  # plan key: "women" | "children"
    domain: str  # "妇女与决策管理" (wrapped cell joined)
    number: int
    name: str  # with its unit as in the source: "婚前医学检查率（％）"
    unit: str  # "％", "1/10万", "岁" ... or ""
    baseline: str  # 2020 value as shown; "" when the source has '-' or '－'
    target: str  # 2025 target as shown, wrapped cells joined ("应救尽救")
    target_shared_with: int | None  # row number whose target cell this row shares
    start: int  # span of the row's own cells (number .. last own cell)
    end: int
    target_start: int  # span of the target cell (may be in another row)
    target_end: int
    baseline_year: str = "2020"
    target_year: str = "2025"
    # A table of any other header (考核指标 / 计算公式 / 评分标准): every named cell of the row,
    # (header, text, start, end); `target` is then the cell of its target column, years are "".
    columns: tuple[tuple[str, str, int, int], ...] = ()
    table: str = ""  # the table's title line ("宫颈癌筛查绩效考核指标表") for such a table


@dataclass
class Plan:
    """One plan in a document: title, parts, indicator table."""

    key: str  # "women" | "children" | "women@<doc>" when two documents hold one | "<doc>" ...
    name: str  # short name used in paths: "妇女规划"
    title: str  # "嘉兴市妇女发展“十四五”规划"
    start: int
    end: int
    parts: list[Node] = field(default_factory=list)
    preamble: Node | None = None
    indicators: list[Indicator] = field(default_factory=list)
    table_title: str = ""


@dataclass
class Document:
    """A parsed corpus file."""

    doc: str  # document id (file stem)
    path: str
    text: str
    sha256: str
    plans: list[Plan] = field(default_factory=list)
    front: Node | None = None  # cover notice before the first plan


@dataclass
class Chunk:
    """A retrievable unit with everything a citation needs."""

    id: str
    doc: str
    plan: str  # plan key
    plan_name: str
    kind: str  # "task" | "text" | "indicator"
    section: str  # "妇女规划 > 二、… > （二）妇女与健康 > 3．提升妇女生殖健康服务水平"
    item: str  # item number "3", indicator row "3", or ""
    start: int
    end: int
    text: str  # for text chunks: exactly doc_text[start:end]; for indicators: a sentence
    embed_text: str  # what is embedded and keyword-indexed (path + text)

    def metadata(self) -> dict:
        """Flat metadata for Chroma (str/int only)."""
        d = asdict(self)
        d.pop("embed_text")
        d.pop("text")
        return d


@dataclass
class Hit:
    """A retrieved chunk with its fused score and per-retriever ranks."""

    chunk: Chunk
    score: float
    ranks: dict[str, int] = field(default_factory=dict)
    dense: float = 0.0  # cosine similarity to the query, 0 when not dense-retrieved


@dataclass
class Citation:
    """An exact quotation: `quote == document_text[start:end]`, always."""

    plan: str
    section: str
    quote: str
    start: int
    end: int
    doc: str

    def to_dict(self) -> dict:
        return asdict(self)


class Intent(StrEnum):
    """What kind of answer a question wants."""

    VALUE = "value"  # a number or target: "婚前医学检查率目标是多少"
    COUNT = "count"  # how many of something: "新建几个观护帮教基地"
    WHEN = "when"  # a date or time
    WHO = "who"  # who is responsible
    LIST = "list"  # which items: "有哪些重点实事项目"
    MEASURES = "measures"  # what will be done: "家暴怎么管"
    DETAIL = "detail"  # what one item says: "第二个具体做什么"
    DEFINITION = "definition"  # what a term means, whom it covers
    DOCUMENT = "document"  # issuer, date, period, basis of the document itself
    QUOTE = "quote"  # is this passage in the plan?
    STATEMENT = "statement"  # anything else: the sentence that says it


@dataclass(frozen=True)
class DialogueState:
    """What a follow-up may refer to, carried from one answer to the next (never mutated)."""

    topic: str = ""  # the last self-contained question, normalized: what "那…呢" adds to
    plans: tuple[str, ...] | None = None  # plans the last answer was about
    docs: tuple[str, ...] | None = None
    indicators: tuple[str, ...] = ()  # indicator chunk ids of the last indicator answer
    items: tuple[str, ...] = ()  # the last list shown, in order (chunk ids): "第二个", "倒数第二个"
    item: str | None = None  # the item last detailed or cited first
    aspect: str | None = None  # "baseline" | "target" | None
    intent: Intent | None = None
    said: str = ""  # the last answer's quoted text: a short question in its words asks about it


@dataclass
class Answer:
    """What the assistant says, with the evidence that makes it checkable."""

    question: str
    answer: str
    answerable: bool
    citations: list[Citation] = field(default_factory=list)
    retrieved: list[Hit] = field(default_factory=list)
    kind: str = ""  # "indicator" | "text_target" | "measures" | "quote_check" | "refusal" ...
    resolved_question: str = ""  # the question after follow-up resolution
    context: dict = field(default_factory=dict)  # quote-check details, LLM notes
    state: DialogueState | None = None  # what a follow-up may refer to

    def to_dict(self, top_k: int = 10) -> dict:
        """The batch/JSON output shape."""
        return {
            "answer": self.answer,
            "answerable": self.answerable,
            "kind": self.kind,
            "resolved_question": self.resolved_question,
            "citations": [c.to_dict() for c in self.citations],
            "retrieved": [
                {"text": h.chunk.text, "section": h.chunk.section, "score": round(h.score, 6)}
                for h in self.retrieved[:top_k]
            ],
        }
