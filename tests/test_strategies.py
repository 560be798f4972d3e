"""Each answer strategy, and the router, on the invented 示范市 document: real parser, chunker and
BM25, no vectors and no index. Every citation must be the document's text at its offsets."""

import pytest
from answer_fixture import TEXT, make_kit

from assistant.dialogue import next_state, resolve
from assistant.query import parse_query
from assistant.router import Router
from assistant.strategies import STRATEGY_ORDER, make_strategies
from assistant.strategies.definition import DefinitionStrategy
from assistant.strategies.document import DocumentFactsStrategy
from assistant.strategies.indicator import IndicatorValueStrategy
from assistant.strategies.outline import ItemDetailStrategy, SectionListStrategy, TreeFactsStrategy
from assistant.strategies.passage import ResponsibilityStrategy, SentenceStrategy, TextTargetStrategy
from assistant.strategies.quote import QuoteCheckStrategy


@pytest.fixture(scope="module")
def kit():
    return make_kit()


@pytest.fixture(scope="module")
def router(kit):
    return Router(kit)


def q(kit, text):
    return parse_query(text, kit.plan_names)


def hits(kit, query):
    return kit.retriever.retrieve(query.text, 20)


def run(kit, cls, text):
    query = q(kit, text)
    strategy = cls(kit)
    assert strategy.match(query, None), f"{cls.__name__} should match {text!r}"
    draft = strategy.answer(query, hits(kit, query))
    if draft is not None:
        for c in draft.citations:
            assert kit.corpus.quote(c.doc, c.start, c.end) == c.quote
    return draft


def test_every_strategy_is_listed_once():
    assert len(STRATEGY_ORDER) == len(set(STRATEGY_ORDER))
    assert STRATEGY_ORDER[-1] is SentenceStrategy  # the fallback comes last


def test_document_facts_from_the_notice_and_preambles(kit):
    issued = run(kit, DocumentFactsStrategy, "这个通知是谁发的")
    assert "示范市人民政府" in issued.text and "2022年3月8日" in issued.text
    assert "市政府各部门" in run(kit, DocumentFactsStrategy, "通知是发给哪些单位的").text
    basis = run(kit, DocumentFactsStrategy, "儿童规划是根据什么制定的")
    assert "示范省儿童发展规划" in basis.text and "妇女" not in basis.text
    assert run(kit, DocumentFactsStrategy, "规划期限是多久").text.count("2021—2025年") == 2


def test_tree_facts_count_and_list(kit):
    domains = run(kit, TreeFactsStrategy, "妇女规划里一共有几个领域")
    assert "分2个领域" in domains.text and "（二）妇女与经济" in domains.text
    projects = run(kit, TreeFactsStrategy, "儿童规划有哪些重点实事项目")
    assert "2个" in projects.text and "普惠托育服务项目" in projects.text and len(projects.items) == 2
    rows = run(kit, TreeFactsStrategy, "儿童规划有几个重点指标")
    assert "共列3项指标" in rows.text and len(rows.items) == 3
    health = run(kit, TreeFactsStrategy, "妇女规划健康方面有哪几项指标")
    assert "孕产妇死亡率" in health.text and "高中阶段" not in health.text


def test_section_list_names_the_section_in_full_or_by_its_core(kit):
    listed = run(kit, SectionListStrategy, "妇女与健康领域有哪些任务")
    assert "共2项" in listed.text and "儿童" not in listed.text and listed.exact
    assert run(kit, SectionListStrategy, "儿童规划健康方面有哪些任务").plans == ("children",)
    assert run(kit, SectionListStrategy, "心理健康要做什么") is None  # about one topic, not the section


def test_item_detail_from_an_ordinal(kit):
    listed = run(kit, SectionListStrategy, "妇女与健康领域有哪些任务")
    state = next_state(q(kit, "妇女与健康领域有哪些任务"), None, items=listed.items)
    query = resolve(q(kit, "第二个具体做什么"), state)
    draft = ItemDetailStrategy(kit).answer(query, [])
    assert "两癌" in draft.text and draft.item == listed.items[1]


def test_definition_by_the_shape_of_the_sentence(kit):
    assert "宫颈癌、乳腺癌" in run(kit, DefinitionStrategy, "“两癌”指的是什么").text
    assert "十八周岁" in run(kit, DefinitionStrategy, "儿童规划里说的儿童指什么人").text
    # "儿童是指…": the term followed by a definition cue stands alone, though 童是 and 是指 are bigrams
    assert "十八周岁" in run(kit, DefinitionStrategy, "规划里说的儿童是指多大的孩子").text


def test_indicator_named_in_both_tables_and_narrowed(kit):
    both = run(kit, IndicatorValueStrategy, "高中阶段毛入学率是多少")
    assert {c.plan for c in both.chunks} == {"women", "children"} and "两个规划" in both.text
    assert "≥99" in both.text and "98.5" in both.text
    target_first = run(kit, IndicatorValueStrategy, "孕产妇死亡率目标是多少")
    assert target_first.text.index("2025年") < target_first.text.index("2020年")
    baseline_first = run(kit, IndicatorValueStrategy, "孕产妇死亡率2020年是多少")
    assert baseline_first.text.index("2020年") < baseline_first.text.index("2025年")


