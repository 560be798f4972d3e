"""View models: outline, plan text, indicator rows, citation cards, quote diffs, escaping. Pure and fast."""

from __future__ import annotations

import re
from html import unescape

import pytest

from assistant import views
from assistant.corpus import Corpus
from assistant.errors import InputError
from assistant.structure import parse_document
from assistant.types import Answer, Citation

XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=1</script>'
TINY = f"""嘉兴市妇女发展“十四五”规划
为推进妇女事业发展，制定本规划 {XSS}。
一、总体要求
（一）指导思想。坚持发展 & 进步{XSS}。
二、发展领域的主要任务与措施
（一）妇女与健康
1．提升服务{XSS}。具体要求是“至少设有2家”。
"""


def text_of(html: str) -> str:
    """What a browser would show: tags removed, entities decoded."""
    return unescape(re.sub(r"<[^>]+>", "", html))


def shown(html: str) -> str:
    """What a browser shows of an answer: text_of without the hidden plain text of its share button."""
    return text_of(re.sub(r'<div class="share-text" hidden>.*?</div>', "", html))


def tags(html: str) -> set[str]:
    return {t.lower() for t in re.findall(r"<\s*([a-zA-Z]+)", html)}


def marked(html: str, cls: str = "cited") -> list[str]:
    return [text_of(m) for m in re.findall(rf'<mark class="{cls}">(.*?)</mark>', html)]


@pytest.fixture(scope="module")
def tiny() -> Corpus:
    return Corpus({"tiny": parse_document(TINY, doc="tiny")})


@pytest.fixture(scope="module")
def women(corpus):
    return next(views.iter_plans(corpus, "women"))


def cite(corpus: Corpus, doc: str, needle: str, section: str = "妇女规划 > 测试") -> Citation:
    text = corpus.text(doc)
    start = text.index(needle)
    return Citation(plan="妇女规划", section=section, quote=needle, start=start, end=start + len(needle), doc=doc)


def test_plan_filter_labels_name_the_corpus_plans(corpus):
    assert views.plan_key("全部") is None and views.plan_key("") is None
    assert views.plan_labels(corpus) == ["妇女规划", "儿童规划"]  # read from the corpus, one per plan
    for label, key in [("妇女规划", "women"), ("儿童规划", "children"), ("children", "children"),
                       ("嘉兴市儿童发展“十四五”规划", "children")]:
        assert [p.key for _, p in views.iter_plans(corpus, views.plan_key(label))] == [key]
    with pytest.raises(InputError, match="没有规划“养老规划”"):  # said, as /ask says it: not an empty table
        list(views.iter_plans(corpus, "养老规划"))


def test_outline_is_plan_part_section_item_with_each_nodes_text(corpus):
    plans = views.outline(corpus)
    assert [p["key"] for p in plans] == ["women", "children"]
    women = plans[0]
    part = next(n for n in women["nodes"] if n["heading"].startswith("二、"))
    health = next(s for s in part["children"] if s["heading"] == "（二）妇女与健康")
    assert (part["level"], health["level"]) == ("part", "section")
    assert len(health["children"]) == 8
    item = health["children"][2]
    assert item["level"] == "item" and item["heading"] == "3．提升妇女生殖健康服务水平"
    assert item["text"].startswith("3．提升妇女生殖健康服务水平。")
    assert "婚前医学检查率保持在85％以上" in item["text"]
    assert views.outline(corpus, "children")[0]["name"] == "儿童规划"


def test_outline_links_point_at_blocks_of_the_plan_text(women):
    doc, plan = women
    links = re.findall(r'href="#([^"]+)"', views.outline_html(plan))
    ids = set(re.findall(r'id="([^"]+)"', views.plan_text_html(doc, plan)))
    assert len(links) > 60
    assert set(links) <= ids


def test_plan_text_shows_every_line_of_the_plan(corpus):
    for doc, plan in views.iter_plans(corpus):
        shown = text_of(views.plan_text_html(doc, plan))
        for line in doc.text[plan.start:plan.end].splitlines():
            if line.strip() and not line.startswith("\t"):
                assert line.strip() in shown or line.strip() in plan.table_title


