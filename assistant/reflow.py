"""Raw document text as found (PDF text layers, web-page scrapes) -> the corpus's line format. Pure.

A PDF text layer wraps every line at the page width, puts page numbers between lines and
flattens each table one wrapped cell per line. A web scrape keeps the site navigation and
footer and breaks a line at every inline element ("检测" / "率达" / "95" / "%以上"). The
structure parser expects a paragraph per line and tables in the corpus format ("\\tcell"
lines, a blank line between rows). `reflow` rewrites such text into that format; the result
is what is stored, so every citation is an exact span of the stored text.

Clean text (a paragraph per line, like the bundled plans) comes back unchanged: a line is
joined to the next only where the text itself shows a wrap (a line filled to the page width,
a line that is a bare fragment, a next line that starts with closing punctuation).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

from assistant import lexicon
from assistant.structure import CN_NUM, HEADER_WORD
from assistant.text import CJK, DOC_NUMBER_RX
from assistant.thresholds import (
    CELL_LAST_WIDER,
    CELL_MID_WORD,
    CELL_NOT_A_NAME,
    CELL_ONE_LINE_COLUMN,
    CELL_ROW,
    FRAGMENT_SHARE,
    MAX_CELL_LINES,
    PAGE_NUMBER_GAP,
    WRAP_FILL,
    WRAP_MIN_LINES,
    WRAP_MIN_WIDTH,
    WRAP_SHARE,
    WRAP_SLACK,
)

# A line that opens a heading or a list item: never the continuation of the line above.
STARTS_BLOCK = re.compile(
    rf"^(?:第[{CN_NUM}百零〇两\d]{{1,4}}[章节条]|[{CN_NUM}]+、|[（(][{CN_NUM}\d]{{1,2}}[）)]|\d{{1,2}}[．.、](?!\d)"
    rf"|附件|附\s*\d|附表|[•·●■◆]\s)"
)
# A bare heading number on its own line ("（二）", "1.", "一、"): it belongs with the line after it.
BARE_NUMBER = re.compile(
    rf"^(?:[{CN_NUM}]+、|[（(][{CN_NUM}\d]{{1,2}}[）)]|\d{{1,2}}[．.、]|第[{CN_NUM}\d]{{1,4}}[章节条])$"
)
DOC_NUMBER = re.compile(DOC_NUMBER_RX + r"[）)]?$")  # "国卫妇幼发〔2015〕53号": a line ending in its 文号
PART_HEADING = re.compile(rf"^[{CN_NUM}]+、\S{{2,20}}$")  # "二、工作内容": a heading line of its own
SENTENCE_END = "。；！？!?;…"
CLOSING = "，。、；：！？）》」』”’%％‰,.;:!?)]】"
OPENING = "（《「『“‘([【、"
DATE_START = re.compile(r"^(?:19|20)\d\d(?:年|-\d)")
PAGE_NUMBER = re.compile(r"^(?:[-—－]\s*)?(\d{1,3})(?:\s*[-—－])?$|^第\s*(\d{1,3})\s*页(?:\s*[/共].*)?$")
PARENTHETICAL = re.compile(r"^[（(][^（()）]{1,30}[）)]$")  # "（2015版）", "（信息公开形式：主动公开）"
TITLE_END = re.compile(
    r"(?:规划|纲要|计划|方案|规范|原则|办法|细则|意见|通知|标准|指南)(?:[（(][^（()）]{1,30}[）)])?$"
)
# "到2025 年底", "在 5 个工作日内": a PDF's stray space between a digit or letter and Chinese.
ASCII_CJK_GAP = re.compile(
    rf"(?<=[0-9A-Za-z%％.)])[ \u00a0]+(?=[{CJK}])|(?<=[{CJK}])[ \u00a0]+(?=[0-9A-Za-z(])"
)


def width(text: str) -> int:
    """Display width: a Chinese character is two columns, an ASCII one."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


@dataclass(frozen=True)
class Layout:
    """What the text shows about its source: the wrap width of a PDF, or a fragmented scrape."""

    wrap: int  # display width lines are wrapped at, 0 when lines are not wrapped
    fragmented: bool  # a scrape broken at inline elements