def test_indicator_carried_to_a_plan_without_it(kit):
    from dataclasses import replace

    query = q(kit, "孕产妇死亡率目标是多少")
    row = IndicatorValueStrategy(kit).answer(query, hits(kit, query))
    moved = replace(q(kit, "那儿童规划呢"), indicators=row.indicators, plans=("children",), followup=True)
    draft = IndicatorValueStrategy(kit).answer(moved, [])
    assert draft.refusal and "儿童规划" in draft.refusal


def test_quote_check_verdicts(kit):
    strategy = QuoteCheckStrategy(kit)
    assert strategy.check("至少设有1家危重新生儿救治中心").text.startswith("原文一致")
    differs = strategy.check("至少设有2家危重新生儿救治中心")
    assert differs.text.startswith("与原文不一致") and ("2家", "1家") in differs.context["diffs"]
    # the answer states the plan's figure, never the wrong one it was asked about
    assert "原文为“1家”" in differs.text and "2家" not in differs.text
    added = strategy.check("各县（市、区）至少设有1家省级危重新生儿救治中心")
    assert "原文没有“省级”" in added.text
    assert strategy.check("全市将建成10座儿童主题乐园").text.startswith("未找到")


def test_text_answers_quote_the_plan(kit):
    assert "92％以上" in run(kit, TextTargetStrategy, "产前筛查率要达到多少").text
    who = run(kit, ResponsibilityStrategy, "谁负责规划实施的组织协调")
    assert "妇儿工委" in who.text and {c.plan for c in who.chunks} == {"women", "children"}
    # the duty of the sentence before goes with it: "各级政府负责规划实施工作。市政府妇儿工委负责…"
    assert "各级政府负责规划实施工作" in who.text
    assert who.text.index("各级政府负责规划实施工作") < who.text.index("市政府妇儿工委负责规划实施的组织")
    assert "阳光厨房" in run(kit, SentenceStrategy, "学校食堂安全有什么行动").text


def test_router_refuses_with_what_the_plan_says_nearby(kit, router):
    query = q(kit, "2030年孕产妇死亡率目标是多少")
    answer = router.answer(query, None, hits(kit, query), 10)
    assert not answer.answerable and "2030" in answer.answer and "<8" in answer.answer
    query = q(kit, "妇女体质合格率2020年是多少")
    answer = router.answer(query, None, hits(kit, query), 10)
    assert not answer.answerable and "≥90" in answer.answer  # the 2025 target when 2020 is '－'
    for c in answer.citations:
        assert kit.corpus.quote(c.doc, c.start, c.end) == c.quote


def test_router_answer_carries_the_state(kit, router):
    query = q(kit, "妇女与健康领域有哪些任务")
    answer = router.answer(query, None, hits(kit, query), 10)
    assert answer.answerable and len(answer.state.items) == 2 and answer.context["strategy"] == "section_list"


def test_make_strategies_builds_one_of_each(kit):
    assert [type(s) for s in make_strategies(kit)] == STRATEGY_ORDER


def test_merged_drafts_renumber_the_second_plans_markers(kit):
    from assistant.compose import Draft
    from assistant.router import merge_drafts

    first = Draft("妇女规划：甲[1]乙[2]", ["c1", "c2"], "text", plans=("women",))
    second = Draft("儿童规划：丙[1]", ["c3"], "text", plans=("children",))
    merged = merge_drafts(first, second)
    assert merged.text.endswith("儿童规划：丙[3]") and merged.citations == ["c1", "c2", "c3"]
    assert merged.plans == ("women", "children") and merged.text.startswith("两个规划")


def test_a_question_naming_no_plan_gets_both_plans(kit, router):
    query = q(kit, "谁负责规划实施的组织协调")
    answer = router.answer(query, None, hits(kit, query), 10)
    assert {c.plan for c in answer.citations} == {"妇女规划", "儿童规划"}


def test_a_named_section_answers_what_is_asked_beyond_its_name_from_a_later_sentence():

    from assistant.strategies.outline import SectionTextStrategy

    project = ("实施儿童近视防控行动，每年开展视力筛查。建立视力健康档案。加强用眼卫生宣传。"
               "改善教室采光照明条件。全面开展中小学生屈光度和眼轴长度检测，及早干预。\n\n")
    mini = make_kit(TEXT.replace("实施儿童近视防控行动，每年开展视力筛查。\n\n", project))
    strategy = SectionTextStrategy(mini)
    asked = q(mini, "儿童近视防控项目里 学生要做哪些检测")
    draft = strategy.answer(asked, hits(mini, asked))
    assert draft.text.startswith("儿童规划：全面开展中小学生屈光度") and len(draft.citations) == 1
    whole = strategy.answer(q(mini, "儿童近视防控项目讲了什么"), [])
    assert "每年开展视力筛查" in whole.text and "屈光度" not in whole.text


