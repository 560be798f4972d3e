"""Plan files -> plain text the structure parser reads: .txt, .md, .docx, .pdf, .html. [I/O]

Every text is reflowed (assistant.reflow): PDF line wraps, page numbers, a scraped page's
navigation and footer and flattened tables become the corpus format, and what is stored is
that text, so citations are exact spans of it. Clean text is left as it is.

Tables (docx, html, markdown) are written in the corpus's table format: one line per cell
starting with a tab, rows separated by a blank line. A merged cell keeps its text in its first
grid position and is empty in the others, so a 领域 cell merged down over four rows reads as the
parser expects: the domain on the first row, empty cells below ("a 领域 cell spans the rows below").
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

from assistant.errors import CorpusError
from assistant.reflow import reflow
from assistant.text import CJK

CJK_GAP = re.compile(rf"(?<=[{CJK}])[^\S\n]+(?=[{CJK}])")  # HTML's "妇女\n  发展" -> "妇女发展"
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")  # tab and newline stay

# ---- what one file may cost to parse ----------------------------------------------------------
# A hostile file is small on disk and huge once parsed: 5 million <w:p/> are 80 KB zipped, one
# gridSpan="100000000" is 37 KB. Each limit is checked before the memory is spent, and a file over it
# is refused with a CorpusError naming the file and the limit (ingest reads every file first, so
# nothing changes). The limits are far above real plans: the seed corpus (both plans, 73 KB of text)
# as a .docx is 24,000 elements and 1 MB of XML, most of both python-docx's styles; twenty copies of
# it in one file are 133,000 elements and 5 MB. Its tables have 215 cells.
UNZIP_RATIO = 20  # a .docx that inflates to more than 20x the size limit is refused (zip bomb)
# Uncompressed XML of a .docx's parts together: room for the 20 MB of text load_file allows, with
# markup; just under it, a file of long runs costs ~10 s and 300 MB.
MAX_XML_BYTES = 64_000_000
# Elements of a .docx's XML parts together, or of an HTML page. python-docx needs 20-30 us (its
# Paragraph.text runs an XPath) and ~250 bytes for an empty paragraph, so a hostile file just under
# this limit still costs 10-15 s and 200 MB, about what the index rebuild after an ingest takes.
MAX_ELEMENTS = 500_000
# Table grid positions of one file; a merged cell counts every position it covers, since the grid
# holds them all. A large statistics table is 1,000 rows x 20 columns.
MAX_CELLS = 200_000
MAX_SPAN = 1000  # a rowspan/colspan beyond this is malformed, not a table (browsers clamp HTML's to it)
XML_CHUNK = 1 << 20  # a .docx part is read this much at a time while it is counted


def load_file(path: str | Path, max_bytes: int = 20_000_000) -> str:
    """The text of a plan file, or a CorpusError that names the file and says what is wrong."""
    p = Path(path)
    loader = LOADERS.get(p.suffix.lower())
    if loader is None:
        raise CorpusError(f"{p}: unsupported file type {p.suffix or '(no extension)'!r} "
                          f"(supported: {', '.join(LOADERS)})")
    if not p.is_file():
        raise CorpusError(f"{p}: no such file")
    size = p.stat().st_size
    if size == 0:
        raise CorpusError(f"{p}: the file is empty")
    if size > max_bytes:
        raise CorpusError(f"{p}: {size:,} bytes is over the {max_bytes:,}-byte limit (ASSISTANT_MAX_FILE_BYTES)")
    try:
        text = clean_text(reflow(clean_text(loader(p, max_bytes))))
    except CorpusError:
        raise
    except Exception as exc:  # every parser fails differently on a corrupt file; the user needs the file name
        raise CorpusError(f"{p}: not a readable {p.suffix.lower()} file ({type(exc).__name__}: {exc})") from exc
    if not text.strip():
        hint = " (a scanned PDF without a text layer?)" if p.suffix.lower() == ".pdf" else ""
        raise CorpusError(f"{p}: no text found{hint}")
    if len(text.encode("utf-8")) > max_bytes:
        raise CorpusError(f"{p}: the extracted text is over the {max_bytes:,}-byte limit (ASSISTANT_MAX_FILE_BYTES)")
    return text


def clean_text(text: str) -> str:
    """Unix line ends, no control characters (tab and newline stay), one final newline."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    text = CONTROL.sub("", text)
    lines = [ln.rstrip(" \u3000") for ln in text.split("\n")]
    return "\n".join(lines).strip("\n") + "\n"


