"""Answers that are facts of the parsed tree: a section's items, one item's detail, and counts and
lists of a plan's parts, domains, indicators and key projects."""

from __future__ import annotations

import re
from functools import lru_cache

from assistant import lexicon
from assistant import thresholds as T
from assistant.compose import Draft, flat
from assistant.query import Query, at_ordinal, key_grams, ordinal_words
from assistant.strategies.base import Strategy
from assistant.structure import iter_nodes, section_path
from assistant.text import STATED_VALUE, char_bigrams
from assistant.types import Chunk, Citation, DialogueState, Hit, Intent, Node, Plan

# A table domain named in an indicator question ("妇女与健康"): joined with 与 or 参与.
DOMAIN_WORDS = re.compile("|".join(map(re.escape, lexicon.STRUCTURE_NOUNS["domain"])))
TABLE_DOMAIN = re.compile(r"[\u4e00-\u9fff]{0,4}(?:与|参与)[\u4e00-\u9fff]{2,6}")
SECTION_WORDS = re.compile(r"任务|措施|举措|工作|方面|那块|这块|板块|部分|领域|章节|内容|条|项|块|讲|啥|什么")
DOMAIN_PREFIX = re.compile(r"^[\u4e00-\u9fff]{1,4}?(?:参与|与)")
# "Which project is about X": the names are asked, not what a project does.
WHICH_PROJECT = re.compile(
    r"叫啥|叫什么|哪个项目|哪些项目|什么项目|啥项目|哪一个|有关的是|相关的是|有关的项目|which project"
)
LISTING = (Intent.LIST, Intent.MEASURES, Intent.COUNT, Intent.STATEMENT)
# Words that only frame a structure question ("妇女规划里一共有几个领域").
FRAME = re.compile(
    r"妇女发展规划|儿童发展规划|妇女规划|儿童规划|规划|妇女|儿童|一共|总共|共有|总计|分别|主要|重点|实事|发展|"
    r"列出|说说|介绍|都|全部|所有|正文|文件|里面|里|中|方面的|分为|分成|包括|包含|哪几个|哪些|几个|几项|"
    r"多少个|多少项|几大|多少|全文|分|那张|这张|张|表格|表|涵盖|覆盖|涉及|叫啥|叫什么|名称|分别叫|是哪些|哪|"
    r"那一栏|一栏|栏|那块|这块|第[一二三四五六七八九十\d]+[个项条名位]?|倒数|最后一个|是啥|是什么|"
    r"各|[一二三四五六七八九十两\d]+[个项条]"
)


def names_title(title: frozenset[str] | set[str], grams: frozenset[str] | set[str]) -> bool:
    """Does the question name the title: all its bigrams, or all but one of a long one ("配置规划主要
    要写哪几块内容" of 《配置规划》主要内容, the 要内 bigram broken by the question's own 要写)."""
    missing = len(title - grams)
    return missing == 0 or (missing == 1 and len(title) >= T.TITLE_LONG)