def test_of_two_sections_named_the_one_retrieval_ranks_first_answers(kit):
    """"转诊机构出了结果多少天内要反馈给初筛机构" names two sibling sections: the one whose text answers
    (retrieval's first) is quoted, not the first in the document."""
    from assistant.strategies.outline import SectionTextStrategy

    draft = run(kit, SectionTextStrategy, "推进示范食堂建设要求5年内建几个 跟保障儿童食品安全比")
    assert "新建10个食品安全示范食堂" in draft.text and "阳光厨房" not in draft.text


def test_a_choice_between_two_named_sections_shows_both(kit):
    from assistant.strategies.outline import SectionTextStrategy

    draft = run(kit, SectionTextStrategy, "阳光厨房是保障儿童食品安全里的还是推进示范食堂建设里的")
    assert draft.text.index("阳光厨房") < draft.text.index("示范食堂") and len(draft.citations) == 2


def test_twin_documents_answer_from_their_parallel_sections():
    """"多久评估一次" names no plan, and each plan has its own section for it ("（二）妇女发展状况多久
    评估一次", "（二）儿童发展状况…"): both are given, though the other plan's sentence shares fewer
    words ("每三年" is a time too)."""
    from assistant.strategies.passage import WhenStrategy

    women = "（一）加强组织领导。市政府妇儿工委负责本规划实施的组织、协调、指导和督促。\n\n"
    children = "（一）加强组织领导。各级政府负责规划实施工作。"
    text = TEXT.replace(women, women + "（二）妇女发展状况多久评估一次。妇女发展状况每年评估一次。\n\n", 1)
    twin = "\n\n（二）儿童发展状况多久评估一次。儿童发展状况每三年开展一次综合评估。\n\n"
    text = text.replace(children, children + twin, 1)
    draft = run(make_kit(text), WhenStrategy, "发展状况多久评估一次")
    assert "每年评估一次" in draft.text and "每三年开展一次综合评估" in draft.text


def test_a_quotation_not_in_the_plan_is_shown_beside_the_sentence_most_about_it(kit):
    """A trainer's "全市托育服务全部免费" is not in the plan: the verdict says so, and the plan's own
    sentence on 托育服务 is quoted beside it (cited exactly); with nothing close, the verdict alone."""
    draft = run(kit, QuoteCheckStrategy, "规划有没有写“全市托育服务全部免费”")
    assert draft.text.startswith("未找到") and "发展普惠托育服务体系" in draft.text and len(draft.citations) == 1
    alone = run(kit, QuoteCheckStrategy, "规划里有“到2030年人均寿命达到90岁”吗")
    assert alone.text.startswith("未找到") and not alone.citations


def test_the_rows_of_a_table_domain_by_its_ordinal(kit):
    from assistant.dialogue import resolve
    from assistant.types import DialogueState, Intent

    state = DialogueState(topic="儿童规划的指标分几个领域", plans=("children",), intent=Intent.COUNT)
    query = resolve(q(kit, "第二个领域里有哪些指标"), state)
    draft = TreeFactsStrategy(kit).answer(query, hits(kit, query))
    assert "儿童与教育" in draft.text and "高中阶段毛入学率" in draft.text and "近视" not in draft.text
    last = TreeFactsStrategy(kit).answer(resolve(q(kit, "倒数第一个领域有哪些指标"), state), [])
    assert "儿童与教育" in last.text and len(last.citations) == 1


def test_a_table_domain_named_in_full_is_that_plans_only(kit):
    women = TreeFactsStrategy(kit).answer(q(kit, "妇女与健康有哪几项指标"), [])
    assert "孕产妇死亡率" in women.text and "婴儿死亡率" not in women.text
    both = TreeFactsStrategy(kit).answer(q(kit, "健康方面有哪几项指标"), [])
    assert "孕产妇死亡率" in both.text and "婴儿死亡率" in both.text


def test_the_listed_rows_values_at_once(kit):
    from assistant.dialogue import resolve
    from assistant.types import DialogueState, Intent

    listed = TreeFactsStrategy(kit).answer(q(kit, "儿童与健康有哪几项指标"), [])
    state = DialogueState(topic="儿童与健康有哪几项指标", plans=("children",), intent=Intent.LIST, items=listed.items)
    query = resolve(q(kit, "它们2025年分别是多少"), state)
    draft = IndicatorValueStrategy(kit).answer(query, hits(kit, query))
    assert "＜4" in draft.text and "＜50" in draft.text and len(draft.rows) == 2