def decode_utf8(data: bytes, path: Path) -> str:
    """UTF-8 text (a BOM is dropped); a clear error for binary or other encodings."""
    if b"\x00" in data[:4096]:
        raise CorpusError(f"{path}: looks like a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorpusError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); "
                          "save it as UTF-8 and try again") from exc


def format_table(rows: Iterable[list[str]]) -> str:
    """Rows of cells in the corpus table format: "\\tcell" lines, a blank line between rows."""
    out = []
    for row in rows:
        cells = [one_line(c) for c in row]
        if any(cells):
            out.append("\n".join("\t" + c for c in cells))
    return "\n\n".join(out)


class TableBudget:
    """The table grid positions a file may still fill (MAX_CELLS), checked before a grid is built."""

    def __init__(self, path: Path, limit: int = MAX_CELLS) -> None:
        self.path, self.limit, self.left = path, limit, limit

    def check(self, n: int) -> None:
        if n > self.left:
            raise CorpusError(f"{self.path}: its tables have more than {self.limit:,} cells, counting every "
                              "position a merged cell covers (limit MAX_CELLS)")

    def spend(self, n: int) -> None:
        self.check(n)
        self.left -= n

    def span(self, n: int, what: str) -> int:
        """A .docx span, refused past MAX_SPAN (Word tables have at most 63 columns); negatives count as 0."""
        if n > MAX_SPAN:
            raise CorpusError(f"{self.path}: a table has {what}={n:,}, over the {MAX_SPAN:,}-column limit "
                              "(limit MAX_SPAN)")
        return max(n, 0)


def one_line(text: str) -> str:
    """A cell's or paragraph's text on one line: "应救\\n尽救" -> "应救尽救", "a\\nb" -> "a b"."""
    text = re.sub(r"\s*\n\s*", "\n", text.replace("\t", " ").strip())
    text = re.sub(rf"(?<=[{CJK}])\n|\n(?=[{CJK}])", "", text)
    return re.sub(r"\s+", " ", text)


# ---- txt and markdown ------------------------------------------------------------------------


def load_txt(path: Path, max_bytes: int) -> str:
    return decode_utf8(path.read_bytes(), path)


MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$")
MD_RULE = re.compile(r"^\s{0,3}([-*_])(?:\s*\1){2,}\s*$")
MD_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")


def load_md(path: Path, max_bytes: int) -> str:
    """Markdown as plain lines: "# 标题" -> "标题", pipe tables -> table rows, emphasis and links unwrapped."""
    out: list[str] = []
    table: list[list[str]] = []
    for line in decode_utf8(path.read_bytes(), path).splitlines():
        if line.lstrip().startswith("|"):
            if not MD_TABLE_SEP.match(line):
                table.append(_md_cells(line))
            continue
        if table:
            out += ["", format_table(table), ""]
            table = []
        if MD_RULE.match(line):
            continue
        if m := MD_HEADING.match(line):
            line = m.group(1)
        out.append(_md_inline(re.sub(r"^\s{0,3}>\s?", "", line)))
    if table:
        out += ["", format_table(table)]
    return "\n".join(out)


def _md_cells(line: str) -> list[str]:
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    return [_md_inline(c.replace("\\|", "|")).strip() for c in re.split(r"(?<!\\)\|", body)]


