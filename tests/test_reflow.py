"""Reflow of raw text (PDF text layers, web scrapes) and the parse of the real external documents.

The documents in evals/external-docs are copies of ../shared/external-docs, as found.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.loaders import load_file
from assistant.reflow import layout, reflow, width
from assistant.structure import iter_nodes, parse_document

ROOT = Path(__file__).resolve().parents[1]
EXTERNAL = ROOT / "evals" / "external-docs"
SEED = ROOT / "corpus" / "jiaxing_women_children_plans_2021-2025.txt"
TITLES = {
    "art_allocation_planning_guideline_2015": "人类辅助生殖技术配置规划指导原则（2015版）",
    "breast_cancer_screening_plan_2021": "乳腺癌筛查工作方案",
    "cervical_cancer_screening_plan_2021": "宫颈癌筛查工作方案",
    "pmtct_hiv_syphilis_hbv_work_spec_2020": "预防艾滋病、梅毒和乙肝母婴传播工作规范（2020年版）",
}


def parsed(stem: str):
    return parse_document(load_file(EXTERNAL / f"{stem}.txt"), doc=stem)


def test_clean_text_is_left_as_it_is():
    seed = SEED.read_text(encoding="utf-8")
    assert reflow(seed) == seed


def test_pdf_wraps_are_joined_and_page_numbers_dropped():
    raw = ("一、工作目标\n" + "到2025 年底，实现以下目标：\n"
           + "1.普及乳腺癌防治知识，提高妇女乳腺癌防治意识。适龄妇女乳\n" * 1
           + "腺癌防治核心知识知晓率达到 80%以上。\n" + "初筛机构获得转诊机构反馈的结果后，应当在 5 个工作\n"
           + "2\n" + "日内通知异常或可疑病例进一步检查或治疗。\n")
    # make the wrap width visible: a PDF has many lines at it
    filler = "积极动员目标人群到相关医疗机构接受乳腺癌筛查服务。\n" * 20
    text = reflow(raw + filler + "3\n" + filler)
    assert "适龄妇女乳腺癌防治核心知识知晓率达到80%以上。" in text
    assert "应当在5个工作日内通知异常或可疑病例" in text  # across a page number and a stray space
    assert "到2025年底，实现以下目标：\n1." in text  # a list item is never joined to the line above


def test_scraped_fragments_are_joined_without_the_site_around_them():
    raw = "\n".join([
        "某部关于印发某某工作规范的通知", "首页", ">", "政策文件", "某部关于印发某某工作规范的通知",
        "发布时间：", "2020-11-25", "来源:", "妇幼健康司", "阅读量：12", "-->",
        "（二）", "具体目标", "。", "1.孕产妇艾滋病、", "梅毒和乙肝", "检测", "率达", "95", "%以上", "。",
        "二、工作内容", "预防母婴传播以综合防治体系为支撑。",
        "网站地图", "地址：北京市西城区", "版权所有，不得非法镜像",
    ]) + "\n"
    text = reflow(raw)
    assert "首页" not in text and "网站地图" not in text and "版权所有" not in text and "阅读量" not in text
    assert "发布时间：2020-11-25" in text and "来源：妇幼健康司" in text
    assert "（二）具体目标。" in text
    assert "1.孕产妇艾滋病、梅毒和乙肝检测率达95%以上。" in text
    assert "二、工作内容\n预防母婴传播" in text  # a heading keeps its own line


def test_layout_tells_pdf_from_scrape_from_clean():
    assert layout(SEED.read_text(encoding="utf-8").split("\n")).wrap == 0
    breast = (EXTERNAL / "breast_cancer_screening_plan_2021.txt").read_text(encoding="utf-8").split("\n")
    assert layout(breast).wrap == width("以农村妇女、城镇低保妇女为重点，为适龄妇女提供乳腺癌")
    pmtct = (EXTERNAL / "pmtct_hiv_syphilis_hbv_work_spec_2020.txt").read_text(encoding="utf-8").split("\n")
    assert layout(pmtct).fragmented


@pytest.mark.parametrize("stem", sorted(TITLES))
def test_external_document_parses_with_its_title_and_whole_sentences(stem):
    document = parsed(stem)
    assert [p.title for p in document.plans] == [TITLES[stem]]  # one plan, its real title
    plan = document.plans[0]
    nodes = list(iter_nodes(plan))
    assert nodes and all(n.title for n in nodes)  # no section with an empty title
    text = document.text
    for line in text.split("\n"):
        if len(line) > 20 and not line.startswith("\t"):
            # a long line is a whole paragraph: it ends a sentence, or it is the page's title or an
            # entry of the annex list ("2.孕产妇艾滋病、梅毒和乙肝检测服务技术要点")
            annex_entry = text.rfind("附件：", 0, text.find(line)) > len(text) * 0.8
            assert line[-1] in "。；：！？）)”" or line.endswith("通知") or annex_entry, line
    assert "首页" not in text and "版权所有" not in text


@pytest.mark.parametrize("stem,annex", [
    ("pmtct_hiv_syphilis_hbv_work_spec_2020", "技术要点"),
    ("art_allocation_planning_guideline_2015", "测算方法"),
    ("breast_cancer_screening_plan_2021", "流程图"),
    ("cervical_cancer_screening_plan_2021", "流程图"),
])
def test_the_list_of_annexes_is_a_part_of_its_own(stem, annex):
    """"附件：" (or "附：1.…") then "2.…": the annexes' titles, in a part of their own after the body, not
    numbered tasks of the section before the list (四、职责分工 > （二）医疗卫生机构 > 2．孕产妇…技术要点)."""
    plan = parsed(stem).plans[0]
    annexes = next(p for p in plan.parts if p.title == "附件")
    body = [n for n in iter_nodes(plan) if not n.id.startswith(annexes.id)]
    assert body and not any(annex in n.title for n in body)


@pytest.mark.parametrize("stem,rows", [
    ("breast_cancer_screening_plan_2021", [
        ("乳腺癌防治核心知识知晓率", "熟悉乳腺癌防治核心知识的适龄妇女所占比例", "≥80%"),
        ("适龄妇女乳腺癌筛查率", "35-64周岁妇女中接受乳腺癌筛查的妇女所占比例", "逐年提高"),
        ("乳腺癌筛查早诊率", "乳腺癌筛查人群中早期诊断比例", "≥70%"),
    ]),
    ("cervical_cancer_screening_plan_2021", [
        ("宫颈癌防治核心知识知晓率", "熟悉宫颈癌防治核心知识的适龄妇女所占比例", "≥80%"),
        ("适龄妇女宫颈癌筛查率", "35-64周岁妇女中接受宫颈癌筛查服务的妇女所占比例", "≥50%"),
        ("宫颈癌筛查早诊率", "宫颈癌筛查人群中早期诊断比例", "≥90%"),
    ]),
])
def test_performance_table_rows_have_the_right_cells(stem, rows):
    plan = parsed(stem).plans[0]
    assert plan.table_title == f"{TITLES[stem]}绩效考核指标表".replace("工作方案", "")
    got = [(i.name, dict((h, t) for h, t, _, _ in i.columns)) for i in plan.indicators]
    assert [g[0] for g in got] == [r[0] for r in rows]
    for (name, cells), (want_name, definition, standard) in zip(got, rows):
        assert cells["指标定义"] == definition
        assert cells["评分标准"] == standard
        assert cells["计算公式"].endswith("×100%") and cells["计算公式"].count("/") == 1
    document = parsed(stem)
    for ind in plan.indicators:  # every cell is an exact span of the stored text
        for _, text, start, end in ind.columns:
            assert document.text[start:end] == text


def test_docx_five_column_table_with_a_blank_domain_cell(tmp_path):
    docx = pytest.importorskip("docx")
    d = docx.Document()
    for para in ("示范县青少年发展规划", "一、主要目标", "重点指标目标表"):
        d.add_paragraph(para)
    rows = [["领域", "序号", "主要统计指标", "2020年", "2025年"],
            ["青少年与健康", "1", "学生体质健康标准优秀率（％）", "31.5", "≥42"],
            ["", "2", "青少年心理健康服务站覆盖率（％）", "64", "100"]]
    table = d.add_table(rows=3, cols=5)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    d.save(tmp_path / "plan.docx")
    plan = parse_document(load_file(tmp_path / "plan.docx")).plans[0]
    assert [(i.domain, i.number, i.name, i.baseline, i.target) for i in plan.indicators] == [
        ("青少年与健康", 1, "学生体质健康标准优秀率（％）", "31.5", "≥42"),
        ("青少年与健康", 2, "青少年心理健康服务站覆盖率（％）", "64", "100"),
    ]


@pytest.mark.parametrize("stem", ["breast_cancer_screening_plan_2021", "cervical_cancer_screening_plan_2021"])
def test_pdf_of_a_document_parses_like_its_text(stem, tmp_path):
    pytest.importorskip("reportlab")
    raw = (EXTERNAL / f"{stem}.txt").read_text(encoding="utf-8")
    # the text layer's own page numbers mark its pages: draw each page on a page of its own
    pages, page = [], []
    for line in raw.split("\n"):
        page.append(line)
        if line.strip().isdigit() and len(page) > 5:
            pages.append(page)
            page = []
    pages.append(page)
    pdf = tmp_path / f"{stem}.pdf"
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    out = canvas.Canvas(str(pdf))
    for lines in pages:
        out.setFont("STSong-Light", 10)
        for k, line in enumerate(lines):
            out.drawString(30, 810 - 14 * k, line)
        out.showPage()
    out.save()
    from_txt, from_pdf = parsed(stem), parse_document(load_file(pdf), doc=stem)
    assert [p.title for p in from_pdf.plans] == [p.title for p in from_txt.plans]
    assert [n.heading for n in iter_nodes(from_pdf.plans[0])] == [n.heading for n in iter_nodes(from_txt.plans[0])]
    rows = lambda d: [(i.name, [(h, t) for h, t, _, _ in i.columns]) for i in d.plans[0].indicators]  # noqa: E731
    assert rows(from_pdf) == rows(from_txt)
    # the same stored text, but for blank lines (a PDF draws none)
    assert re.sub(r"\n+", "\n", from_pdf.text) == re.sub(r"\n+", "\n", from_txt.text)