def test_words_every_one_of_several_rows_holds_get_each_row(kit):
    """"死亡率目标是多少" fits 孕产妇死亡率 and 婴儿死亡率 alike: both are answered, not the shorter name."""
    draft = run(kit, IndicatorValueStrategy, "死亡率目标是多少")
    assert {kit.indicators[c.id].name for c in draft.chunks} == {"孕产妇死亡率（1/10万）", "婴儿死亡率（‰）"}
    assert draft.text.startswith("两个规划各有相关指标") and "<8" in draft.text and "＜4" in draft.text
    # one indicator in both tables is one indicator; a share asked is not a count's row
    twins = run(kit, IndicatorValueStrategy, "高中阶段毛入学率是多少")
    assert not twins.text.startswith("重点指标中有")
    assert not run(kit, IndicatorValueStrategy, "女职工生育保险参保人数占比是多少").text.startswith("重点指标中有")


def test_the_other_plan_answers_in_words_when_the_first_states_a_figure():
    """"中医药有什么要求": one plan states a coverage rate, the other only a requirement in words; both
    answer (the other plan's draft comes from a later strategy when the same one finds no figure)."""

    women = "3．发挥中医药作用。积极发挥中医药在妇幼保健和疾病防治中的作用。\n\n"
    children = "3．推广中医儿科适宜技术。0-3岁儿童中医药健康管理服务覆盖率达到70％以上。\n\n"
    text = TEXT.replace("（二）妇女与经济。", women + "（二）妇女与经济。")
    text = text.replace("3．保障儿童食品安全。", children + "4．保障儿童食品安全。")
    mini = make_kit(text)
    query = q(mini, "中医药在规划里有什么要求")
    answer = Router(mini).answer(query, None, hits(mini, query), 10)
    assert "70％" in answer.answer and "妇幼保健和疾病防治" in answer.answer
    assert {c.plan for c in answer.citations} == {"妇女规划", "儿童规划"}
    for c in answer.citations:
        assert mini.corpus.text("demo")[c.start:c.end] == c.quote


def test_a_topic_asked_in_general_gets_its_table_row_after_the_text(kit, router):
    query = q(kit, "近视有哪些指标和措施")
    answer = router.answer(query, None, hits(kit, query), 10)
    text, row = answer.answer.rsplit("\n", 1)
    assert "每年降低1个百分点" in text and row.startswith("儿童规划重点指标“儿童青少年总体近视率")
    assert answer.answer.count("每年降低1个百分点") == 1  # the row's text mention is the quote above
    assert [c.quote for c in answer.citations].count(answer.citations[-1].quote) == 1


def test_a_row_asked_whether_the_plans_mention_it_gets_the_other_plans_sentence():
    """"孕产妇死亡率规划里有提吗": the women's table row, and the children's plan's sentence on it."""

    mini = make_kit(TEXT.replace("3．保障儿童食品安全。", "3．保障儿童食品安全。开展孕产妇死亡率监测评审。"))
    query = q(mini, "孕产妇死亡率规划里有提吗")
    answer = Router(mini).answer(query, None, hits(mini, query), 10)
    assert "孕产妇死亡率（1/10万）" in answer.answer and "监测评审" in answer.answer
    assert {c.plan for c in answer.citations} == {"妇女规划", "儿童规划"}


def test_a_when_question_is_answered_by_a_sentence_that_states_a_time(kit):
    from assistant.strategies.passage import WhenStrategy

    draft = run(kit, WhenStrategy, "近视防控项目的视力筛查什么时候做")
    assert "每年开展视力筛查" in draft.text
    silent = q(kit, "心理辅导中心什么时候建成")  # its sentence states no time, and no sentence near it does
    assert WhenStrategy(kit).answer(silent, hits(kit, silent)) is None


def test_projects_about_a_topic_are_named(kit):
    draft = run(kit, TreeFactsStrategy, "近视方面的重点项目叫啥")
    assert "儿童近视防控项目" in draft.text and "托育" not in draft.text


def test_a_table_row_by_its_number(kit):
    draft = run(kit, TreeFactsStrategy, "儿童规划指标表第2项是什么")
    assert "儿童青少年总体近视率" in draft.text and len(draft.indicators) == 1


def test_a_named_section_without_items_is_quoted_per_plan(kit):
    from assistant.strategies.outline import SectionTextStrategy

    draft = run(kit, SectionTextStrategy, "两个规划的总体目标分别是什么")
    assert {c.plan for c in draft.chunks} == {"women", "children"} and "全省前列" in draft.text


def test_a_followup_about_people_no_row_covers_is_left_to_the_text(kit):
    """"婴儿死亡率目标是多少" -> "5岁以下的呢": the table has no such row; answering 婴儿死亡率 again is wrong."""
    from assistant.dialogue import resolve
    from assistant.types import DialogueState, Intent

    state = DialogueState(topic="婴儿死亡率目标是多少", intent=Intent.VALUE)
    query = resolve(q(kit, "5岁以下的呢"), state)
    assert IndicatorValueStrategy(kit).answer(query, hits(kit, query)) is None
    narrowed = resolve(q(kit, "女生的呢"), DialogueState(topic="高中阶段毛入学率是多少", intent=Intent.VALUE))
    draft = IndicatorValueStrategy(kit).answer(narrowed, hits(kit, narrowed))
    assert draft is not None and "女生" in draft.citations[0].section