def _md_inline(text: str) -> str:
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # [text](url), ![alt](src)
    text = re.sub(r"(\*\*|__|`)", "", text)
    return re.sub(r"(?<![\w*])\*(?=\S)([^*]+?)(?<=\S)\*(?![\w*])", r"\1", text)


# ---- docx ------------------------------------------------------------------------------------


def load_docx(path: Path, max_bytes: int) -> str:
    """Paragraphs and tables in body order; table cells on the grid, merged cells empty after the first."""
    import docx
    from docx.table import Table

    check_docx_package(path, max_bytes)  # before python-docx inflates and parses every part
    cells = TableBudget(path)
    blocks = []
    for block in docx.Document(str(path)).iter_inner_content():
        if isinstance(block, Table):
            blocks.append(format_table(docx_rows(block, cells)))
        else:
            blocks.append("\n".join(ln.strip() for ln in block.text.replace("\t", " ").split("\n")))
    return "\n\n".join(b for b in blocks if b.strip())


def check_docx_package(path: Path, max_bytes: int) -> None:
    """Refuse a .docx that inflates in memory: its unzipped size, then its XML parts' bytes and elements,
    counted from a stream before anything is parsed into a tree."""
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
        if sum(i.file_size for i in infos) > UNZIP_RATIO * max_bytes:  # zip bomb
            raise CorpusError(f"{path}: the .docx inflates to more than {UNZIP_RATIO}x the size limit")
        xml_bytes = elements = 0
        for info in infos:  # every member, whatever its name: python-docx finds parts by relationship
            with z.open(info) as member:  # zipfile stops at the declared size (a longer member fails its CRC)
                counted = count_xml(member, MAX_XML_BYTES - xml_bytes, MAX_ELEMENTS - elements)
            if counted is None:
                continue
            xml_bytes, elements = xml_bytes + counted[0], elements + counted[1]
            if xml_bytes > MAX_XML_BYTES:
                raise CorpusError(f"{path}: the .docx's XML inflates to more than {MAX_XML_BYTES:,} bytes "
                                  "(limit MAX_XML_BYTES)")
            if elements > MAX_ELEMENTS:
                raise CorpusError(f"{path}: the .docx has more than {MAX_ELEMENTS:,} XML elements "
                                  "(limit MAX_ELEMENTS)")


class _CountTags:
    """An lxml parser target that counts start tags and keeps nothing (no tree is built)."""

    def __init__(self) -> None:
        self.count = 0

    def start(self, tag, attrib) -> None:
        self.count += 1

    def close(self) -> int:
        return self.count


def count_xml(stream, max_bytes: int, max_elements: int) -> tuple[int, int] | None:
    """(bytes, elements) of an XML stream, read until it ends or passes either limit; None if it is not XML.

    The parser has python-docx's settings, so it reads exactly what python-docx would; a part that
    turns bad midway counts up to there (python-docx stops there too)."""
    from lxml import etree

    target = _CountTags()
    parser = etree.XMLParser(target=target, resolve_entities=False)
    size = 0
    try:
        while size <= max_bytes and target.count <= max_elements:
            chunk = stream.read(XML_CHUNK)
            if not chunk:
                parser.close()  # the last tags are reported only here
                break
            size += len(chunk)
            parser.feed(chunk)
    except etree.XMLSyntaxError:
        pass
    return (size, target.count) if target.count else None


def docx_rows(table, cells: TableBudget) -> list[list[str]]:
    """A python-docx table as a grid of cell texts (horizontal and vertical merges: "" after the first)."""
    from docx.table import _Cell

    trs = [(row, row._tr.tc_lst) for row in table.rows]  # <w:tc>s: python-docx's row.cells repeats merged cells
    widths = [cells.span(row.grid_cols_before, "gridBefore") + cells.span(row.grid_cols_after, "gridAfter")
              + sum(max(cells.span(tc.grid_span, "gridSpan"), 1) for tc in tcs) for row, tcs in trs]
    cells.spend(len(trs) * max(widths, default=0))  # the padded grid, before any of it is built
    rows = []
    for row, tcs in trs:
        grid = [""] * row.grid_cols_before
        for tc in tcs:
            text = "" if tc.vMerge == "continue" else _docx_cell_text(_Cell(tc, table))
            grid += [text] + [""] * (tc.grid_span - 1)
        rows.append(grid + [""] * row.grid_cols_after)
    width = max(map(len, rows), default=0)
    return [r + [""] * (width - len(r)) for r in rows]