class SectionListStrategy(Strategy):
    """ "妇女与健康领域有哪些任务": every item under the section (or part) the question names."""

    name = "section_list"

    def match(self, query: Query, state: DialogueState | None) -> bool:
        # "妇女与健康有哪几项指标" asks for table rows, not the section's tasks
        return (
            (query.intent in LISTING or Intent.LIST in query.asks[:2])  # "具体目标有哪些": 目标 asks a list too
            and query.item is None
            and not any(w in query.text for w in lexicon.STRUCTURE_NOUNS["indicator"])
        )

    def __init__(self, kit) -> None:
        super().__init__(kit)
        self._titles: TitleIndex | None = None  # built on first use

    def titles(self) -> TitleIndex:
        """Every part's and section's title that has items (and its core: "安全" of 儿童与安全), in the
        order of the plans and their parts; not only the document's topic ("（一）宫颈癌筛查" of 宫颈癌筛查工作方案)."""
        if self._titles is None:
            self._titles = TitleIndex([
                ((key, doc, plan, heads, n), title)
                for key, (doc, plan) in self.kit.plans.items()
                for part in plan.parts
                for heads, n in [((part,), part)] + [((part, sec), sec) for sec in part.children]
                for title in dict.fromkeys((n.title, title_core(n.title)))
                if n.children and title_grams(title) - title_grams(plan.title)
            ])
        return self._titles

    def answer(self, query: Query, hits: list[Hit]) -> Draft | None:
        grams = char_bigrams(query.text)
        named: dict[str, list] = {}  # plan key -> (full, length, doc, plan, heads, node) of each title named
        for (key, doc, plan, heads, n), title in self.titles().named(grams):
            if (query.plans and key not in query.plans) or (query.docs and doc.doc not in query.docs):
                continue
            if title == n.title or only_about(query, title):
                named.setdefault(key, []).append((title == n.title, len(title), doc, plan, heads, n))
        found = []  # (plan, heads, node): the longest title wholly in the question, per plan
        for titles in named.values():
            full, _, doc, plan, heads, node = max(titles, key=lambda x: x[:2])
            found.append((doc, plan, heads, node, full))
        if any(f[4] for f in found):  # a title named in full beats another plan's matching core
            found = [f for f in found if f[4]]
        found = [f[:4] for f in found]
        if not found:
            return None
        items: list[Chunk] = []
        for doc, plan, heads, node in found:
            seen = set()
            own = section_path(plan, *heads)
            for c in self.kit.doc_chunks(doc.doc):
                if (
                    c.kind != "indicator"
                    and node.start <= c.start < node.end
                    and c.section != own
                    and c.section not in seen
                ):
                    seen.add(c.section)
                    items.append(c)
        if not items:
            return None
        names = "；".join(f"{plan.name}“{heads[-1].heading}”" for _, plan, heads, _ in found)
        return list_draft(self, f"{names}共{len(items)}项：", items, T.MAX_SECTION_LIST, named=True)


class ItemDetailStrategy(Strategy):
    """ "第二个具体做什么": what one item of the last list says."""

    name = "item_detail"

    def match(self, query: Query, state: DialogueState | None) -> bool:
        return query.item is not None and query.intent in (
            Intent.DETAIL,
            Intent.MEASURES,
            Intent.STATEMENT,
            Intent.LIST,
        )

    def answer(self, query: Query, hits: list[Hit]) -> Draft | None:
        chunk = self.kit.by_id.get(query.item or "")
        if chunk is None:
            return None
        sents = self.kit.sentences(chunk)
        heading = chunk.section.rsplit(" > ", 1)[-1]
        if len(sents) > 1 and self.kit.text_of(chunk, *sents[0]).rstrip("。") == heading:
            sents = sents[1:]  # "（二）持续深化“书香嘉兴”项目。" is the heading, shown already
        s, e = sents[0][0], sents[min(2, len(sents) - 1)][1]
        cite = self.kit.cite(chunk, s, e)
        return Draft(
            f"{chunk.plan_name}“{heading}”：{flat(cite.quote)}[1]",
            [cite],
            "detail",
            self.name,
            named=True,
            chunks=[chunk],
            item=chunk.id,
            plans=(chunk.plan,),
        )