def test_a_question_naming_an_item_is_not_given_a_row_by_meaning(kit):
    strategy = IndicatorValueStrategy(kit)
    named = q(kit, "妇女心理健康促进项目对各县有什么要求")
    assert strategy.heading_named(named, hits(kit, named))
    value = q(kit, "孕产妇死亡率目标是多少")
    assert not strategy.heading_named(value, hits(kit, value))


def test_a_defined_term_inside_a_longer_phrase_is_not_what_is_asked(kit):
    from assistant.strategies.definition import DefinitionStrategy

    assert "儿童" in run(kit, DefinitionStrategy, "儿童规划说的儿童 刚满18岁的算不算是什么意思").citations[0].quote
    longer = q(kit, "儿童青少年是什么意思")  # the plan's own longer phrase, which it does not define
    assert DefinitionStrategy(kit).answer(longer, hits(kit, longer)) is None


def test_a_part_or_domain_by_its_ordinal(kit):
    third = run(kit, TreeFactsStrategy, "妇女规划第三部分讲什么")
    assert "第3部分是三、重点实事项目" in third.text and "妇女心理健康促进项目" in third.text
    last = run(kit, TreeFactsStrategy, "妇女规划倒数第一个领域是什么")
    assert "（二）妇女与经济" in last.text and "推动妇女参与企业管理" in last.text
    beyond = run(kit, TreeFactsStrategy, "妇女规划第九部分讲什么")  # out of range: how many there are
    assert "分4个部分" in beyond.text



WOMEN_HEAD = "示范市妇女发展规划\n为推进全市妇女事业发展，制定本规划。规划期限为2021—2025年。\n\n"


def measures_of(body: str, question: str):
    """MeasuresStrategy's draft over a one-plan document (WOMEN_HEAD + body), its citations checked."""
    from assistant.strategies.passage import MeasuresStrategy

    kit = make_kit(WOMEN_HEAD + body, doc="one")
    query = parse_query(question, kit.plan_names)
    draft = MeasuresStrategy(kit).answer(query, kit.retriever.retrieve(query.text, 10))
    assert draft is not None
    assert all(c.quote == kit.corpus.text("one")[c.start:c.end] for c in draft.citations)
    return draft


def test_measures_quote_the_later_sentence_that_holds_the_question():
    """An item's first sentences are quoted, and the later one that holds most of the question too
    (a figure often closes an item: "…检测率保持在98％以上" is its 6th sentence)."""
    draft = measures_of("一、发展领域的主要任务与措施\n（一）妇女与健康。\n\n"
                        "1．加大母婴传播防治力度。持续实施免费检查项目。加大财政支持力度。加强宣传教育，提高防范能力。"
                        "完善防治工作机制，落实综合干预措施。开展孕期随访服务。孕产妇梅毒、乙肝检测率保持在98％以上。\n\n"
                        "2．促进妇女就业。落实创业补贴政策。\n\n3．推动妇女参与管理。促进更多妇女进入管理层。\n\n"
                        "4．保障妇女财产权益。依法保障妇女土地权益。\n", "孕妇梅毒乙肝检测有什么措施")
    assert "持续实施免费检查项目" in draft.text
    assert draft.citations[-1].quote == "孕产妇梅毒、乙肝检测率保持在98％以上。"


def test_a_second_item_is_quoted_by_a_sentence_other_than_its_heading(kit):
    """"近视防控有什么措施": the 2nd item's heading (加强近视防控) is named in the line already, so its
    figure sentence is what is quoted for it, not the heading again."""
    from assistant.strategies.passage import MeasuresStrategy

    draft = run(kit, MeasuresStrategy, "近视防控有什么措施")
    assert "每年降低1个百分点" in draft.text
    assert all(c.quote.rstrip("。") not in ("2．加强近视防控", "加强近视防控") for c in draft.citations)


def test_two_items_of_one_plan_that_say_it_as_fully_are_both_quoted():
    """"儿童之家要建成啥样": one item says 村（社区）全覆盖, another 每个镇（街道）1个以上示范型; both answer."""
    text = ("示范市儿童发展规划\n为推进全市各项事业发展，制定本规划。规划期限为2021—2025年。\n\n"
            "一、发展领域的主要任务和措施\n（一）儿童与家庭。\n\n"
            "1．加强家庭服务。统筹推进儿童之家建设，实现村（社区）全覆盖。\n\n"
            "2．促进家庭教育。开展家庭教育指导服务。\n\n（二）儿童与社会环境。\n\n"
            "1．推进儿童活动场所建设。推动儿童之家规范化建设，每个镇（街道）建有1个示范型儿童之家。\n\n"
            "2．净化网络环境。加强网络游戏管理。\n")
    kit = make_kit(text, doc="one")
    query = parse_query("儿童之家要建成啥样", kit.plan_names)
    picked = kit.best_sentences(query, kit.retriever.retrieve(query.text, 10))
    quotes = [kit.text_of(c, s, e) for c, s, e, _ in picked]
    assert any("村（社区）全覆盖" in x for x in quotes) and any("示范型儿童之家" in x for x in quotes)


