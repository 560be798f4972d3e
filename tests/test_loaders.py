"""File -> text for every supported format, read back by the structure parser; bad files named clearly."""

from __future__ import annotations

import pytest
from plan_files import (
    CHAPTERS,
    HEADER,
    PART2,
    ROWS,
    TABLE_TITLE,
    TITLE,
    bad_files,
    write_docx,
    write_html,
    write_md,
    write_pdf,
)

from assistant.errors import CorpusError
from assistant.loaders import format_table, load_file, span_grid
from assistant.structure import iter_nodes, parse_document

EXPECTED_ROWS = [("养老服务", 1, "每千名老年人拥有养老床位数（张）", "40", "45"),
                 ("养老服务", 2, "护理型床位占比（％）", "50", "≥58"),  # the merged 领域 cell spans row 2
                 ("健康支撑", 3, "老年人健康管理率（％）", "70", "≥75")]


def table_rows(text: str) -> list[list[str]]:
    """The tab-cell rows of a text, as the loaders wrote them."""
    blocks = [b for b in text.split("\n\n") if b.startswith("\t")]
    return [[cell[1:] for cell in block.split("\n")] for block in blocks]


def indicator_rows(text: str, doc: str = "t") -> list[tuple]:
    plan = parse_document(text, doc).plans[0]
    return [(i.domain, i.number, i.name, i.baseline, i.target) for i in plan.indicators]


def test_docx_table_comes_out_as_rows(tmp_path):
    text = load_file(write_docx(tmp_path / "plan.docx"))
    # The merged 领域 cell: its text in the first row, empty in the row below.
    assert table_rows(text) == [HEADER] + ROWS
    assert indicator_rows(text) == EXPECTED_ROWS


def test_docx_keeps_paragraph_and_table_order(tmp_path):
    text = load_file(write_docx(tmp_path / "plan.docx"))
    marks = [TITLE, "一、总体要求", TABLE_TITLE, "\t领域", "\t健康支撑", "二、主要任务", PART2[-1]]
    positions = [text.index(m) for m in marks]
    assert positions == sorted(positions)


def test_docx_structure_all_levels(tmp_path):
    doc = parse_document(load_file(write_docx(tmp_path / "plan.docx")), "plan")
    plan = doc.plans[0]
    assert plan.title == TITLE and plan.table_title == TABLE_TITLE
    headings = [(n.level, n.heading) for n in iter_nodes(plan)]
    assert headings[:3] == [("part", "一、总体要求"), ("section", "（一）指导思想"), ("section", "（二）主要目标")]
    assert ("item", "1．发展社区嵌入式服务") in headings
    item = plan.parts[1].children[0].children[0]
    assert [c.heading for c in item.children] == ["（1）推进助餐服务", "（2）推进助浴服务"]
    for node in iter_nodes(plan):  # each node's span starts with its heading line
        assert doc.text[node.start:node.end].startswith(node.heading)


def test_html_rowspan_table_known_by_its_header(tmp_path):
    text = load_file(write_html(tmp_path / "plan.html"))
    assert table_rows(text) == [HEADER] + ROWS
    assert indicator_rows(text) == EXPECTED_ROWS  # no title line before the table: found by its header
    assert "不要这段" not in text and "页面标题" not in text and "color" not in text  # script, head, style
    assert text.startswith(TITLE + "\n") and "联系电话：\n0573-12345678" in text  # <br> is a line break


def test_html_declared_gbk_page(tmp_path):
    text = load_file(write_html(tmp_path / "gbk.html", encoding="gbk"))
    assert indicator_rows(text) == EXPECTED_ROWS


def test_markdown_chapters_and_pipe_table(tmp_path):
    text = load_file(write_md(tmp_path / "plan.md"))
    assert "#" not in text and "|" not in text and "**" not in text
    doc = parse_document(text, "md")
    plan = doc.plans[0]
    assert plan.title == CHAPTERS[0]
    assert [(p.level, p.heading) for p in plan.parts] == [("part", "第一章 发展基础"), ("part", "第二章 主要任务")]
    assert plan.parts[1].children[0].heading == "第一节 扩大普惠托育供给"  # 节: the section level
    assert plan.parts[1].children[0].children[0].children[0].heading == "（一）支持用人单位办托"
    [ind] = plan.indicators  # a header 序号/指标/单位/2020年/2025年 found by its first row
    assert (ind.name, ind.unit, ind.baseline, ind.target) == ("每千人口拥有3岁以下婴幼儿托位数", "个", "2.5", "4.5")


def test_pdf_text_layer(tmp_path):
    text = load_file(write_pdf(tmp_path / "plan.pdf"))
    assert "Jiaxing elderly care plan: 45 beds per 1000 elders by 2025." in text


def test_txt_line_ends_and_bom(tmp_path):
    path = tmp_path / "plan.txt"
    path.write_bytes("\ufeff一、总体要求\r\n坚持发展。\r\n".encode())
    assert load_file(path) == "一、总体要求\n坚持发展。\n"


def test_span_grid_rowspan_and_colspan():
    rows = [[("a", 1, 2), ("b", 2, 1)], [("c", 1, 1), ("d", 1, 1)]]
    assert span_grid(rows) == [["a", "b", ""], ["", "c", "d"]]
    assert format_table([["x", " y\n z "], ["", ""]]) == "\tx\n\ty z"  # an all-empty row is dropped


def test_bad_files_are_named_with_the_reason(tmp_path):
    for name, reason in bad_files(tmp_path):
        with pytest.raises(CorpusError) as err:
            load_file(tmp_path / name, max_bytes=5000)
        assert str(err.value).startswith(f"{tmp_path / name}: ") and reason in str(err.value), str(err.value)


def test_html_layout_table_is_read_as_page_text(tmp_path):
    path = write_html(tmp_path / "layout.html")
    html = path.read_text(encoding="utf-8")
    path.write_text(html.replace("<body>", "<body><table><tr><td>").replace("</body>", "</td></tr></table></body>"),
                    encoding="utf-8")
    text = load_file(path)
    assert indicator_rows(text) == EXPECTED_ROWS  # the page's own table, inside the layout table
    assert [p.heading for p in parse_document(text, "t").plans[0].parts] == ["一、总体要求", "二、主要任务"]