class TreeFactsStrategy(Strategy):
    """ "妇女规划有几个领域", "儿童规划有哪些重点实事项目": counted and listed from the parsed tree."""

    name = "tree_facts"

    def match(self, query: Query, state: DialogueState | None) -> bool:
        return (query.intent in LISTING + (Intent.VALUE, Intent.DETAIL) and query.item is None
                and not query.indicators and self.noun(query) is not None)

    def __init__(self, kit) -> None:
        super().__init__(kit)
        # a table named by its title or a column ("绩效考核指标表", "评分标准"): its words are no topic
        self.table_chars = frozenset("".join(
            w for _, p in kit.plans.values() for i in p.indicators
            for w in (i.table, p.table_title, *(h for h, *_ in i.columns)) if w))
        titles = frozenset().union(*(char_bigrams(w) for _, p in kit.plans.values() for i in p.indicators
                                     for w in (i.table, p.table_title) if w))
        self.row_grams = frozenset().union(*(char_bigrams(i.name) for _, p in kit.plans.values()
                                             for i in p.indicators)) - titles
        self.domain_cores = sorted(
            {title_core(flat(i.domain)) for _, p in kit.plans.values() for i in p.indicators if i.domain},
            key=len,
            reverse=True,
        )

    def noun(self, query: Query) -> str | None:
        """Which part of the structure the question counts or lists, when it asks about nothing else."""
        low = query.text.lower()
        for kind in ("project", "indicator", "domain", "part"):
            for word in lexicon.STRUCTURE_NOUNS[kind]:
                if word in low:
                    rest = FRAME.sub("|", low.replace(word, "|"))
                    if kind == "indicator":  # "妇女与健康有哪几项指标": a table domain narrows the rows
                        rest = TABLE_DOMAIN.sub("|", rest)
                        if query.ordinal is not None:  # "第三个领域里有哪些指标": the domain by its ordinal
                            rest = DOMAIN_WORDS.sub("|", rest)
                        for core in self.domain_cores:
                            rest = rest.replace(core, "|")
                    left = key_grams(rest)
                    if kind == "indicator" and not query.english:  # "宫颈癌绩效考核表": the table's words, said short
                        # (an English question keeps only its glossary words: what else it asks is unseen)
                        left = frozenset(g for g in left if not set(g) <= self.table_chars or g in self.row_grams)
                        # a word of a row's name that the table's title lacks ("筛查率", "早诊") asks of rows
                    if kind == "project" and left and WHICH_PROJECT.search(query.text):
                        return "project_topic"  # "心理健康的重点项目叫啥": the projects about a topic
                    if len(left) > 1 or (kind == "indicator" and (self._names_rows(left - query.named_grams)
                                                                  or STATED_VALUE.search(query.raw))):
                        return None  # "体质方面的指标定了多少", "是48.9%的那个指标": rows' values, not a count
                    return kind
        return None

    def _names_rows(self, grams: frozenset[str]) -> bool:
        """Do these bigrams name indicator rows (体质 in 学生体质健康标准达标率)?"""
        return bool(grams) and any(grams & char_bigrams(c.section.rsplit(" > ", 1)[-1])
                                   for c in self.kit.retriever.indicators)

    @staticmethod
    def topic_grams(query: Query) -> frozenset[str]:
        """What a "projects about X" question is about: its substance without structure and frame words."""
        low = query.text.lower()
        for word in lexicon.STRUCTURE_NOUNS["project"]:
            low = low.replace(word, "|")
        return key_grams(FRAME.sub("|", low))

    def answer(self, query: Query, hits: list[Hit]) -> Draft | None:
        kind = self.noun(query)
        lines, cites, items, rows = [], [], [], []
        for key, (doc, plan) in self.kit.plans.items():
            if (query.plans and key not in query.plans) or (query.docs and doc.doc not in query.docs):
                continue
            got = getattr(self, f"_{kind}")(doc.doc, plan, cites, query)
            if got:
                lines.append(got[0])
                items += got[1]
                rows += got[2] if len(got) > 2 else []  # one row picked by its ordinal: a follow-up asks of it
        if not lines:
            return None
        return Draft(
            "\n".join(lines),
            cites,
            "structure",
            self.name,
            exact=True,
            named=True,
            items=tuple(items),
            indicators=tuple(rows),
            plans=tuple(dict.fromkeys(c.plan for c in cites)),
        )

    # ---- one plan each: (line, item chunk ids), citations appended to `cites` ----------------------

    def _heads(self, doc: str, plan: Plan, nodes: list[Node], cites: list[Citation], sep: str = "、") -> str:
        out = []
        for node in nodes:
            cites.append(self.heading_citation(doc, plan, node))
            out.append(f"{node.heading.rstrip('。')}[{len(cites)}]")
        return sep.join(out)

    def heading_citation(self, doc: str, plan: Plan, node: Node) -> Citation:
        text = self.kit.corpus.text(doc)
        line_end = text.find("\n", node.start, node.end)
        end = line_end if line_end != -1 else node.end
        first = re.search(r"[。；]", text[node.start : end])
        end = node.start + first.end() if first else end
        section = section_path(plan, *self._path_to(plan, node))
        return self.kit.cite_span(doc, plan.name, section, node.start, end)

    @staticmethod
    def _path_to(plan: Plan, node: Node) -> list[Node]:
        for part in plan.parts:
            if part is node:
                return [part]
            for sec in part.children:
                if sec is node:
                    return [part, sec]
        return [node]

    def _picked(self, doc: str, plan: Plan, nodes: list[Node], what: str, cites: list[Citation], query: Query):
        """ "第三部分讲什么", "倒数第二个领域": the node at the question's ordinal, with what it holds."""
        node = at_ordinal(nodes, query.ordinal)
        if node is None:
            return None
        line = f"{plan.name}{ordinal_words(query.ordinal)}{what}是{self._heads(doc, plan, [node], cites)}"
        if node.children:
            line += f"，含{len(node.children)}项：{self._heads(doc, plan, node.children, cites)}"
        chunks = [first_chunk(self.kit.doc_chunks(doc), doc, n) for n in (node.children or [node])]
        return line + "。", [c.id for c in chunks if c]

    def _domain(self, doc: str, plan: Plan, cites: list[Citation], query: Query):
        part = domain_part(plan)
        if part is None:
            return None
        if picked := self._picked(doc, plan, part.children, "个领域", cites, query):
            return picked  # out of range: the list below says how many there are
        return (
            f"{plan.name}的“{part.heading}”分{len(part.children)}个领域："
            f"{self._heads(doc, plan, part.children, cites)}。",
            [],
        )

    def _project(self, doc: str, plan: Plan, cites: list[Citation], query: Query):
        part = next((p for p in plan.parts if "项目" in p.title), None)
        if part is None or not part.children:
            return None
        items = [c.id for c in (first_chunk(self.kit.doc_chunks(doc), doc, node) for node in part.children) if c]
        return (
            f"{plan.name}有{len(part.children)}个{part.title}：{self._heads(doc, plan, part.children, cites)}。",
            items,
        )

    def _project_topic(self, doc: str, plan: Plan, cites: list[Citation], query: Query):
        part = next((p for p in plan.parts if "项目" in p.title), None)
        if part is None:
            return None
        topic = self.topic_grams(query)
        text = self.kit.corpus.text(doc)
        named = [n for n in part.children if self.kit.coverage(topic, n.title) >= T.PROJECT_TOPIC_MIN]
        about = named or [n for n in part.children
                          if self.kit.coverage(topic, text[n.start:n.end]) >= T.PROJECT_TOPIC_MIN]
        if not about:
            return None
        items = [c.id for c in (first_chunk(self.kit.doc_chunks(doc), doc, node) for node in about) if c]
        return f"{plan.name}的{part.title}中与此有关的：{self._heads(doc, plan, about, cites)}。", items

    def _part(self, doc: str, plan: Plan, cites: list[Citation], query: Query):
        if not plan.parts:
            return None
        if picked := self._picked(doc, plan, plan.parts, "部分", cites, query):
            return picked
        return f"{plan.name}正文分{len(plan.parts)}个部分：{self._heads(doc, plan, plan.parts, cites, '；')}。", []

    def _domain_rows(self, plan: Plan, rows: list[Chunk], named: list[str], cites: list[Citation]):
        """The rows of the named table domains, each cited by its line."""
        rows = [c for c in rows if flat(self.kit.indicators[c.id].domain) in named]
        names = []
        for c in rows:
            ind = self.kit.indicators[c.id]
            cites.append(self.kit.cite(c, ind.start, ind.end))
            names.append(f"{ind.number}．{ind.name}[{len(cites)}]")
        return (
            f"{plan.name}重点指标中“{'、'.join(named)}”共{len(rows)}项：" + "；".join(names) + "。",
            [c.id for c in rows],
        )

    def _indicator(self, doc: str, plan: Plan, cites: list[Citation], query: Query):
        if not plan.indicators:
            return None
        rows = [c for c in self.kit.retriever.indicators if c.doc == doc and c.plan == plan.key]
        domains = list(dict.fromkeys(flat(i.domain) for i in plan.indicators if i.domain))
        by_domain = DOMAIN_WORDS.search(query.text) and query.ordinal is not None
        if by_domain and (domain := at_ordinal(domains, query.ordinal)) is not None:
            return self._domain_rows(plan, rows, [domain], cites)  # "第三个领域里有哪些指标"
        if (row := at_ordinal(rows, query.ordinal)) is not None:  # "指标表里最后一个指标是啥"
            ind = self.kit.indicators[row.id]
            cites.append(self.kit.cite(row, ind.start, ind.end))
            values = row.text.split("：", 1)[-1].rstrip("。")
            line = f"{plan.name}重点指标表{ordinal_words(query.ordinal)}项是“{ind.name}”：{values}[{len(cites)}]。"
            return line, [c.id for c in rows], [row.id]
        named = [
            d
            for d in dict.fromkeys(flat(i.domain) for i in plan.indicators)
            if d and (d in query.text or title_core(d) in query.text)
        ]
        others = {flat(i.domain) for _, p in self.kit.plans.values() if p is not plan for i in p.indicators if i.domain}
        elsewhere = any(title_core(d) in query.text for d in others)
        if not named and elsewhere:
            return None  # the question names another plan's table domain
        if any(d in query.text for d in others) and not any(d in query.text for d in named):
            return None  # "妇女与教育有哪几项指标": another plan's domain named in full, this plan's by its core only
        if named:  # "妇女与健康有哪几项指标": that domain's rows only
            return self._domain_rows(plan, rows, named, cites)
        if column := asked_column(query, plan):  # "三项指标的评分标准各是多少": that cell of every row
            cells = []
            for c in rows:
                ind = self.kit.indicators[c.id]
                cell = next((cell for cell in ind.columns if cell[0] == column), None)
                if cell is None:
                    continue
                cites.append(self.kit.cite(c, cell[2], cell[3]))
                cells.append(f"{ind.name}：{flat(cell[1])}[{len(cites)}]")
            if cells:
                table = plan.table_title or rows[0].section
                return f"{plan.name}《{table}》各项指标的{column}：" + "；".join(cells) + "。", [c.id for c in rows]
        domains: dict[str, int] = {}
        for ind in plan.indicators:
            domains[ind.domain] = domains.get(ind.domain, 0) + 1
        first = rows[0]
        ind0 = self.kit.indicators[first.id]
        cites.append(self.kit.cite(first, ind0.start, ind0.end))
        by = "、".join(f"{flat(d)}{n}项" for d, n in domains.items() if d)
        spread = f"，分{len(domains)}个领域（{by}）" if by else ""
        table = plan.table_title.replace(plan.title, "") or "指标表"
        line = f"{plan.name}{table}共列{len(plan.indicators)}项指标{spread}[{len(cites)}]"
        if query.intent == Intent.LIST and not any(w in query.text for w in lexicon.STRUCTURE_NOUNS["domain"]):
            names = []
            for k, c in enumerate(rows):
                ind = self.kit.indicators[c.id]
                if k:  # the first row is cited already
                    cites.append(self.kit.cite(c, ind.start, ind.end))
                names.append(f"{ind.number}．{ind.name}[{len(cites)}]")
            line += "：" + "；".join(names)
        return line + "。", [c.id for c in rows]