def test_an_askers_age_prefers_the_sentence_that_states_an_age_band(kit):
    """"我今年30 能参加筛查吗": who is covered is said by an age band (35-64周岁妇女)."""
    from assistant import thresholds as T
    from assistant.compose import sentence_bonus

    asked = q(kit, "我今年30 能参加宫颈癌筛查吗")
    band = sentence_bonus(asked, "服务对象为35-64周岁妇女，优先保障农村妇女。")
    other = sentence_bonus(asked, "积极动员目标人群接受宫颈癌筛查。")
    assert band - other == pytest.approx(T.BONUS_AGE_BAND)
    assert sentence_bonus(q(kit, "宫颈癌筛查对象是谁"), "服务对象为35-64周岁妇女。") == sentence_bonus(
        q(kit, "宫颈癌筛查对象是谁"), "积极动员目标人群接受宫颈癌筛查。")  # no age given, no preference


def test_a_long_section_title_is_named_with_one_bigram_broken():
    """"配置规划主要要写哪几块内容" names 《配置规划》主要内容 though its 要内 is broken by 要写; a short
    title (妇女与健康) must be named whole."""
    from assistant.strategies.outline import names_title
    from assistant.text import char_bigrams

    asked = char_bigrams("辅助生殖配置规划主要要写哪几块内容")
    assert names_title(char_bigrams("配置规划主要内容"), asked)
    assert not names_title(char_bigrams("妇女与健康"), char_bigrams("妇女健康有哪些任务"))
    assert names_title(char_bigrams("妇女与健康"), char_bigrams("妇女与健康有哪些任务"))


def test_a_duty_quoted_without_its_subject_is_named_by_its_heading():
    """"负责为初筛机构转诊的病例提供乳腺X线检查": the sentence's subject is its item's heading."""
    from assistant.strategies.passage import SentenceStrategy

    text = ("示范市筛查方案\n为做好筛查工作，制定本方案。\n\n一、职责分工\n（一）医疗机构。\n\n"
            "1．初筛机构。主要负责采集病史、妇科检查等。\n\n"
            "2．转诊机构。负责为初筛机构转诊的可疑病例提供乳腺X线检查、组织病理学检查等服务。\n")
    kit = make_kit(text, doc="one")
    query = parse_query("乳腺X线检查由谁提供", kit.plan_names)
    draft = SentenceStrategy(kit).answer(query, kit.retriever.retrieve(query.text, 10))
    assert draft is not None and "“2．转诊机构”负责为初筛机构转诊" in draft.text
    assert all(c.quote == kit.corpus.text("one")[c.start:c.end] for c in draft.citations)


def test_a_second_item_shows_its_figure_sentence_too():
    """A figure is a requirement: an item quoted by its best sentence (not whole) also shows its first
    sentence that states a figure of the question ("…15分钟养老服务圈"), as a whole item does."""
    draft = measures_of("一、发展领域的主要任务与措施\n（一）妇女与社会保障。\n\n"
                        "1．为老年妇女提供养老服务。健全老年妇女养老服务体系。开展农村老年妇女关爱行动。\n\n"
                        "2．促进妇女就业。落实创业补贴政策。\n\n"
                        "二、重点实事项目\n\n（一）老年妇女关爱照护项目。\n\n"
                        "探索老年妇女养老顾问制度。推进家庭照护床位试点。建成城乡“15分钟养老服务圈”，"
                        "老年妇女均可享受养老服务。\n", "老年妇女养老 有什么措施")
    assert "养老顾问" in draft.text and "健全老年妇女养老服务体系" in draft.text
    assert "15分钟养老服务圈" in draft.text and "家庭照护床位" not in draft.text


def test_a_word_few_places_use_lists_its_other_places(kit):
    """"阳光厨房" is used by one task and mentioned in passing by two other places, one in each plan:
    the answer quotes the task, then each other place's sentence that uses the word, by its plan and
    heading (the word named as the question writes it, not jieba's "阳光")."""
    text = TEXT.replace("构建城市“10分钟健身圈”。", "构建城市“10分钟健身圈”。推广孕产妇营养餐“阳光厨房”经验。")
    text = text.replace("每年开展视力筛查。", "每年开展视力筛查。托幼机构全部建成“阳光厨房”。")
    mini = make_kit(text)
    query = q(mini, "学生用餐的阳光厨房有啥要求")
    answer = Router(mini).answer(query, None, hits(mini, query), 10)
    head, _, rest = answer.answer.partition("\n规划中提到“阳光厨房”的其他地方：\n")
    assert "保障学生用餐安全" in head and "托幼机构" not in head
    assert rest.split("\n") == [
        "儿童规划“（一）儿童近视防控项目”：托幼机构全部建成“阳光厨房”。[2]",
        "妇女规划“1．提升妇女健康服务水平”：推广孕产妇营养餐“阳光厨房”经验。[3]",
    ]
    for c in answer.citations:
        assert mini.corpus.text("demo")[c.start:c.end] == c.quote
    # a figure asked for is answered from its place alone
    value = q(mini, "阳光厨房要覆盖多少学校")
    assert "其他地方" not in Router(mini).answer(value, None, hits(mini, value), 10).answer