def test_plan_text_marks_a_citation_and_selects_its_node(corpus, women):
    doc, plan = women
    c = cite(corpus, doc.doc, "婚前医学检查率保持在85％以上。")
    html = views.plan_text_html(doc, plan, (c.start, c.end))
    assert marked(html) == [c.quote]
    selected = re.findall(r'<section id="([^"]+)" class="node node-item selected"', html)
    assert len(selected) == 1 and selected[0].endswith("-women-2-2-3")


def test_plan_text_marks_an_indicator_row(corpus, women):
    doc, plan = women
    ind = plan.indicators[2]
    html = views.plan_text_html(doc, plan, (ind.start, ind.end))
    row = re.search(r'<tr id="[^"]*-ind-3" class="cited">(.*?)</tr>', html)
    assert row and "婚前医学检查率" in row.group(1)
    assert views.locate(corpus, doc.doc, ind.start)[1].key == "women"


def test_indicator_rows_of_both_tables_with_filters(corpus):
    rows = views.indicator_rows(corpus)
    assert len(rows) == 40
    assert all(len(r) == len(views.INDICATOR_HEADERS) for r in rows)
    assert ["妇女规划", "妇女与健康", "3", "婚前医学检查率（％）", "92.41", ">85"] in rows
    assert len(views.indicator_rows(corpus, "children")) == 19
    deaths = views.indicator_rows(corpus, query="死亡率")
    assert {r[3] for r in deaths} == {"孕产妇死亡率（1/10万）", "婴儿死亡率（‰）", "儿童伤害死亡率（1/10万）"}
    assert views.indicator_rows(corpus, "children", "儿童 死亡率")[0][3] == "婴儿死亡率（‰）"
    assert views.indicator_rows(corpus, query="没有这种指标") == []


def test_indicator_rows_show_missing_and_shared_values(corpus):
    rows = {r[3]: r for r in views.indicator_rows(corpus, "women")}
    assert rows["妇女国民体质合格率（％）"][4] == "－"
    assert rows["城镇女性参加失业保险人数（万人）"][5] == "应保尽保（与第16项共用）"
    api = views.indicator_dicts(corpus, "women", "婚前")
    assert api == [{"plan": "women", "plan_name": "妇女规划", "domain": "妇女与健康", "number": 3,
                    "name": "婚前医学检查率（％）", "unit": "％", "baseline": "92.41", "target": ">85",
                    "target_shared_with": None}]


def test_citation_card_highlights_the_quote_inside_its_paragraph(corpus, women):
    doc, _ = women
    section = "妇女规划 > 二、发展领域的主要任务与措施 > （二）妇女与健康"
    c = cite(corpus, doc.doc, "婚前医学检查率保持在85％以上。", section)
    html = views.citation_card_html(corpus, c, 2, 1)
    assert marked(html) == [c.quote]
    shown = text_of(html)
    assert "[2]" in shown and "妇女规划" in shown and "（二）妇女与健康" in shown
    assert "将生殖健康服务纳入妇女健康管理" in shown  # the paragraph around the quote
    assert 'id="c1-2"' in html
    ref = re.search(r'href="#cite:([^"]+)"', html).group(1)
    assert unescape(ref) == f"{doc.doc}%7C{c.start}%7C{c.end}"


def test_citation_card_of_an_indicator_row_is_a_table_row(corpus, women):
    doc, plan = women
    ind = plan.indicators[2]
    c = Citation("妇女规划", "妇女规划 > 重点指标目标表", doc.text[ind.start:ind.end], ind.start, ind.end, doc.doc)
    html = views.citation_card_html(corpus, c, 1, 1)
    assert '<th class="ind-target">2025年</th>' in html  # the class: the phone's CSS keeps it on one line
    assert marked(html) == ["3", "婚前医学检查率（％）", "92.41", ">85"]
    shared = plan.indicators[17]  # row 18 shares row 16's target cell "应保尽保": the card shows row 16
    assert shared.target_shared_with == 16
    c = Citation("妇女规划", "", "应保尽保", shared.target_start, shared.target_end, doc.doc)
    html = views.citation_card_html(corpus, c, 1, 1)
    assert marked(html) == ["应保尽保"] and "城镇职工生育保险女性参保人数" in html


