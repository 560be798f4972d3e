"""Plan text -> Document tree (plan > part > section > item) and indicator tables. Pure.

Numbering in Chinese plans: "二、" starts a part, "（二）" a section (domain), "3．" a
numbered item (task). Other plans number "第一章" > "第一节" > "一、" > "（一）" > "1．" > "（1）":
the styles a plan uses map, outermost first, onto parts, sections and items (deeper: items
within items). A table is a run of lines that start with a tab, one cell a line, rows
separated by a blank line; a line without a tab continues the cell above ("应救" + "尽救" =
"应救尽救"). An indicator table is known by its title line or by its header (指标 + two years).
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass

from assistant.errors import CorpusError
from assistant.types import KIND_SEPARATOR, Document, Indicator, Node, Plan

log = logging.getLogger(__name__)

CN_NUM = "一二三四五六七八九十"
# A numbered line is never a title: "三、实施方案" is a part heading.
NOT_NUMBERED = rf"(?![{CN_NUM}]+、|[（(]|\d{{1,2}}[．.、]|第\S{{1,4}}[章节])"
# "嘉兴市妇女发展“十四五”规划", "…实施方案（2021—2025年）".
PLAN_TITLE = re.compile(rf"^{NOT_NUMBERED}\S{{2,40}}?(?:规划|纲要|计划|方案|规范|指导原则|办法|细则)"
                        rf"(?:[（(][^（()）\s]{{1,20}}[）)])?$")
TITLE_NOTE = re.compile(r"[（(][^（()）]{1,30}[）)]$")  # "(国卫办妇幼函〔2021〕635号)", "（2015版）"
CHAPTER = re.compile(rf"^第([{CN_NUM}百零〇两\d]{{1,4}})章\s*(.{{0,40}})$")
ARTICLE = re.compile(rf"^第([{CN_NUM}百零〇两\d]{{1,4}})节\s*(.{{0,40}})$")
PART = re.compile(rf"^([{CN_NUM}]+)、(\S.{{0,40}})$")
SECTION = re.compile(rf"^[（(]([{CN_NUM}]+)[）)](.*)$")
ITEM = re.compile(r"^(\d{1,2})[．.、](?!\d)(.*)$")
SUBITEM = re.compile(r"^[（(](\d{1,2})[）)](.*)$")
# Numbering styles, outermost first: 第一章 > 第一节 > 一、 > （一） > 1． > （1）.
STYLES = {"chapter": CHAPTER, "article": ARTICLE, "part": PART, "section": SECTION, "item": ITEM, "sub": SUBITEM}
# "嘉兴市妇女发展“十四五”规划重点指标目标表", "表1 “十四五”时期妇女发展主要指标", "专栏1：主要指标".
TABLE_TITLE = re.compile(rf"^{NOT_NUMBERED}(?:(?:附表|表|专栏)\s*\d{{0,3}}[:：.．\s]*)?\S{{0,40}}指标\S{{0,10}}$")
YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")
VALUE = re.compile(r"^[\d.．,，％%‰<>＜＞≥≤~～+\-－]+$")  # "85.02", "≥95": a row cell, never a header
NO_VALUE = {"-", "－", "—", "/", ""}
# Header cells that name a column: "领域" (or 类别), "序号", "主要统计指标" (not "指标属性"), "单位".
ANNEX = re.compile(r"^附(?:件|表)?\s*\d")
ANNEX_LIST = re.compile(r"^附\s*件\s*[:：]?$|^附\s*件?\s*[:：]\s*\d")  # "附件：" / "附：1.…": the list of annexes
HEADER_WORD = re.compile(r"^[\u4e00-\u9fff（）()/]{2,10}$")  # a column name: a few Chinese words
TARGET_COLUMN = r"评分标准|目标值|目标|考核标准|评价标准|标准值"
HEADER_COLUMNS = {"领域": r"领域|类别|分类", "序号": r"序号|编号", "指标": r"指标(?!属性|类别|性质)", "单位": r"单位"}
TITLE_MAX = 60


def unnumbered(heading: str) -> str:
    """A heading without its number, in any numbering style: "（四）妇女心理健康促进项目" -> 妇女心理健康促进项目."""
    for pattern in STYLES.values():
        if m := pattern.match(heading.strip()):
            return m.group(2).strip() or heading
    return heading
SENTENCE_MARK = re.compile(r"[。；！？，,;!?：:]")


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


NAMED_KINDS = ("women", "children")  # plan kinds known by name (妇女规划, 儿童规划); others by their document


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


def parse_document(text: str, doc: str = "plans", path: str = "", shared: frozenset[str] = frozenset()) -> Document:
    """Parse a corpus file into plans, parts, sections, items and indicator rows.

    `shared` are the plan kinds ("women") that other documents of the corpus have too: a plan of such
    a kind is keyed by its document ("women@doc") and named by its own title, so that no document
    takes another's name by holding a word of it (load_corpus)."""
    if not text.strip():
        raise CorpusError(f"{path or doc}: the document is empty")
    lines = split_lines(text)
    titles = plan_titles(lines)
    document = Document(doc=doc, path=path, text=text, sha256=sha256_text(text))
    if not titles:
        # No recognisable plan title: the whole file is one plan, named by its first line if that
        # reads as a title; the line stays in the body, so its text is still indexed.
        titles_spans = [(0, len(lines), first_line_title(lines) or doc)]
    else:
        bounds = titles + [len(lines)]
        titles_spans = [(bounds[k], bounds[k + 1], lines[bounds[k]].text) for k in range(len(titles))]
        front = [ln for ln in lines[: titles[0]] if ln.text]
        if front:
            document.front = Node(f"{doc}/front", "text", "", "印发通知", "印发通知",
                                  front[0].cstart, front[-1].end)
    for index, (first, last, title) in enumerate(titles_spans):
        key, name = plan_names(title, index)
        if key in shared:
            key, name = f"{key}{KIND_SEPARATOR}{doc}", title
        elif key.startswith("plan"):
            # Any other plan is known by its document: keys stay unique across the corpus
            # (two documents of one plan each are two plans, not both "plan1").
            key = doc if len(titles_spans) == 1 else f"{doc}-{index + 1}"
        if any(p.key == key for p in document.plans):
            # Two plans whose titles both name 妇女: ids (and chunk ids) must still be unique.
            key = f"{key}{index + 1}"
        body_first = first + 1 if titles else first
        plan = Plan(key=key, name=name, title=title, start=lines[first].cstart,
                    end=lines[last - 1].end)
        _parse_plan_body(plan, lines[body_first:last], f"{doc}/{key}")
        plan.end = max([plan.start] + [ln.end for ln in lines[first:last] if ln.text])
        document.plans.append(plan)
    if not any(p.parts or p.indicators for p in document.plans):
        log.warning("%s: no plan structure recognised (no 一、/（一）/1．/第一章 headings, no indicator table); "
                    "indexed by paragraphs", path or doc)
    return document