def asked_column(query: Query, plan: Plan) -> str | None:
    """The column of a table of any header that the question names ("评分标准", "计算公式"), if any."""
    heads = dict.fromkeys(h for i in plan.indicators for h, *_ in i.columns)
    return next((h for h in sorted(heads, key=len, reverse=True) if h and h in query.text), None)


def only_about(query: Query, title: str) -> bool:
    """Does the question ask about this section as a whole ("安全方面的任务有哪些"), not about one
    topic inside it ("心理健康要做什么" is not about all of 健康)?"""
    rest = FRAME.sub("|", query.text.replace(title, "|"))
    rest = SECTION_WORDS.sub("|", rest)
    return len(key_grams(rest)) == 0


def title_core(title: str) -> str:
    """A domain title without its group: "儿童与安全" -> "安全", "妇女参与决策管理" -> "决策管理"."""
    core = DOMAIN_PREFIX.sub("", flat(title))
    return core if len(core) >= 2 else title


def domain_part(plan: Plan) -> Node | None:
    """The part that holds the development domains: named for 任务/领域, else the one with most sections."""
    named = [p for p in plan.parts if re.search("领域|任务", p.title) and p.children]
    if named:
        return named[0]
    with_items = [p for p in plan.parts if any(s.children for s in p.children)]
    return max(with_items, key=lambda p: len(p.children), default=None)