def test_everything_from_the_plan_or_the_user_is_escaped(tiny):
    doc, plan = next(views.iter_plans(tiny))
    for html in (views.plan_text_html(doc, plan), views.outline_html(plan), views.question_html(XSS),
                 views.error_html(XSS), views.citation_card_html(tiny, cite(tiny, "tiny", "具体要求"), 1, 1)):
        assert not tags(html) & {"img", "script"}, html
    assert XSS in text_of(views.plan_text_html(doc, plan))
    assert text_of(views.question_html(XSS + "\n**粗体**")) == XSS + "**粗体**"


def test_answer_html_links_markers_to_cards(corpus, women):
    doc, _ = women
    c = cite(corpus, doc.doc, "婚前医学检查率保持在85％以上。")
    answer = Answer("q", f"答案<b>{XSS}</b>是这样[1]。\n第二行", True, [c], kind="text")
    html = views.answer_html(answer, corpus, 3)
    assert '<a href="#c3-1">[1]</a>' in html and 'id="c3-1"' in html
    assert "<br>" in html
    assert not tags(html) & {"img", "script", "b"}


def test_a_refusal_says_so_and_labels_the_nearest_passages(corpus, women):
    doc, _ = women
    c = cite(corpus, doc.doc, "婚前医学检查率保持在85％以上。")
    html = views.answer_html(Answer("q", "规划中没有写明这一点。", False, [c], kind="refusal"), corpus, 1)
    assert "规划中没有写明这一点" in text_of(html)
    assert "最接近的段落" in text_of(html)
    assert 'class="answer refusal"' in html


def test_a_refusal_heading_is_not_repeated_in_its_text(corpus, women):
    doc, _ = women
    c = cite(corpus, doc.doc, "婚前医学检查率保持在85％以上。")
    text = "规划中没有写明这一点。规划期为2021—2025年，没有2030年的。\n规划中相关的表述：…[1]。"
    answer = Answer("q", text, False, [c], kind="refusal")
    text = shown(views.answer_html(answer, corpus, 1))
    assert text.count("规划中没有写明这一点") == 1 and "没有2030年的" in text


def test_an_error_is_a_message_not_an_answer(corpus):
    html = views.answer_html(Answer("", "问题是空的，请输入要查询的内容。", False, kind="error"), corpus, 1)
    assert "问题是空的" in text_of(html) and "card" not in html and "share" not in html


def test_share_text_is_the_answer_with_numbered_citations_and_their_places(corpus, women):
    doc, plan = women
    ind = plan.indicators[2]
    row = Citation("妇女规划", "妇女规划 > 重点指标目标表 > 妇女与健康 > 3．婚前医学检查率（％）",
                   doc.text[ind.start:ind.end], ind.start, ind.end, doc.doc)
    text = cite(corpus, doc.doc, "婚前医学检查率保持在85％以上。",
                "妇女规划 > 二、发展领域的主要任务与措施 > （二）妇女与健康 > 3．提升妇女生殖健康服务水平")
    answer = Answer("婚前医学检查率目标是多少", "目标为>85％，2020年为92.41％[1]；正文写明“保持在85％以上”[2]。", True,
                    [row, text], kind="indicator")
    assert views.share_text(answer, corpus).splitlines() == [
        "问：婚前医学检查率目标是多少",
        "答：目标为>85％，2020年为92.41％[1]；正文写明“保持在85％以上”[2]。",
        "",
        "出处：",
        "[1] 《嘉兴市妇女发展“十四五”规划》重点指标目标表 › 妇女与健康 › 3．婚前医学检查率（％）",
        "    原文：婚前医学检查率（％）；2020年：92.41；2025年：>85",
        "[2] 《嘉兴市妇女发展“十四五”规划》二、发展领域的主要任务与措施 › （二）妇女与健康"
        " › 3．提升妇女生殖健康服务水平",
        "    原文：“婚前医学检查率保持在85％以上。”",
    ]
    refusal = Answer("2030年呢", "规划中没有写明这一点。", False, [text], kind="refusal")
    assert "最接近的段落（供参考，并非答案）：" in views.share_text(refusal, corpus)