def plan_titles(lines: list[Line]) -> list[int]:
    """The lines that open a plan (its title), a repeated title line once."""
    return same_plan_once(lines, [i for i, ln in enumerate(lines) if not ln.is_cell and PLAN_TITLE.match(ln.text)])


def plan_kinds(text: str, doc: str) -> frozenset[str]:
    """The keys parse_document(text, doc) gives its plans when no kind is shared, from the title lines
    alone (load_corpus learns which kinds two documents share before it parses anything)."""
    lines = split_lines(text)
    titles = plan_titles(lines)
    if not titles:
        return frozenset({plan_names(first_line_title(lines) or doc, 0)[0]})
    return frozenset(plan_names(lines[i].text, k)[0] for k, i in enumerate(titles))


def same_plan_once(lines: list[Line], titles: list[int]) -> list[int]:
    """Title lines without repeats: a title line followed by the same title again (without its
    note: "乳腺癌筛查工作方案(国卫办妇幼函〔2021〕635号)" ... "乳腺癌筛查工作方案") before any
    heading is the document's heading, not a second plan; the plan starts at the later line."""
    out: list[int] = []
    for i in titles:
        if out:
            prev = out[-1]
            same = TITLE_NOTE.sub("", lines[prev].text) == TITLE_NOTE.sub("", lines[i].text)
            between = [ln.text for ln in lines[prev + 1 : i] if ln.text]
            if same and not any(rx.match(t) for t in between for rx in STYLES.values()):
                out[-1] = i
                continue
        out.append(i)
    return out


