"""Small plan documents written as real .docx, .html, .md and .pdf files, for the loader and ingest tests."""

from __future__ import annotations

import zipfile
from pathlib import Path

TITLE = "示范市养老服务发展“十四五”规划"
PREAMBLE = "为推进养老服务高质量发展，根据有关规定，制定本规划。"
PART1 = ["一、总体要求", "（一）指导思想。坚持以人民为中心，发展普惠养老服务。",
         "（二）主要目标。到2025年，基本建成居家社区机构相协调的养老服务体系。"]
TABLE_TITLE = "示范市养老服务发展主要指标表"
HEADER = ["领域", "序号", "主要指标", "2020年", "2025年"]
ROWS = [  # the 领域 cell "养老服务" is merged over the first two rows
    ["养老服务", "1", "每千名老年人拥有养老床位数（张）", "40", "45"],
    ["", "2", "护理型床位占比（％）", "50", "≥58"],
    ["健康支撑", "3", "老年人健康管理率（％）", "70", "≥75"],
]
PART2 = ["二、主要任务", "（一）完善居家养老服务。",
         "1．发展社区嵌入式服务。每个街道建设1家以上综合性养老服务中心。",
         "（1）推进助餐服务。建设老年食堂200家。",
         "（2）推进助浴服务。配置助浴车10辆。",
         "2．加强智慧养老。推广智慧养老院建设，覆盖率达到80%。"]

CHAPTERS = ["示范市托育服务发展规划（2021—2025年）", "第一章 发展基础", "第一节 主要成就",
            "一、托位供给持续增加。全市每千人口托位数达到2.5个。", "第二章 主要任务", "第一节 扩大普惠托育供给",
            "一、建设公办托育机构。每个县（市、区）至少建成1家公办托育机构。",
            "（一）支持用人单位办托。鼓励产业园区建设托育点。"]


def write_docx(path: Path, extra: str = "") -> Path:
    """The plan as a Word file: title, paragraphs, the indicator table (merged 领域 cell), more paragraphs."""
    import docx

    d = docx.Document()
    d.add_heading(TITLE, level=0)
    for text in [PREAMBLE, *PART1, TABLE_TITLE]:
        d.add_paragraph(text)
    table = d.add_table(rows=1 + len(ROWS), cols=len(HEADER))
    for c, text in enumerate(HEADER):
        table.cell(0, c).text = text
    for r, row in enumerate(ROWS, 1):
        for c, text in enumerate(row):
            if text:
                table.cell(r, c).text = text
    table.cell(1, 0).merge(table.cell(2, 0)).text = "养老服务"
    for text in PART2 + ([extra] if extra else []):
        d.add_paragraph(text)
    d.save(str(path))
    return path


def write_html(path: Path, encoding: str = "utf-8") -> Path:
    """The plan as a web page: the table has no title line, its 领域 cell spans two rows (rowspan)."""
    rows = "".join(
        "<tr>" + (f'<td rowspan="2">{row[0]}</td>' if r == 0 else "" if r == 1 else f"<td>{row[0]}</td>")
        + "".join(f"<td>{c}</td>" for c in row[1:]) + "</tr>" for r, row in enumerate(ROWS))
    head = "".join(f"<th>{h}</th>" for h in HEADER)
    body = "".join(f"<p>{p}</p>" for p in PART1)
    tasks = "".join(f"<p>{p}</p>" for p in PART2)
    html = (f'<html><head><meta charset="{encoding}"><title>页面标题</title><style>p {{color: red}}</style></head>'
            f"<body><script>var x = '不要这段';</script><h1>{TITLE}</h1><div>{PREAMBLE}</div>{body}"
            f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>{tasks}"
            "<p>联系电话：<br>0573-12345678</p></body></html>")
    path.write_bytes(html.encode(encoding))
    return path