def breast_kit():
    from pathlib import Path

    from assistant.loaders import load_file

    path = Path(__file__).resolve().parents[1] / "evals" / "external-docs" / "breast_cancer_screening_plan_2021.txt"
    return make_kit(load_file(path), doc="breast")


def test_a_table_named_short_is_listed_and_a_column_asked_of_every_row():
    """"乳腺癌绩效考核表里有哪些指标" names the 乳腺癌筛查绩效考核指标表 short: its rows are listed. "三项指标
    的评分标准各是多少": that column of every row, each cell cited. A row named ("早诊率") is no listing."""
    kit = breast_kit()
    listed = run(kit, TreeFactsStrategy, "乳腺癌绩效考核表里有哪些指标").text
    assert "共列3项指标" in listed and "乳腺癌筛查早诊率" in listed
    scores = run(kit, TreeFactsStrategy, "乳腺癌绩效考核指标表三项指标的评分标准各是多少")
    assert "≥80%" in scores.text and "逐年提高" in scores.text and "≥70%" in scores.text
    assert [c.quote for c in scores.citations] == ["≥80%", "逐年提高", "≥70%"]
    assert TreeFactsStrategy(kit).noun(q(kit, "绩效考核表里早诊率的评分标准是多少")) is None


def test_a_target_asked_of_a_table_without_targets_is_answered_from_the_text():
    """The 绩效考核指标表 has 考核指标 / 计算方法 / 评分标准: a 评分标准 is no target. "早诊率到2025年要达到
    多少" is answered by the text's target sentence; the column named is still read from the table."""
    kit = breast_kit()
    target = q(kit, "乳腺癌筛查早诊率到2025年要达到多少")
    assert IndicatorValueStrategy(kit).answer(target, hits(kit, target)) is None
    assert "早诊率达到70%以上" in run(kit, TextTargetStrategy, "乳腺癌筛查早诊率到2025年要达到多少").text
    scored = run(kit, IndicatorValueStrategy, "乳腺癌筛查早诊率的评分标准是多少")
    assert "评分标准为“≥70%”" in scored.text


def test_which_annex_a_document_is_and_the_annexes_it_has():
    """A screening plan is 附件2 of a notice (the line above its title) and lists three annexes of
    its own ("附：1.…绩效考核指标表 2.…流程图 3.…核心知识"): both are facts of its text, cited."""
    breast = breast_kit()
    draft = run(breast, DocumentFactsStrategy, "乳腺癌筛查方案是哪个文的附件 后面附了几个附件")
    assert "国卫办妇幼函〔2021〕635号" in draft.text and "附件2" in draft.text
    assert "3个附件" in draft.text
    for name in ("乳腺癌筛查绩效考核指标表", "乳腺癌筛查流程图", "乳腺癌防治健康教育核心知识"):
        assert name in draft.text
    # the list under a bare "附件：" line, its entries on the lines below
    from pathlib import Path

    from assistant.loaders import load_file

    docs = Path(__file__).resolve().parents[1] / "evals" / "external-docs"
    spec = make_kit(load_file(docs / "pmtct_hiv_syphilis_hbv_work_spec_2020.txt"), doc="pmtct")
    assert "后附6个附件" in run(spec, DocumentFactsStrategy, "母婴传播规范有哪些附件").text
    # a notice named by its number is still the document asked about
    assert "附件2" in run(breast, DocumentFactsStrategy, "乳腺癌筛查工作方案是635号文的附件几").text


def test_a_rhythm_or_a_grade_is_a_figure():
    from assistant.text import figures

    assert figures("适龄妇女每3-5年进行一次宫颈癌筛查") == ["每3-5年"]
    assert figures("BI-RADS分类为0类或3类及以上者") == ["3类及以上"]
    assert figures("规划期限为2021—2025年") == [] and figures("完善三级预防服务体系") == []