def first_line_title(lines: list[Line]) -> str:
    """The first non-blank line when it reads as a title (short, no sentence marks, not numbered), else ""."""
    first = next((ln for ln in lines if ln.text), None)
    if first is None or first.is_cell:
        return ""
    t = first.text
    if len(t) > 40 or SENTENCE_MARK.search(t) or any(rx.match(t) for rx in STYLES.values()):
        return ""
    return t if re.search(r"[\u4e00-\u9fffA-Za-z]", t) else ""


def _extend(node: Node | None, line: Line) -> None:
    if node is not None:
        node.end = max(node.end, line.end)


def _parse_plan_body(plan: Plan, lines: list[Line], base: str) -> None:
    styles = heading_styles(lines)
    path: list[Node] = []  # the open heading at each depth: part, section, item, ...
    rows: tuple[int, int] | None = None  # (first row, line after) of a table known by its header
    in_cells = False
    i = 0
    while i < len(lines):
        ln = lines[i]
        t = ln.text
        if rows is not None and i == rows[0]:
            i, rows = rows[1], None
            continue
        if ln.is_cell and not in_cells and rows is None:
            # A table without a title line, known by its header: the header cells stay text of
            # the section (they are indexed with it), the rows become indicators.
            rows = _header_table(plan, lines, i)
        if ln.is_cell or t:
            in_cells = ln.is_cell
        if not t:
            i += 1
            continue
        if not ln.is_cell and TABLE_TITLE.match(t):
            after = _parse_table(plan, lines, i + 1, title=t)
            if after is not None:
                plan.table_title = t
                i, in_cells = after, False
                continue
            # Not an indicator table we understand: its lines are ordinary text, not dropped.
        style = None if ln.is_cell else next((s for s in styles if STYLES[s].match(t)), None)
        if not ln.is_cell and ANNEX_LIST.match(t):
            # the list of annexes closes the body: its numbered titles are not items of the last section
            node = Node(f"{base}/{len(plan.parts) + 1}", "part", "", "附件", "附件", ln.cstart, ln.end)
            plan.parts.append(node)
            path = [node]
        elif style is not None and styles.index(style) <= len(path):
            depth = styles.index(style)
            path = path[:depth] + [_heading_node(plan, path[:depth], style, STYLES[style].match(t), ln, base)]
        elif not path:
            if plan.preamble is None:
                plan.preamble = Node(f"{base}/preamble", "text", "", "前言", "前言", ln.cstart, ln.end)
            _extend(plan.preamble, ln)
        for node in path:
            _extend(node, ln)
        i += 1


def heading_styles(lines: list[Line]) -> list[str]:
    """The numbering styles a plan uses, outermost first ("第一章", "1．" -> ["chapter", "item"])."""
    used = {s for ln in lines if ln.text and not ln.is_cell for s, rx in STYLES.items() if rx.match(ln.text)}
    return [s for s in STYLES if s in used]


def _heading_node(plan: Plan, path: list[Node], style: str, m: re.Match, ln: Line, base: str) -> Node:
    """The node a heading line opens below `path` (the open headings above it), added to its parent."""
    n, depth = m.group(1), len(path)
    title = heading_title(m.group(2))
    number = {"chapter": f"第{n}章", "article": f"第{n}节", "section": f"（{n}）", "sub": f"（{n}）"}.get(style, n)
    heading = {"chapter": f"第{n}章 {title}".strip(), "article": f"第{n}节 {title}".strip(), "part": f"{n}、{title}",
               "section": f"（{n}）{title}", "item": f"{n}．{title}", "sub": f"（{n}）{title}"}[style]
    siblings = path[-1].children if path else plan.parts
    if depth < 2:  # parts and sections are numbered by position, items by their own number ("…/3")
        node_id = f"{path[-1].id if path else base}/{len(siblings) + 1}"
    else:
        node_id = _item_id(path[-1], n if n.isdecimal() else str(len(siblings) + 1))
    node = Node(node_id, ("part", "section")[depth] if depth < 2 else "item", number, title, heading,
                ln.cstart, ln.end)
    siblings.append(node)
    return node