def write_md(path: Path) -> Path:
    """The 第一章/第一节 variant as Markdown, with a pipe table."""
    lines = ["# " + CHAPTERS[0], "", "## " + CHAPTERS[1], "", "### " + CHAPTERS[2], "", CHAPTERS[3], "",
             "| 序号 | 指标 | 单位 | 2020年 | 2025年 |", "|---|---|---|---|---|",
             "| 1 | 每千人口拥有3岁以下婴幼儿托位数 | 个 | 2.5 | **4.5** |", "",
             "## " + CHAPTERS[4], "", "### " + CHAPTERS[5], "", CHAPTERS[6], "", CHAPTERS[7], ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def write_pdf(path: Path, text: str = "Jiaxing elderly care plan: 45 beds per 1000 elders by 2025.") -> Path:
    """A minimal valid one-page PDF (Helvetica, one line of ASCII text), with a correct xref table."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for k, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % k + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path


def bad_files(folder: Path) -> list[tuple[str, str]]:
    """Write every kind of bad file; (name, words its error must contain), for a 5,000-byte size limit."""
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blank.md").write_text("  \n\n", encoding="utf-8")
    (folder / "plan.rtf").write_text("一、总体要求", encoding="utf-8")
    (folder / "corrupt.docx").write_bytes(b"PK\x03\x04 this is not a zip archive")
    with zipfile.ZipFile(folder / "nodoc.docx", "w") as z:
        z.writestr("hello.txt", "a zip, but not a Word document")
    (folder / "corrupt.pdf").write_bytes(b"%PDF-1.4\n garbage without objects")
    (folder / "gbk.txt").write_bytes("一、总体要求".encode("gbk"))
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02" * 100)
    (folder / "huge.txt").write_bytes("规划".encode() * 1000)
    return [("empty.txt", "empty"), ("blank.md", "no text"), ("plan.rtf", "unsupported file type"),
            ("corrupt.docx", "not a readable .docx"), ("nodoc.docx", "not a readable .docx"),
            ("corrupt.pdf", "not a readable .pdf"), ("gbk.txt", "not UTF-8"), ("binary.txt", "binary"),
            ("huge.txt", "over the 5,000-byte limit"), ("missing.txt", "no such file")]


def plan_text() -> str:
    """The plan above as a corpus .txt: title, paragraphs, the indicator table in the corpus table format."""
    table = "\n\n".join("\n".join("\t" + c for c in row) for row in [HEADER, *ROWS])
    return "\n\n".join([TITLE, PREAMBLE, *PART1, TABLE_TITLE, table, *PART2]) + "\n"


CHILDCARE_TITLE = "示范市托育服务发展“十四五”规划"


def write_childcare_txt(path: Path, places: str = "4.5", tasks: int = 3) -> Path:
    """A short plan as a .txt upload: a title, a numbered task with a target number, `tasks` more tasks."""
    lines = [CHILDCARE_TITLE, "为加快发展普惠托育服务，制定本规划。", "一、总体要求",
             f"（一）主要目标。到2025年，每千人口拥有3岁以下婴幼儿托位数达到{places}个。", "二、主要任务",
             "（一）扩大普惠托育供给。",
             "1．建设公办托育机构。每个县（市、区）至少建成1家公办示范性托育机构，新增托位2000个。"]
    lines += [f"{n}．推进第{n}批社区托育点建设。在{n * 3}个街道建设嵌入式托育点，配备保育人员{n * 10}名。"
              for n in range(2, tasks + 2)]
    path.write_text("\n\n".join(lines) + "\n", encoding="utf-8")
    return path


def tiny_settings(base: Path):
    """Settings over a corpus of the one short 养老 plan (plan_text) in `base`/corpus, its index in
    `base`/index; nothing is built here."""
    from assistant.config import Settings

    (base / "corpus").mkdir()
    (base / "corpus" / "yanglao.txt").write_text(plan_text(), encoding="utf-8")
    return Settings.from_env(env={}, corpus_dir=str(base / "corpus"), index_dir=str(base / "index"),
                             feedback_path=str(base / "feedback.jsonl"), rate_limit_per_minute=0)