def test_the_share_text_rides_in_the_answer_on_one_line_and_escaped(corpus, women):
    doc, _ = women
    c = cite(corpus, doc.doc, "婚前医学检查率保持在85％以上。")
    html = views.answer_html(Answer(XSS + "\n\n第二段", "保持在85％以上[1]。", True, [c]), corpus, 1)
    assert "\n" not in html  # a raw blank line would end the chat's HTML block: the rest would be Markdown
    assert '<a class="share" href="#share"' in html and not tags(html) & {"img", "script"}
    hidden = re.search(r'<div class="share-text" hidden>(.*?)</div>', html).group(1)
    assert unescape(hidden) == views.share_text(Answer(XSS + "\n\n第二段", "保持在85％以上[1]。", True, [c]), corpus)
    assert "复制回答和出处" in shown(html) and "问：" not in shown(html)
    streaming = views.answer_html(Answer("q", "写到一半", True, kind="streaming"), corpus, 1)
    assert "share" not in streaming  # the button comes with the final answer


def test_indicator_page_table_has_a_heading_row_per_plan_and_says_when_nothing_matches(corpus):
    html = views.indicators_html(corpus, None, "死亡率")
    rows = re.findall(r'<tr class="ind-(plan|area)"><th colspan="4">(.*?)</th>', html)
    assert [(cls, text_of(h)) for cls, h in rows] == [
        ("plan", "妇女规划（嘉兴市妇女发展“十四五”规划）"), ("area", "妇女与健康"),
        ("plan", "儿童规划（嘉兴市儿童发展“十四五”规划）"), ("area", "儿童与健康"), ("area", "儿童与安全")]
    assert '<td class="ind-name">婴儿死亡率（‰）</td><td class="ind-base">2</td>' in html
    assert '<th class="ind-target">2025年</th>' in html and "ind-domain" not in html  # 领域: heading rows
    assert text_of(views.indicators_html(corpus, "children", "火星 <b>")) == (
        "没有找到包含“火星”“<b>”的指标。可以换个词，或把规划改为“全部”。")
    assert "<b>" not in views.indicators_html(corpus, None, "<b>")


def test_page_title_and_intro_come_from_the_plans_titles(corpus, tiny):
    assert views.page_title(corpus) == "嘉兴市妇女、儿童发展“十四五”规划问答"
    assert views.page_intro(corpus).startswith(
        "依据《嘉兴市妇女发展“十四五”规划》和《嘉兴市儿童发展“十四五”规划》原文回答")
    assert views.page_title(tiny) == "嘉兴市妇女发展“十四五”规划问答"  # one plan: its title
    assert views.page_intro(tiny).startswith("依据《嘉兴市妇女发展“十四五”规划》原文回答")


@pytest.mark.parametrize(("titles", "merged"), [
    (["湖州市养老服务规划", "嘉兴市养老服务规划"], "湖州、嘉兴市养老服务规划"),
    (["嘉兴市妇女发展规划", "嘉兴市妇联工作规划"], "嘉兴市妇女发展、妇联工作规划"),
    (["嘉兴市妇女发展规划", "嘉兴市少女发展规划"], ""),  # "妇"/"少": a split word, no heading
    (["嘉兴市妇女发展规划", "嘉兴市交通年报"], ""),  # the common end names no plan
    (["甲市一规划", "乙市二规划", "丙市三规划", "丁市四规划", "戊市五规划"], ""),  # five: a list, not a heading
])
def test_plan_titles_merge_into_one_heading_only_when_it_reads_as_one(titles, merged):
    assert views._merged_title(titles) == merged