def _item_id(section: Node, number: str) -> str:
    """"…/3", or "…/3-2" for a second "3．" in the same section (ids must stay unique)."""
    taken = {child.id for child in section.children}
    base = f"{section.id}/{number}"
    k = 1
    while (f"{base}-{k}" if k > 1 else base) in taken:
        k += 1
    return f"{base}-{k}" if k > 1 else base


def _table_cells(lines: list[Line], i: int) -> tuple[list[tuple[str, int, int]], int]:
    """Cells (text, start, end) of the table starting at line i, and the line after it."""
    cells: list[tuple[str, int, int]] = []
    blank = False
    while i < len(lines):
        ln = lines[i]
        if ln.text and not ln.is_cell and blank and cells and ANNEX.match(ln.text):
            break  # "附2" after the table: the next annex, not the rest of a cell
        blank = not ln.text
        if ln.is_cell:
            content = ln.raw.strip()
            lead = len(ln.raw) - len(ln.raw.lstrip())
            cells.append((content, ln.start + lead, ln.start + lead + len(content)))
        elif ln.text:
            t = ln.text
            if not cells or PLAN_TITLE.match(t) or any(rx.match(t) for rx in STYLES.values()):
                break
            text, start, _ = cells[-1]
            cells[-1] = (text + t, start if text else ln.cstart, ln.end)
        i += 1
    return cells, i