def layout(lines: list[str]) -> Layout:
    body = [ln.strip() for ln in lines if ln.strip() and not ln.startswith("\t")]
    if not body:
        return Layout(0, False)
    widths = Counter(width(ln) for ln in body if width(ln) >= WRAP_MIN_WIDTH)
    wrap = 0
    if widths:
        best, count = max(((w, sum(widths.get(w - d, 0) for d in range(WRAP_SLACK + 1))) for w in widths),
                          key=lambda x: (x[1], x[0]))
        if count >= max(WRAP_SHARE * len(body), WRAP_MIN_LINES):
            wrap = best
    fragments = sum(1 for ln in body if len(ln) <= 3)
    return Layout(wrap, fragments >= FRAGMENT_SHARE * len(body))


def reflow(text: str) -> str:
    """The text with boilerplate, page numbers and line wraps removed, flattened tables as table rows."""
    lines = text.split("\n")
    lines = strip_boilerplate(lines)
    lines = drop_page_numbers(lines)
    shape = layout(lines)
    lines = join_lines(lines, shape)
    lines = [ln if ln.startswith("\t") else ASCII_CJK_GAP.sub("", ln) for ln in lines]
    lines = tables_to_cells(lines)
    return "\n".join(lines)


# ---- boilerplate -----------------------------------------------------------------------------