def test_examples_are_the_curated_ones_the_corpus_holds_else_made_from_it(corpus, tiny):
    curated = {"市民常问": [("婚前医学检查率目标是多少", "婚前医学检查率"), ("火星基地有几个", "火星基地")],
               "新入职工作人员": [("月球车有哪些任务", "月球车")]}
    shown = views.example_questions(corpus, curated)
    assert shown["市民常问"] == ["婚前医学检查率目标是多少"]
    assert shown["新入职工作人员"] == ["“妇女与家庭建设”有哪些任务", "“妇女与健康”有哪些任务", "“妇女与教育”有哪些任务"]
    made = views.example_fallback(corpus)
    assert made["培训师核对引文"][0] == "规划里是不是说“婚前医学检查率保持在85％以上”？"
    assert "市民常问" not in views.example_questions(tiny, curated)  # no table, nothing curated: no group


@pytest.mark.parametrize(("quoted", "source", "mine", "theirs"), [
    ("至少设有2家危重新生儿救治中心", "至少设有1家危重新生儿救治中心", ["2"], ["1"]),
    ("产前筛查率达到95％以上", "产前筛查率达到90％以上", ["95％"], ["90％"]),
    ("设有12家", "设有1家", ["12"], ["1"]),
    ("提高妇女健康水平", "提升妇女健康水平", ["高"], ["升"]),
    ("完全一致", "完全一致", [], []),
])
def test_diff_marks_the_characters_that_differ(quoted, source, mine, theirs):
    a, b = views.diff_html(quoted, source)
    assert marked(a, "diff-quoted") == mine
    assert marked(b, "diff-source") == theirs
    assert text_of(a) == quoted and text_of(b) == source


def test_diff_escapes_both_sides():
    a, b = views.diff_html("<b>2家</b>", "<b>1家</b>")
    assert not tags(a) & {"b"} and not tags(b) & {"b"}


def test_quote_check_result_shows_verdict_wording_and_location(corpus):
    doc = next(iter(corpus.documents))
    c = cite(corpus, doc, "至少设有1家危重新生儿救治中心", "儿童规划 > （二）儿童与健康 > 2．保障新生儿安全与健康")
    answer = Answer("至少设有2家危重新生儿救治中心", "与原文不一致：…", True, [c], kind="quote_check",
                    context={"quote_check": "differs", "diffs": [("2家", "1家")]})
    html = views.quote_check_html(answer, "“至少设有2家危重新生儿救治中心。”", corpus)
    shown = text_of(html)
    assert "与原文不一致" in shown and "2．保障新生儿安全与健康" in shown
    assert marked(html, "diff-source") == ["1"] and marked(html, "diff-quoted") == ["2"]
    data = views.quote_check_dict(answer)
    assert data["label"] == "与原文不一致" and data["source"] == c.quote
    assert data["diffs"] == [{"quoted": "2家", "source": "1家"}]


def test_quote_check_not_found_and_exact(corpus):
    nothing = Answer("x", "未找到：规划中没有找到这段话或相近的表述。", True, kind="quote_check",
                     context={"quote_check": "not_found"})
    html = views.quote_check_html(nothing, f"x{XSS}", corpus)
    assert "未找到" in text_of(html) and f"x{XSS}" in text_of(html) and not tags(html) & {"img", "script"}
    assert views.quote_check_dict(nothing)["source"] == "" and views.quote_check_dict(nothing)["related"] is None
    doc = next(iter(corpus.documents))
    c = cite(corpus, doc, "至少设有1家危重新生儿救治中心")
    beside = Answer("x", "未找到：…与此最相关的原文是：…", True, [c], kind="quote_check",
                    context={"quote_check": "not_found"})
    data = views.quote_check_dict(beside)  # the sentence beside a passage not found is no source of it
    assert data["source"] == "" and data["section"] == "" and data["related"]["quote"] == c.quote
    exact = Answer("x", "原文一致", True, [c], kind="quote_check", context={"quote_check": "exact"})
    html = views.quote_check_html(exact, c.quote, corpus)
    assert "原文一致" in text_of(html) and "diff-" not in html and marked(html) == [c.quote]