def _parse_table(plan: Plan, lines: list[Line], i: int, title: str = "") -> int | None:
    """Indicator rows of the table at line i; the line to go on from, None if not understood."""
    cells, after = _table_cells(lines, i)
    ncols = _header_width(lines, i, cells)
    header = [c[0] for c in cells[:ncols]]
    years = [(k, m.group(1)) for k, h in enumerate(header) if (m := YEAR.search(h))]
    col = {key: next((k for k, h in enumerate(header) if re.search(rx, h)), None) for key, rx in HEADER_COLUMNS.items()}
    if ncols >= 2 and len(years) < 2 and col["指标"] is not None and not any(VALUE.match(h) for h in header):
        return _parse_named_table(plan, lines, cells, ncols, col["指标"], after, title)
    if ncols < 3 or len(years) < 2 or col["指标"] is None:
        return None  # not an indicator table we understand: plain text
    (base_col, base_year), (target_col, target_year) = years[0], years[-1]
    domain = ""
    shared: Indicator | None = None
    body = cells[ncols:]
    full = len(body) - len(body) % ncols
    before = len(plan.indicators)
    for r in range(0, full, ncols):
        row = body[r : r + ncols]
        if not any(c[0] for c in row):
            continue
        if col["领域"] is not None and row[col["领域"]][0]:
            domain = row[col["领域"]][0]
        name_text = row[col["指标"]][0]
        number_text = row[col["序号"]][0] if col["序号"] is not None else ""
        number = _row_number(plan, number_text)
        target_cell = row[target_col]
        own = [c for c in row if c[0]]
        ind = Indicator(
            plan=plan.key, domain=domain, number=number, name=name_text,
            unit=row[col["单位"]][0] if col["单位"] is not None and row[col["单位"]][0] else _unit(name_text),
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
    if len(plan.indicators) == before:
        return None  # a header without a single row: plain text
    return _line_at(lines, body[full][1], after) if any(c[0] for c in body[full:]) else after


def _parse_named_table(plan: Plan, lines: list[Line], cells: list[tuple[str, int, int]], ncols: int,
                       name_col: int, after: int, title: str) -> int | None:
    """Rows of a table of any header ("指标名称 / 指标定义 / 计算公式 / 评分标准"): each row keeps
    every named cell; its target is the cell of the column a target is read from (评分标准,
    目标值 ...; else the last column)."""
    header = [c[0] for c in cells[:ncols]]
    target_col = next((k for k, h in enumerate(header) if re.search(TARGET_COLUMN, h)), ncols - 1)
    body = cells[ncols:]
    full = len(body) - len(body) % ncols
    before = len(plan.indicators)
    for r in range(0, full, ncols):
        row = body[r : r + ncols]
        if not row[name_col][0]:
            if any(c[0] for c in row):  # cells without a name to hang on: not a table of this header
                del plan.indicators[before:]
                return None
            continue
        own = [c for c in row if c[0]]
        target = row[target_col]
        plan.indicators.append(Indicator(
            plan=plan.key, domain="", number=_row_number(plan, ""), name=row[name_col][0], unit=_unit(row[name_col][0]),
            baseline="", target="" if target[0] in NO_VALUE else target[0], target_shared_with=None,
            start=own[0][1], end=own[-1][2], target_start=target[1], target_end=target[2],
            baseline_year="", target_year="",
            columns=tuple((h, c[0], c[1], c[2]) for h, c in zip(header, row) if h and c[0]),
            table=title,
        ))
    if len(plan.indicators) == before:
        return None
    return _line_at(lines, body[full][1], after) if any(c[0] for c in body[full:]) else after


def _header_table(plan: Plan, lines: list[Line], i: int) -> tuple[int, int] | None:
    """(first row line, line after) of an indicator table at line i known by its header alone."""
    before = len(plan.indicators)
    after = _parse_table(plan, lines, i)
    if after is None:
        return None
    return _line_at(lines, plan.indicators[before].start, after), after


def _header_width(lines: list[Line], i: int, cells: list[tuple[str, int, int]]) -> int:
    """Header cells: the first row when it reads as a header, else the leading run of header words.

    The first row (up to a blank line) is the header when it names 指标 and two years and holds
    no value ("序号 指标 单位 2020年 2025年 属性"); the seed's tables give the same width either way.
    """
    run = 0
    while run < len(cells) and re.search(r"领域|序号|指标|(?:19|20)\d\d年", cells[run][0]):
        run += 1
    width = _first_row_width(lines, i)
    header = [c[0] for c in cells[:width]]
    if (run < width and 2 * width <= len(cells) and any(re.search(HEADER_COLUMNS["指标"], h) for h in header)
            and not any(VALUE.match(h) and not re.fullmatch(r"(?:19|20)\d\d年?", h) for h in header)):
        if sum(bool(YEAR.search(h)) for h in header) >= 2 or all(HEADER_WORD.match(h) for h in header):
            return width  # years, or a header of column names only ("指标名称 指标定义 计算公式 评分标准")
    return run


def _first_row_width(lines: list[Line], i: int) -> int:
    """Cell lines from line i up to the first blank line (a wrapped cell's continuation is no cell)."""
    width = 0
    for ln in lines[i:]:
        if ln.is_cell:
            width += 1
        elif not ln.text and width:
            break
    return width


def _row_number(plan: Plan, text: str) -> int:
    """The row's 序号, or the next free number when it is missing or already used ("²" is no 序号)."""
    used = {ind.number for ind in plan.indicators}
    number = int(text) if text.isdecimal() and len(text) <= 6 else len(plan.indicators) + 1
    return number if number not in used else max(used) + 1


def _line_at(lines: list[Line], offset: int, default: int) -> int:
    """Index of the line holding offset: cells of a trailing partial row are read as ordinary text."""
    return next((k for k, ln in enumerate(lines) if ln.start <= offset <= ln.end), default)


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
    if ind.columns:  # a table of any header: named by its own title, its rows by name
        return " > ".join([plan.name, ind.table or "指标表", ind.name])
    return " > ".join([plan.name, "重点指标目标表"] + [ind.domain] * bool(ind.domain) + [f"{ind.number}．{ind.name}"])