def test_the_sentence_nearest_in_meaning_is_found_in_other_words(tmp_path):
    """Of an item's sentences, the one that says what is asked in words the question mostly lacks
    ("走几分钟就到的健身场所" -> "10分钟健身圈"), by the real embedder's vectors; a question far from
    every sentence ("产假有多长") gets none."""
    from dataclasses import replace as with_

    from assistant.config import Settings
    from assistant.embeddings import get_embedder
    from assistant.sentences import sentence_vectors

    plain = make_kit()
    embedder = get_embedder(Settings(index_dir=str(tmp_path)))
    vectors = sentence_vectors(plain.corpus, plain.chunks, embedder, tmp_path)
    kit = type(plain)(plain.corpus, plain.retriever, None, vectors)
    item = next(c for c in kit.chunks if c.section.endswith("1．提升妇女健康服务水平"))
    def ask(text):
        return with_(q(kit, text), vector=tuple(embedder.embed_query(text)))

    query = ask("附近能有个走几分钟就到的健身场所吗")
    near = kit.nearest_sentence(query, item, kit.sentences(item))
    assert near is not None and "10分钟健身圈" in kit.text_of(item, *near)
    assert kit.nearest_sentence(ask("产假有多长"), item, kit.sentences(item)) is None
    assert make_kit().nearest_sentence(query, item, kit.sentences(item)) is None  # no vectors: no guess


def test_parts_answered_apart_are_joined_each_span_cited_once():
    from assistant.router import joined
    from assistant.types import Answer, Citation

    def cite(start, quote):
        return Citation(plan="妇女规划", section="妇女规划 > x", quote=quote, start=start, end=start + len(quote),
                        doc="d")

    violence, guardians, shared = cite(0, "零容忍"), cite(100, "撤销监护人资格"), cite(200, "强制报告")
    off_topic = Answer("老公打老婆 家长打孩子", "家长学校[1]", True, [cite(300, "家长学校")])
    parts = [Answer("老公打老婆", "零容忍[1]；强制报告[2]", True, [violence, shared]),
             Answer("家长打孩子", "撤销监护人资格[1]；强制报告[2]", True, [guardians, shared]),
             Answer("第三件", "规划中没有写明这一点。", False)]
    both = joined(off_topic, parts)
    assert both.answer == "零容忍[1]；强制报告[2]\n撤销监护人资格[3]；强制报告[2]"
    assert both.citations == [violence, shared, guardians] and both.answerable
    # the whole answer already cites each part's own passage: it stands as it is
    whole = Answer("老公打老婆 家长打孩子", "零容忍[1]；撤销监护人资格[2]", True, [violence, guardians])
    assert joined(whole, parts) is whole
    # fewer than two parts answered: the whole answer, refused or not
    refused = Answer("q", "规划中没有写明这一点。", False)
    assert joined(refused, parts[:1] + parts[2:]) is refused


def test_title_index_finds_what_a_scan_of_every_title_finds(kit):
    """The inverted index of titles gives the scan's answer, in the scan's order, for titles named in
    full, named but for one bigram of a long title, and held whole."""
    from assistant.strategies.outline import TitleIndex, names_title, title_grams
    from assistant.structure import iter_nodes
    from assistant.text import char_bigrams

    titles = [((key, i), n.title) for key, (_, plan) in kit.plans.items() for i, n in enumerate(iter_nodes(plan))]
    index = TitleIndex(titles)
    questions = [title + "有哪些任务" for _, title in titles] + [title[:-1] + "方面" for _, title in titles]
    questions += ["妇女与健康和儿童与安全有什么措施", "完全无关的问题", ""]
    assert len(titles) > 10
    for question in questions:
        grams = char_bigrams(question)
        scan = [t for t in titles if title_grams(t[1]) and names_title(title_grams(t[1]), grams)]
        whole = [t for t in titles if title_grams(t[1]) and title_grams(t[1]) <= grams]
        assert index.named(grams) == scan, question
        assert index.named(grams, whole=True) == whole, question
    assert index.named(char_bigrams(titles[3][1])), "a title asked in full is found"


def test_both_plans_asked_by_name_each_gets_looked_in():
    """"两个规划都有提吗" with a figure asked: the women's row, and what the children's plan says of it
    (a sentence without the figure, as the plan has no row of its own)."""
    mini = make_kit(TEXT.replace("3．保障儿童食品安全。", "3．保障儿童食品安全。开展孕产妇死亡率监测评审。"))
    query = q(mini, "孕产妇死亡率目标多少 两个规划都有提吗")
    answer = Router(mini).answer(query, None, hits(mini, query), 10)
    assert "孕产妇死亡率（1/10万）" in answer.answer and "监测评审" in answer.answer
    assert {c.plan for c in answer.citations} == {"妇女规划", "儿童规划"}


def test_which_project_a_sentence_belongs_to_is_named():
    """"…是哪个项目": the quoted sentence is labelled with its item's heading; otherwise only with its plan."""
    kit = make_kit()
    asked = run(kit, SentenceStrategy, "建成标准化心理辅导中心的是哪个项目")
    assert "“（一）妇女心理健康促进项目”：" in asked.text and "心理辅导中心" in asked.text
    plain = run(kit, SentenceStrategy, "标准化心理辅导中心要建成什么样")
    assert "项目”：" not in plain.text