def _docx_cell_text(cell) -> str:
    return one_line("\n".join(p.text for p in cell.paragraphs))


# ---- pdf -------------------------------------------------------------------------------------


def load_pdf(path: Path, max_bytes: int) -> str:
    """The text layer of every page, one page after the other: a sentence that runs on to the next
    page stays one paragraph for reflow to join (the page number between is dropped there)."""
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    if reader.is_encrypted and not reader.decrypt(""):
        raise CorpusError(f"{path}: the PDF is encrypted")
    return "\n".join((page.extract_text() or "").strip() for page in reader.pages)


# ---- html ------------------------------------------------------------------------------------

HTML_SKIP = {"script", "style", "head", "noscript", "template", "svg", "iframe", "object", "button", "select"}
HTML_BLOCK = {"p", "div", "section", "article", "main", "header", "footer", "aside", "nav", "h1", "h2", "h3",
              "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt", "dd", "blockquote", "pre", "figure",
              "figcaption", "address", "center", "form", "fieldset", "caption", "hr", "body",
              "table", "tbody", "thead", "tfoot", "tr", "td", "th"}  # cells of a layout table are blocks
LAYOUT_CELL = 300  # a cell this long holds page text (a layout table), not a table value
CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w-]+)""", re.I)


def load_html(path: Path, max_bytes: int) -> str:
    """Visible text by blocks (p, h1-h6, li, div ...) in order; tables as table rows."""
    import lxml.html

    text = _html_text(path.read_bytes(), path)
    check_html_elements(text, path)
    parser = lxml.html.HTMLParser()
    root = lxml.html.document_fromstring(text, parser=parser)
    _check_html_parse(parser, path)
    out = _HtmlText(TableBudget(path))
    out.walk(root.find("body") if root.find("body") is not None else root)
    out.flush()
    return "\n\n".join(out.blocks)


def _html_text(data: bytes, path: Path) -> str:
    """UTF-8, or the charset the page declares (many government pages are GBK)."""
    try:
        return decode_utf8(data, path)
    except CorpusError:
        m = CHARSET.search(data[:4096])
        if not m:
            raise
        name = m.group(1).decode("ascii").lower()
        name = "gb18030" if name in ("gb2312", "gbk") else name
        try:
            return data.decode(name)
        except (LookupError, UnicodeDecodeError) as exc:
            raise CorpusError(f"{path}: not readable as its declared charset {name} ({exc})") from exc


def check_html_elements(text: str, path: Path) -> None:
    """Refuse a page of more than MAX_ELEMENTS elements before it is parsed: each start tag opens with
    a "<" that no "/" follows, so this count is never below the tags the parser reads ("<7" adds one)."""
    if text.count("<") - text.count("</") > MAX_ELEMENTS:
        raise CorpusError(f"{path}: the page has more than {MAX_ELEMENTS:,} elements (limit MAX_ELEMENTS)")


# libxml2 (without XML_PARSE_HUGE) stops at these and keeps the tree so far, raising nothing: the
# rest of the page would be lost without a word, so a page that hits one is refused.
HTML_STOPS = {"Buffer size limit": "a text or attribute value longer than 10,000,000 bytes",
              "Excessive depth": "elements nested more than 256 deep"}


def _check_html_parse(parser, path: Path) -> None:
    """A clear error where the HTML parser stopped early (its FATAL errors); the page is read to its end otherwise."""
    from lxml import etree

    for e in parser.error_log.filter_from_level(etree.ErrorLevels.FATAL):
        reason = next((why for key, why in HTML_STOPS.items() if key in e.message), e.message.strip())
        raise CorpusError(f"{path}: the HTML parser stops at line {e.line}, column {e.column}: {reason}; "
                          "the text after it would be lost")


class _HtmlText:
    """Collects text blocks from an lxml tree; inline text runs are joined within a block."""

    def __init__(self, cells: TableBudget) -> None:
        self.cells = cells
        self.blocks: list[str] = []
        self.run: list[str] = []

    def flush(self) -> None:
        lines = [ln.strip() for ln in CJK_GAP.sub("", re.sub(r"[^\S\n]+", " ", "".join(self.run))).split("\n")]
        text = "\n".join(ln for ln in lines if ln)
        if text:
            self.blocks.append(text)
        self.run = []

    def walk(self, el) -> None:
        tag = el.tag.lower() if isinstance(el.tag, str) else ""  # comments have a function as tag
        if tag and tag not in HTML_SKIP:
            if tag == "table" and not is_layout_table(el):
                self.flush()
                self.blocks.append(format_table(html_rows(el, self.cells)))
            elif tag == "br":
                self.run.append("\n")
            else:
                block = tag in HTML_BLOCK
                if block:
                    self.flush()
                self.run.append(_plain(el.text))
                for child in el:
                    self.walk(child)
                if block:
                    self.flush()
        self.run.append(_plain(el.tail))


def _plain(text: str | None) -> str:
    """Source text without its line breaks (a browser shows them as a space)."""
    return (text or "").replace("\n", " ")


def is_layout_table(table) -> bool:
    """A table that lays out the page (many government sites): a nested table, or a cell of running text."""
    if table.xpath(".//table"):
        return True
    return any(len(td.text_content()) > LAYOUT_CELL for td in table.xpath(".//td|.//th"))


def html_rows(table, cells: TableBudget | None = None) -> list[list[str]]:
    """An HTML table as a grid of cell texts; rowspan/colspan positions after the first are ""."""
    rows = [[(_cell_text(td), _span(td, "colspan"), _span(td, "rowspan")) for td in tr.xpath("./td|./th")]
            for tr in table.xpath("./tr|./thead/tr|./tbody/tr|./tfoot/tr")]
    return span_grid(rows, cells)


def _cell_text(td) -> str:
    parts = [t for t in td.xpath(".//text()[not(ancestor::script) and not(ancestor::style)]")]
    return one_line(CJK_GAP.sub("", re.sub(r"\s+", " ", "".join(parts))))


def _span(td, name: str) -> int:
    value = (td.get(name) or "1").strip()
    return min(int(value), MAX_SPAN) if value.isdigit() and int(value) > 0 else 1


def span_grid(rows: list[list[tuple[str, int, int]]], cells: TableBudget | None = None) -> list[list[str]]:
    """(text, colspan, rowspan) rows -> a rectangular grid; a spanned position holds "" (text stays first).

    With a budget, what the spans cover is checked before it is marked, and the grid before it is built:
    1,000 cells of rowspan=colspan=1000 would otherwise mark half a billion positions."""
    taken: set[tuple[int, int]] = set()
    grid: dict[tuple[int, int], str] = {}
    for r, row in enumerate(rows):
        c = 0
        for text, colspan, rowspan in row:
            while (r, c) in taken:
                c += 1
            height = min(rowspan, len(rows) - r)
            if cells is not None:
                cells.check(len(taken) + height * colspan)
            taken.update((r + dr, c + dc) for dr in range(height) for dc in range(colspan))
            grid[(r, c)] = text
            c += colspan
    width = max((c + 1 for _, c in taken), default=0)
    if cells is not None:
        cells.spend(len(rows) * width)
    return [[grid.get((r, c), "") for c in range(width)] for r in range(len(rows))]


LOADERS: dict[str, Callable[[Path, int], str]] = {
    ".txt": load_txt, ".md": load_md, ".docx": load_docx, ".pdf": load_pdf, ".html": load_html, ".htm": load_html,
}
