"""Plan text -> Document tree (plan > part > section > item) and indicator tables. Pure.

Numbering in Chinese plans: "二、" starts a part, "（二）" a section (domain), "3．" a
numbered item (task). A table is a run of lines that start with a tab, one cell a line;
a line without a tab continues the cell above ("应救" + "尽救" = "应救尽救").
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from assistant.errors import CorpusError
from assistant.types import Document, Indicator, Node, Plan

CN_NUM = "一二三四五六七八九十"
PLAN_TITLE = re.compile(r"^\S{2,40}?(?:规划|纲要|计划)$")
PART = re.compile(rf"^([{CN_NUM}]+)、(\S.{{0,40}})$")
SECTION = re.compile(rf"^[（(]([{CN_NUM}]+)[）)](.*)$")
ITEM = re.compile(r"^(\d{1,2})[．.、](?!\d)(.*)$")
TABLE_TITLE = re.compile(r"^\S{0,40}指标\S{0,10}表$")
YEAR = re.compile(r"((?:19|20)\d\d)年")
NO_VALUE = {"-", "－", "—", "/", ""}
TITLE_MAX = 60


@dataclass
class Line:
    start: int
    end: int  # end of the content, without the line break
    raw: str

    @property
    def text(self) -> str:
        return self.raw.strip()

    @property
    def cstart(self) -> int:
        """Offset of the first non-blank character."""
        return self.start + len(self.raw) - len(self.raw.lstrip())

    @property
    def is_cell(self) -> bool:
        return self.raw.startswith("\t")


def split_lines(text: str) -> list[Line]:
    """Lines with their offsets; '\\r' and trailing spaces stay outside the content span."""
    lines, pos = [], 0
    for raw in text.split("\n"):
        content = raw.rstrip("\r \u3000")
        lines.append(Line(pos, pos + len(content), content))
        pos += len(raw) + 1
    return lines


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def plan_names(title: str, index: int) -> tuple[str, str]:
    """(key, short name) of a plan: 嘉兴市妇女发展“十四五”规划 -> ("women", "妇女规划")."""
    if "妇女" in title:
        return "women", "妇女规划"
    if "儿童" in title:
        return "children", "儿童规划"
    return f"plan{index + 1}", title


def heading_title(rest: str) -> str:
    """The title part of a heading line: up to the first 。 (or the whole short line)."""
    head = re.split(r"[。；]", rest, maxsplit=1)[0].strip()
    return head[:TITLE_MAX]


def parse_document(text: str, doc: str = "plans", path: str = "") -> Document:
    """Parse a corpus file into plans, parts, sections, items and indicator rows."""
    if not text.strip():
        raise CorpusError(f"{path or doc}: the document is empty")
    lines = split_lines(text)
    titles = [i for i, ln in enumerate(lines) if not ln.is_cell and PLAN_TITLE.match(ln.text)]
    document = Document(doc=doc, path=path, text=text, sha256=sha256_text(text))
    if not titles:
        # No recognisable plan title: the whole file is one unnamed plan.
        titles_spans = [(0, len(lines), doc)]
    else:
        bounds = titles + [len(lines)]
        titles_spans = [(bounds[k], bounds[k + 1], lines[bounds[k]].text) for k in range(len(titles))]
        front = [ln for ln in lines[: titles[0]] if ln.text]
        if front:
            document.front = Node(f"{doc}/front", "text", "", "印发通知", "印发通知",
                                  front[0].cstart, front[-1].end)
    for index, (first, last, title) in enumerate(titles_spans):
        key, name = plan_names(title, index)
        body_first = first + 1 if titles else first
        plan = Plan(key=key, name=name, title=title, start=lines[first].cstart,
                    end=lines[last - 1].end)
        _parse_plan_body(plan, lines[body_first:last], f"{doc}/{key}")
        plan.end = max([plan.start] + [ln.end for ln in lines[first:last] if ln.text])
        document.plans.append(plan)
    return document


def _extend(node: Node | None, line: Line) -> None:
    if node is not None:
        node.end = max(node.end, line.end)


def _parse_plan_body(plan: Plan, lines: list[Line], base: str) -> None:
    part = section = item = None
    i = 0
    while i < len(lines):
        ln = lines[i]
        t = ln.text
        if not t:
            i += 1
            continue
        if not ln.is_cell and TABLE_TITLE.match(t):
            plan.table_title = t
            i = _parse_table(plan, lines, i + 1)
            continue
        if m := PART.match(t):
            part = Node(f"{base}/{len(plan.parts) + 1}", "part", m.group(1), heading_title(m.group(2)),
                        t.rstrip("。"), ln.cstart, ln.end)
            plan.parts.append(part)
            section = item = None
        elif (m := SECTION.match(t)) and part is not None:
            title = heading_title(m.group(2))
            section = Node(f"{part.id}/{len(part.children) + 1}", "section", f"（{m.group(1)}）",
                           title, f"（{m.group(1)}）{title}", ln.cstart, ln.end)
            part.children.append(section)
            item = None
        elif (m := ITEM.match(t)) and section is not None:
            title = heading_title(m.group(2))
            item = Node(f"{section.id}/{m.group(1)}", "item", m.group(1), title,
                        f"{m.group(1)}．{title}", ln.cstart, ln.end)
            section.children.append(item)
        elif part is None:
            if plan.preamble is None:
                plan.preamble = Node(f"{base}/preamble", "text", "", "前言", "前言", ln.cstart, ln.end)
            _extend(plan.preamble, ln)
        for node in (item, section, part):
            _extend(node, ln)
        i += 1


def _table_cells(lines: list[Line], i: int) -> tuple[list[tuple[str, int, int]], int]:
    """Cells (text, start, end) of the table starting at line i, and the line after it."""
    cells: list[tuple[str, int, int]] = []
    while i < len(lines):
        ln = lines[i]
        if ln.is_cell:
            content = ln.raw.strip()
            lead = len(ln.raw) - len(ln.raw.lstrip())
            cells.append((content, ln.start + lead, ln.start + lead + len(content)))
        elif ln.text:
            t = ln.text
            if not cells or PART.match(t) or SECTION.match(t) or ITEM.match(t) or PLAN_TITLE.match(t):
                break
            text, start, _ = cells[-1]
            cells[-1] = (text + t, start if text else ln.cstart, ln.end)
        i += 1
    return cells, i


def _parse_table(plan: Plan, lines: list[Line], i: int) -> int:
    cells, after = _table_cells(lines, i)
    ncols = 0
    while ncols < len(cells) and re.search(r"领域|序号|指标|年", cells[ncols][0]):
        ncols += 1
    header = [c[0] for c in cells[:ncols]]
    years = [(k, YEAR.search(h).group(1)) for k, h in enumerate(header) if YEAR.search(h)]
    col = {name: next((k for k, h in enumerate(header) if name in h), None) for name in ("领域", "序号", "指标")}
    if ncols < 3 or len(years) < 2 or col["指标"] is None:
        return after  # not an indicator table we understand; its text stays unindexed as a table
    (base_col, base_year), (target_col, target_year) = years[0], years[-1]
    domain = ""
    shared: Indicator | None = None
    body = cells[ncols:]
    for r in range(0, len(body) - len(body) % ncols, ncols):
        row = body[r : r + ncols]
        if not any(c[0] for c in row):
            continue
        if col["领域"] is not None and row[col["领域"]][0]:
            domain = row[col["领域"]][0]
        name_text = row[col["指标"]][0]
        number_text = row[col["序号"]][0] if col["序号"] is not None else ""
        number = int(number_text) if number_text.isdigit() else len(plan.indicators) + 1
        target_cell = row[target_col]
        own = [c for c in row if c[0]]
        ind = Indicator(
            plan=plan.key, domain=domain, number=number, name=name_text, unit=_unit(name_text),
            baseline="" if row[base_col][0] in NO_VALUE else row[base_col][0],
            target="" if target_cell[0] in NO_VALUE else target_cell[0],
            target_shared_with=None, start=own[0][1], end=own[-1][2],
            target_start=target_cell[1], target_end=target_cell[2],
            baseline_year=base_year, target_year=target_year,
        )
        if not target_cell[0] and shared is not None:
            # An empty target cell shares the target of the rows above (rows 16-19: 应保尽保).
            ind.target, ind.target_shared_with = shared.target, shared.number
            ind.target_start, ind.target_end = shared.target_start, shared.target_end
        elif target_cell[0]:
            shared = ind
        plan.indicators.append(ind)
    return after


def _unit(name: str) -> str:
    m = re.search(r"[（(]([^（()）]*)[）)]$", name)
    return m.group(1) if m else ""


def iter_nodes(plan: Plan):
    """Every node of a plan, depth first (parts, sections, items)."""
    stack = list(reversed(plan.parts))
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node.children))


def section_path(plan: Plan, *nodes: Node) -> str:
    """"妇女规划 > 二、发展领域的主要任务与措施 > （二）妇女与健康 > 3．提升妇女生殖健康服务水平"."""
    return " > ".join([plan.name] + [n.heading for n in nodes])


def indicator_path(plan: Plan, ind: Indicator) -> str:
    return " > ".join([plan.name, "重点指标目标表", ind.domain, f"{ind.number}．{ind.name}"])
