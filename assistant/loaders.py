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
MAX_SPAN = 1000  # a rowspan/colspan beyond this is malformed, not a table
UNZIP_RATIO = 20  # a .docx that inflates to more than 20x the size limit is refused (zip bomb)


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

    with zipfile.ZipFile(path) as z:  # refuse a zip bomb before python-docx inflates it
        if sum(i.file_size for i in z.infolist()) > UNZIP_RATIO * max_bytes:
            raise CorpusError(f"{path}: the .docx inflates to more than {UNZIP_RATIO}x the size limit")
    blocks = []
    for block in docx.Document(str(path)).iter_inner_content():
        if isinstance(block, Table):
            blocks.append(format_table(docx_rows(block)))
        else:
            blocks.append("\n".join(ln.strip() for ln in block.text.replace("\t", " ").split("\n")))
    return "\n\n".join(b for b in blocks if b.strip())


def docx_rows(table) -> list[list[str]]:
    """A python-docx table as a grid of cell texts (horizontal and vertical merges: "" after the first)."""
    from docx.table import _Cell

    rows = []
    for row in table.rows:
        cells = [""] * row.grid_cols_before
        for tc in row._tr.tc_lst:  # the <w:tc> elements: python-docx's row.cells repeats merged cells
            text = "" if tc.vMerge == "continue" else _docx_cell_text(_Cell(tc, table))
            cells += [text] + [""] * (tc.grid_span - 1)
        rows.append(cells + [""] * row.grid_cols_after)
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

    root = lxml.html.document_fromstring(_html_text(path.read_bytes(), path))
    out = _HtmlText()
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


class _HtmlText:
    """Collects text blocks from an lxml tree; inline text runs are joined within a block."""

    def __init__(self) -> None:
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
                self.blocks.append(format_table(html_rows(el)))
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


def html_rows(table) -> list[list[str]]:
    """An HTML table as a grid of cell texts; rowspan/colspan positions after the first are ""."""
    rows = [[(_cell_text(td), _span(td, "colspan"), _span(td, "rowspan")) for td in tr.xpath("./td|./th")]
            for tr in table.xpath("./tr|./thead/tr|./tbody/tr|./tfoot/tr")]
    return span_grid(rows)


def _cell_text(td) -> str:
    parts = [t for t in td.xpath(".//text()[not(ancestor::script) and not(ancestor::style)]")]
    return one_line(CJK_GAP.sub("", re.sub(r"\s+", " ", "".join(parts))))


def _span(td, name: str) -> int:
    value = (td.get(name) or "1").strip()
    return min(int(value), MAX_SPAN) if value.isdigit() and int(value) > 0 else 1


def span_grid(rows: list[list[tuple[str, int, int]]]) -> list[list[str]]:
    """(text, colspan, rowspan) rows -> a rectangular grid; a spanned position holds "" (text stays first)."""
    taken: set[tuple[int, int]] = set()
    grid: dict[tuple[int, int], str] = {}
    for r, cells in enumerate(rows):
        c = 0
        for text, colspan, rowspan in cells:
            while (r, c) in taken:
                c += 1
            taken.update((r + dr, c + dc) for dr in range(min(rowspan, len(rows) - r)) for dc in range(colspan))
            grid[(r, c)] = text
            c += colspan
    width = max((c + 1 for _, c in taken), default=0)
    return [[grid.get((r, c), "") for c in range(width)] for r in range(len(rows))]


LOADERS: dict[str, Callable[[Path, int], str]] = {
    ".txt": load_txt, ".md": load_md, ".docx": load_docx, ".pdf": load_pdf, ".html": load_html, ".htm": load_html,
}