def strip_boilerplate(lines: list[str]) -> list[str]:
    """A scraped page without the site navigation before its text and the footer after it.

    The page's title line comes first and is repeated where the text starts; the lines between
    are navigation and publishing metadata (kept: 发布时间 and 来源, as document facts). The footer
    starts at the first footer line (网站地图, 版权所有 ...) in the last part of the page.
    """
    texts = [ln.strip() for ln in lines]
    if not any(t in lexicon.PAGE_NAVIGATION for t in texts[:40]):
        return lines
    first = next((i for i, t in enumerate(texts) if t), None)
    if first is None:
        return lines
    title = texts[first]
    again = next((i for i in range(first + 1, min(len(texts), 60)) if texts[i] == title), None)
    kept: list[str] = [lines[first]]
    start = first + 1
    if again is not None:
        meta = _page_metadata(texts[first + 1 : again + 8])
        for fact in meta:  # blank lines around: the facts stay lines of their own
            kept += ["", fact]
        kept.append("")
        start = again + 1
        while start < len(texts) and (not texts[start] or _is_page_meta(texts[start], texts, start)):
            start += 1
    end = len(lines)
    for i in range(len(lines) - 1, max(start, len(lines) * 2 // 3) - 1, -1):
        if any(cue in texts[i] for cue in lexicon.PAGE_FOOTER):
            end = i
    return kept + lines[start:end]


def _page_metadata(texts: list[str]) -> list[str]:
    """"发布时间：2020-11-25" and "来源：妇幼健康司" from a page's metadata lines."""
    out = []
    for k, t in enumerate(texts):
        label = t.rstrip("：: ")
        if label in lexicon.PAGE_FACTS and t != label:
            value = t[len(label) :].lstrip("：: ") or (texts[k + 1] if k + 1 < len(texts) else "")
            if value and not any(value.startswith(m) for m in lexicon.PAGE_METADATA):
                out.append(f"{label}：{value}")
    return out


def _is_page_meta(t: str, texts: list[str], i: int) -> bool:
    """A metadata line after the repeated title ("发布时间：", "2020-11-25", "阅读量：12", "-->")."""
    if any(t.startswith(m) for m in lexicon.PAGE_METADATA) or t in ("-->", "<!--"):
        return True
    if t.rstrip("：: ") in lexicon.PAGE_METADATA_LABELS:
        return True
    prev = texts[i - 1] if i else ""
    return bool(prev) and prev.rstrip("：: ") in lexicon.PAGE_METADATA_LABELS and prev.endswith(("：", ":"))


# ---- page numbers ----------------------------------------------------------------------------


def drop_page_numbers(lines: list[str]) -> list[str]:
    """Without bare page-number lines: the longest run of number lines counting up by one, far apart.

    A number line inside the text ("95" of a scraped "率达 / 95 / %以上") is no page number:
    page numbers count 1, 2, 3 ... through the document, many lines apart.
    """
    numbered = [(i, int(m.group(1) or m.group(2))) for i, ln in enumerate(lines)
                if not ln.startswith("\t") and (m := PAGE_NUMBER.match(ln.strip()))]
    best: list[int] = []
    for k, (i, n) in enumerate(numbered):
        chain, last_i, last_n = [i], i, n
        for j, m in numbered[k + 1 :]:
            if m == last_n + 1 and j - last_i >= PAGE_NUMBER_GAP:
                chain.append(j)
                last_i, last_n = j, m
        if len(chain) > len(best):
            best = chain
    if len(best) < 2:
        return lines
    drop = set(best)
    return [ln for i, ln in enumerate(lines) if i not in drop]


# ---- line joins ------------------------------------------------------------------------------


def join_lines(lines: list[str], shape: Layout) -> list[str]:
    out: list[str] = []
    for ln in lines:
        if out and ln.strip() and not ln.startswith("\t") and out[-1].strip() and not out[-1].startswith("\t") \
                and continues(out[-1].strip(), ln.strip(), shape):
            out[-1] = _glue(out[-1].rstrip(), ln.strip())
        else:
            out.append(ln)
    return out


def _glue(a: str, b: str) -> str:
    return f"{a} {b}" if re.search(r"[A-Za-z]$", a) and re.match(r"[A-Za-z]", b) else a + b


def continues(prev: str, line: str, shape: Layout) -> bool:
    """Whether `line` continues `prev`, the (joined) line above it."""
    if BARE_NUMBER.match(prev):
        return True  # "（二）" / "具体目标。": a heading split from its number
    if line[0] in CLOSING and not STARTS_BLOCK.match(line):
        return True
    if PARENTHETICAL.match(line) and TITLE_END.search(prev) and not PARENTHETICAL.match(prev):
        return True  # "人类辅助生殖技术配置规划指导原则" / "（2015版）"
    if STARTS_BLOCK.match(line) or prev[-1] in SENTENCE_END or DOC_NUMBER.search(prev):
        return False
    if shape.wrap:
        # A PDF: a line filled to the wrap width goes on; a shorter one ends its paragraph.
        return width(prev) >= shape.wrap * WRAP_FILL and not DATE_START.match(line)
    if not shape.fragmented:
        return prev[-1] in OPENING
    # A fragmented scrape: every line goes on unless it ends a title, a heading, a date or a
    # parenthetical.
    if prev[-1] in OPENING:
        return True
    if PART_HEADING.match(prev) or prev[-1] in "：:" or DOC_NUMBER.search(prev):
        return False
    if TITLE_END.search(prev) and not _inside_brackets(prev):
        return False
    if PARENTHETICAL.match(prev) or DATE_START.match(line) or re.search(r"\d日$", prev):
        return False
    return True


def _inside_brackets(text: str) -> bool:
    """Whether the text ends inside an open 《 or “ (a title named in a sentence goes on)."""
    return text.count("《") > text.count("》") or text.count("“") > text.count("”")


# ---- flattened tables ------------------------------------------------------------------------


def tables_to_cells(lines: list[str]) -> list[str]:
    """Tables flattened one wrapped cell per line (a PDF) -> table rows in the corpus format.

    Such a table is known by its title line (…指标表) and a header line of column names
    separated by spaces ("指标名称 指标定义 计算公式 指标评价"); it ends at a page number,
    an 附 line or a heading. Its wrapped cells are found by `segment_cells`.
    """
    out: list[str] = []
    i = 0
    while i < len(lines):
        header = _header_at(lines, i)
        if header is None:
            out.append(lines[i])
            i += 1
            continue
        columns, body_start = header
        end = body_start
        while end < len(lines) and lines[end].strip() and not lines[end].startswith("\t") \
                and not STARTS_BLOCK.match(lines[end].strip()) and not re.search(r"[。；]$", lines[end].strip()):
            end += 1
        body = [lines[k].strip() for k in range(body_start, end)]
        named = {k for k, h in enumerate(columns) if re.search(r"名称|定义", h)}
        rows = segment_cells(body, len(columns), named)
        if rows is None:
            out.append(lines[i])
            i += 1
            continue
        out.append("")
        out.append("\n".join("\t" + c for c in columns))
        for row in rows:
            out.append("")
            out.append("\n".join("\t" + "".join(cell) for cell in row))
        out.append("")
        i = end
    return out


def _header_at(lines: list[str], i: int) -> tuple[list[str], int] | None:
    """(column names, first body line) when line i is a space-separated header of a table."""
    t = lines[i].strip()
    if lines[i].startswith("\t") or " " not in t or i == 0 or not re.search(r"指标\S{0,4}表$", lines[i - 1].strip()):
        return None
    words = t.split()
    if len(words) < 3 or not all(HEADER_WORD.match(w) for w in words):
        return None
    nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
    body_start = i + 1
    if nxt in lexicon.TABLE_SUBHEADERS:
        words[-1] = nxt  # "指标评价" over "评分标准": the lower header names the column
        body_start += 1
    return words, body_start


def segment_cells(body: list[str], ncols: int, named: set[int] | None = None) -> list[list[list[str]]] | None:
    """Rows of cells (each a list of its wrapped lines) of a flattened table body, or None.

    A cell's text is wrapped at its column's width, so within a cell every line but the last
    is about as wide as the column. Dynamic programming over the lines chooses the cuts
    (cells of columns 1..n, row after row) that fit that best; a second pass uses each
    column's typical width, so a short cell cannot swallow the next column's lines. A cell of
    the name and definition columns (指标名称, 指标定义) ends like a measure's name (…率, …比例).
    """
    n = len(body)
    if n < ncols:
        return None
    widths = [width(t) for t in body]
    named = named or set()
    mid_word = [straddles(body[k], body[k + 1]) for k in range(n - 1)] + [False]
    # a cut after line k that ends a name or definition cell costs extra unless the line ends a name
    not_a_name = [t[-1] not in lexicon.MEASURE_NAME_ENDS for t in body]
    joints = list(zip(mid_word, not_a_name))
    rows = _best_cuts(widths, ncols, None, joints, named)
    if rows is None:
        return None
    for _ in range(2):
        column = [sorted(max(widths[a:b]) for a, b in (r[c] for r in rows)) for c in range(ncols)]
        typical = [col[len(col) // 2] for col in column]
        single = [sorted(b - a for a, b in (r[c] for r in rows))[len(rows) // 2] == 1 for c in range(ncols)]
        typical = [(w, one) for w, one in zip(typical, single)]
        again = _best_cuts(widths, ncols, typical, joints, named)
        if again is None or again == rows:
            break
        rows = again
    return [[body[a:b] for a, b in row] for row in rows]


def _cell_cost(widths: list[int], a: int, b: int, typical: tuple[int, bool] | None) -> float:
    """How badly lines a..b fit one wrapped cell: lines before the last short of the widest, a
    last line wider than the ones above it (a wrap never leaves more on the last line), and with
    `typical` the column's usual width, a cell wider than its column."""
    top = max(widths[a:b])
    cost = sum((top - w) ** 2 for w in widths[a : b - 1])
    if b - a > 1:
        cost += (max(widths[b - 1] - max(widths[a : b - 1]), 0) * CELL_LAST_WIDER) ** 2
    if typical is not None:
        usual, one_line = typical
        cost += (max(top - usual, 0) * 2) ** 2 + max(usual - top - 4, 0) ** 2
        cost += CELL_ONE_LINE_COLUMN * (b - a - 1) * one_line
    return cost


def straddles(above: str, below: str) -> bool:
    """Whether a word runs on from one line into the next ("…防治核" / "心知识…" makes 核心): the
    two lines are one cell wrapped mid-word, never two cells."""
    import jieba

    tail, head = above[-4:], below[:4]
    pos = 0
    for word in jieba.cut(tail + head, HMM=False):
        if pos < len(tail) < pos + len(word) and re.search(rf"[{CJK}]", word):
            return True
        pos += len(word)
    return False


def _best_cuts(widths: list[int], ncols: int, typical: list[tuple[int, bool]] | None,
               joints: list[tuple[bool, bool]], named: set[int]) -> list[list[tuple[int, int]]] | None:
    """The cheapest cut of lines into whole rows of `ncols` cells (each at most MAX_CELL_LINES lines)."""
    n = len(widths)
    inf = float("inf")
    # best[i][c]: cost of lines[:i] ending just before a cell of column c
    best = [[inf] * ncols for _ in range(n + 1)]
    back: dict[tuple[int, int], int] = {}
    best[0][0] = 0.0
    for i in range(n):
        for c in range(ncols):
            if best[i][c] == inf:
                continue
            for j in range(i + 1, min(n, i + MAX_CELL_LINES) + 1):
                cost = best[i][c] + _cell_cost(widths, i, j, typical[c] if typical else None)
                mid_word, not_a_name = joints[j - 1]
                cost += CELL_MID_WORD * mid_word + CELL_NOT_A_NAME * (not_a_name and c in named)
                if c == 0:
                    cost += CELL_ROW
                nc = (c + 1) % ncols
                if cost < best[j][nc]:
                    best[j][nc] = cost
                    back[(j, nc)] = i
    if best[n][0] == inf:
        return None
    cuts, j, c = [], n, 0
    while j > 0:
        i = back[(j, c)]
        cuts.append((i, j))
        j, c = i, (c - 1) % ncols
    cuts.reverse()
    return [cuts[k : k + ncols] for k in range(0, len(cuts), ncols)]