@lru_cache(maxsize=16384)
def title_grams(title: str) -> frozenset[str]:
    """A heading's bigrams, once per heading text (every question compares them with every heading)."""
    return frozenset(char_bigrams(title))


class TitleIndex:
    """Titles behind an inverted index of their bigrams: the ones a question names are found from the
    postings of the question's bigrams, not by testing every title of every plan (at 100 documents
    that test was most of a question's work)."""

    def __init__(self, entries: list[tuple[object, str]]) -> None:
        self.entries = entries  # (what the title belongs to, the title), in a fixed order
        self.grams = [title_grams(title) for _, title in entries]
        postings: dict[str, list[int]] = {}
        for i, grams in enumerate(self.grams):
            for g in grams:
                postings.setdefault(g, []).append(i)
        self.postings = postings

    def named(self, grams: set[str] | frozenset[str], whole: bool = False) -> list[tuple[object, str]]:
        """The entries, in their order, whose title the question names (names_title), or holds every
        bigram of (`whole`). A title needs a bigram in common to be named, so only those are tested."""
        shared = sorted({i for g in grams & self.postings.keys() for i in self.postings[g]})
        if whole:
            return [self.entries[i] for i in shared if self.grams[i] <= grams]
        return [self.entries[i] for i in shared if names_title(self.grams[i], grams)]


def titled_leaves(plan: Plan) -> list[Node]:
    """A plan's leaf sections whose titles may be named: long enough, and not only the document's topic
    ("（一）宫颈癌筛查" of 宫颈癌筛查工作方案)."""
    return [n for n in iter_nodes(plan) if not n.children and len(n.title) >= T.SECTION_TITLE_MIN
            and title_grams(n.title) - title_grams(plan.title)]


def hit_rank(hits: list[Hit], doc: str, node: Node) -> int:
    """The rank of the best retrieved passage inside a node (len(hits) when none is)."""
    return next((r for r, h in enumerate(hits) if h.chunk.doc == doc and node.start <= h.chunk.start < node.end),
                len(hits))


def first_chunk(chunks: list[Chunk], doc: str, node: Node) -> Chunk | None:
    """The first text chunk inside a node (a project's body)."""
    inside = [c for c in chunks if c.doc == doc and c.kind != "indicator" and node.start <= c.start < node.end]
    return min(inside, key=lambda c: c.start, default=None)


def list_draft(strategy: Strategy, title: str, chunks: list[Chunk], limit: int, named: bool = False) -> Draft:
    """Numbered items with their headings, each cited by its heading sentence."""
    kit = strategy.kit
    cites, lines = [], []
    mixed = len({c.plan for c in chunks}) > 1
    for chunk in chunks[:limit]:
        cites.append(kit.cite(chunk, *kit.sentences(chunk)[0]))
        prefix = f"{chunk.plan_name} " if mixed else ""
        lines.append(f"{prefix}{chunk.section.rsplit(' > ', 1)[-1]}[{len(cites)}]")
    shown = chunks[:limit]
    return Draft(
        f"{title}\n" + "\n".join(lines),
        cites,
        "measures",
        strategy.name,
        named=named,
        exact=named,  # a named section's items are a fact of the tree
        chunks=shown,
        items=tuple(c.id for c in shown),
        plans=tuple(dict.fromkeys(c.plan for c in shown)),
    )


class SectionTextStrategy(Strategy):
    """"总体目标是什么", "完善监测评估讲了啥": what a section the question names says, per plan; and
    the later sentence that holds what the question asks beyond the name ("出生缺陷预防项目里 新生儿要筛哪些")."""

    name = "section_text"

    def _later(self, query: Query, node: Node, chunk: Chunk, rest: list[tuple[int, int]]) -> list[tuple[int, int]]:
        asked = query.grams - title_grams(node.title)
        if not asked or not rest:
            return []
        return self.kit.later_sentences(asked, chunk, rest)

    def __init__(self, kit) -> None:
        super().__init__(kit)
        self._leaves: TitleIndex | None = None  # built on first use

    def leaves(self) -> TitleIndex:
        """Every plan's titled leaves (titled_leaves), in the order of the plans and their text."""
        if self._leaves is None:
            self._leaves = TitleIndex([((key, n), n.title) for key, (_, plan) in self.kit.plans.items()
                                       for n in titled_leaves(plan)])
        return self._leaves

    def match(self, query: Query, state: DialogueState | None) -> bool:
        return query.item is None and query.intent in LISTING + (Intent.DEFINITION, Intent.VALUE)

    def _node_text(self, query: Query, doc: str, node: Node) -> tuple[Chunk, list[tuple[int, int]]] | None:
        """A named section's first sentences, or the later one that answers what is asked beyond its name."""
        chunk = first_chunk(self.kit.doc_chunks(doc), doc, node)
        if chunk is None:
            return None
        sents = [se for se in self.kit.sentences(chunk)
                 if self.kit.text_of(chunk, *se).rstrip("。").lstrip("（一二三四五六七八九十）") != node.title]
        if not sents:
            return None
        shown, rest = sents[: T.FALLBACK_SENTENCES], sents[T.FALLBACK_SENTENCES :]
        # the sentence that answers what is asked beyond the name, alone: the answer first
        later = self._later(query, node, chunk, rest)
        return chunk, later or [(shown[0][0], shown[-1][1])]

    def answer(self, query: Query, hits: list[Hit]) -> Draft | None:
        grams = char_bigrams(query.text)
        picked: list[tuple[Chunk, list[tuple[int, int]]]] = []
        leaves: dict[str, list[Node]] = {}  # plan key -> the leaves whose whole title the question holds
        for (key, node), _ in self.leaves().named(grams, whole=True):
            leaves.setdefault(key, []).append(node)
        for key, nodes in leaves.items():
            doc, plan = self.kit.plans[key]
            if (query.plans and key not in query.plans) or (query.docs and doc.doc not in query.docs):
                continue
            # several named ("转诊机构…反馈给初筛机构"): the longest name, then the one retrieval ranks first;
            # a choice between two of them ("初筛机构做还是转诊机构做") shows both, in the document's order
            ranked = sorted(nodes, key=lambda n: (len(n.title), -hit_rank(hits, doc.doc, n)), reverse=True)
            chosen = ranked[:1]
            if "还是" in query.text and len(ranked) > 1 and ranked[1].title not in ranked[0].title:
                chosen = sorted(ranked[:2], key=lambda n: n.start)
            for node in chosen:
                if (found := self._node_text(query, doc.doc, node)) is not None:
                    picked.append(found)
        if not picked:
            return None
        cites, parts = [], []
        for chunk, spans in picked:
            quoted = []
            for s, e in spans:
                cites.append(self.kit.cite(chunk, s, e))
                quoted.append(f"{flat(cites[-1].quote)}[{len(cites)}]")
            parts.append(f"{chunk.plan_name}：" + "……".join(quoted))
        chunks = [c for c, _ in picked]
        return Draft("\n".join(parts), cites, "text", self.name, named=True, chunks=chunks, item=chunks[0].id,
                     plans=tuple(dict.fromkeys(c.plan for c in chunks)))
