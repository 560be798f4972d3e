"""Answers on a real index: indicators, text targets, both plans, refusals, follow-ups, quotes."""

import pytest

from assistant.errors import InputError


def assert_exact(assistant, answer):
    for c in answer.citations:
        assert assistant.corpus.quote(c.doc, c.start, c.end) == c.quote


def test_indicator_answer_target_and_baseline(assistant):
    a = assistant.ask("婚前医学检查率目标是多少")
    assert a.answerable and a.kind == "indicator"
    assert ">85％" in a.answer and "92.41％" in a.answer and "妇女规划" in a.answer
    assert a.answer.index(">85") < a.answer.index("92.41")  # the target first: that is what was asked
    assert "婚前医学检查率" in a.citations[0].section and "重点指标目标表" in a.citations[0].section
    assert_exact(assistant, a)


def test_indicator_in_both_plans(assistant):
    a = assistant.ask("高中阶段毛入学率是多少")
    assert a.answerable
    assert {c.plan for c in a.citations} == {"妇女规划", "儿童规划"}
    assert "99.32" in a.answer and "≥99" in a.answer and "两个规划" in a.answer


def test_a_share_asked_by_another_word_finds_its_row(assistant):
    """覆盖率 asked of a row named …的县（市、区）比例: the row by what the share is of."""
    a = assistant.ask("活动中心 县里的覆盖率 原来多少 要到多少")
    assert a.answerable and a.kind == "indicator"
    assert "建立妇女活动中心的县（市、区）比例" in a.answer and "建立儿童活动中心的县（市、区）比例" in a.answer
    assert "71.43" in a.answer
    assert_exact(assistant, a)


def test_a_topic_that_names_a_row_in_each_plan_gets_both(assistant):
    """No plan named, and 体质 names a row in each table: both rows, not a count of indicators."""
    a = assistant.ask("体质的指标要求是多少")
    assert a.kind == "indicator" and "两个规划各有相关指标" in a.answer
    assert "妇女国民体质合格率" in a.answer and "国家学生体质健康标准达标优良率" in a.answer
    assert_exact(assistant, a)


def test_a_row_asked_by_its_value(assistant):
    """"2020年是92.41%的那个": the row that holds that value, not a count of the table's rows."""
    a = assistant.ask("2020年是92.41%的那个指标 目标是多少")
    assert a.kind == "indicator" and "婚前医学检查率" in a.answer and ">85" in a.answer
    assert_exact(assistant, a)


def test_shared_target_cell_is_cited(assistant):
    a = assistant.ask("县（市、区）政府领导班子中配有女干部的班子比例目标")
    assert "平时保持在85％以上" in a.answer and "85.71" in a.answer
    assert any(c.quote == "换届后当年达到100％，平时保持在85％以上" for c in a.citations)
    assert_exact(assistant, a)


def test_text_target_sentence(assistant):
    a = assistant.ask("产前筛查率要达到多少")
    assert a.answerable and "产前筛查率达到90％以上" in a.answer
    assert "保障孕产妇安全分娩" in a.citations[0].section
    assert_exact(assistant, a)


def test_colloquial_and_english(assistant):
    a = assistant.ask("孩子蛀牙的情况要控制在多少")
    assert a.answerable and "25" in a.answer
    b = assistant.ask("What is the 2025 target for the infant mortality rate?")
    assert b.answerable and "＜5" in b.answer


def test_measures_list_by_section(assistant):
    a = assistant.ask("妇女与健康领域有哪些任务")
    assert a.kind == "measures"
    assert "3．提升妇女生殖健康服务水平" in a.answer and "8项" in a.answer
    assert_exact(assistant, a)


def test_same_statement_in_both_plans(assistant):
    a = assistant.ask("谁负责规划实施的组织协调")
    assert {c.plan for c in a.citations} == {"妇女规划", "儿童规划"}
    assert "妇儿工委" in a.answer


@pytest.mark.parametrize("question", [
    "2030年婴儿死亡率的目标是多少",
    "嘉兴市儿童医院建设的预算是多少",
    "杭州市的婴儿死亡率目标是多少",
    "妇联的联系电话是多少",
])
def test_refuses_what_the_plan_does_not_say(assistant, question):
    a = assistant.ask(question)
    assert not a.answerable and a.kind == "refusal"
    assert "没有写明" in a.answer
    assert a.retrieved, "a refusal still offers the nearest passages"
    assert_exact(assistant, a)


def test_plan_filter(assistant):
    a = assistant.ask("高中阶段毛入学率", plan="children")
    assert {c.plan for c in a.citations} == {"儿童规划"}


def test_followup_year_and_plan(assistant):
    first = assistant.ask("高中阶段女生毛入学率目标是多少")
    second = assistant.ask("那2020年是多少？", history=[first])
    assert second.kind == "indicator" and second.answer.index("99.32") < second.answer.index("≥99")
    third = assistant.ask("那儿童规划呢？", history=[first, second])
    assert {c.plan for c in third.citations} == {"儿童规划"}
    assert "高中阶段毛入学率" in third.answer


def test_followup_to_a_plan_without_that_indicator(assistant):
    first = assistant.ask("婚前医学检查率目标是多少")
    a = assistant.ask("那儿童规划呢？", history=[first])
    assert not a.answerable and "儿童规划" in a.answer


def test_followup_ordinal_refers_to_the_list(assistant):
    first = assistant.ask("妇女与健康领域有哪些任务")
    a = assistant.ask("第二个具体做什么", history=[first])
    assert a.kind == "detail" and "提升妇女健康素养" in a.answer
    assert_exact(assistant, a)


def test_history_as_plain_strings(assistant):
    a = assistant.ask("那2020年是多少？", history=["婚前医学检查率目标是多少"])
    assert "92.41" in a.answer


def test_a_short_question_in_the_last_answers_words_is_about_that_answer(assistant):
    """Replayed from plain strings too: the conversation goes back past a question that may lean."""
    first = assistant.ask("两癌筛查有什么要求")
    a = assistant.ask("覆盖率要达到多少", history=[first])
    assert "85％" in a.answer and "幼儿园" not in a.answer
    assert_exact(assistant, a)
    b = assistant.ask("2020年呢", history=["两癌筛查有什么要求", "覆盖率要达到多少"])
    assert "两癌" in b.resolved_question and "幼儿园" not in b.answer


def test_quote_check_differs(assistant):
    a = assistant.ask("规划里是不是说'至少设有2家危重新生儿救治中心'？")
    assert a.kind == "quote_check" and a.answer.startswith("与原文不一致")
    assert "1家" in a.answer and ("2家", "1家") in a.context["diffs"]
    assert a.citations[0].quote == "至少设有1家危重新生儿救治中心"
    assert_exact(assistant, a)


def test_quote_check_exact_and_not_found(assistant):
    a = assistant.ask("规划里是不是说“产前筛查率达到90％以上”？")
    assert a.answer.startswith("原文一致") and "保障孕产妇安全分娩" in a.citations[0].section
    b = assistant.check_quote("全市将建成10座儿童主题乐园")
    assert b.answer.startswith("未找到") and not b.citations


def test_quote_check_across_table_line_breaks(assistant):
    a = assistant.check_quote("应救尽救")
    assert a.answer.startswith("原文一致")
    assert_exact(assistant, a)


@pytest.mark.parametrize("bad", ["", "   \n\t", "？？？", "x" * 5000, None])
def test_bad_questions_are_clear_errors(assistant, bad):
    with pytest.raises(InputError):
        assistant.ask(bad)


def test_a_question_about_a_plan_as_a_whole_gets_no_table_row(assistant):
    """"妇女规划的目标有哪些" shares only the plan's own group word with the row names: no row is meant."""
    for question in ("妇女规划的目标有哪些", "妇女规划里的主要目标有哪些"):
        assert assistant.ask(question).kind != "indicator", question
    assert assistant.ask("妇女规划里女的平均能活多少岁").kind == "indicator"  # a row meant by its meaning


def test_measures_show_the_other_plans_item_on_the_topic_as_fully_as_the_first(assistant):
    """Both plans have an item on trafficking: each is quoted from its start, so the children's
    later sentence (民间送养) is there, not only the one sentence nearest the question."""
    a = assistant.ask("防拐卖有哪些措施")
    assert a.kind == "measures" and {c.plan for c in a.citations} == {"妇女规划", "儿童规划"}
    assert "防拐工作长效机制" in a.answer and "民间送养" in a.answer
    assert_exact(assistant, a)


def test_the_other_plans_answer_comes_from_a_later_strategy_when_its_own_figure_is_off_topic(assistant):
    """The children's plan states 母婴阻断 without a figure; its only figure sentence near the question
    is about anaemia. That sentence is too weakly supported to join, so a later strategy's is taken."""
    a = assistant.ask("艾滋病母婴传播上有什么要求")
    assert {c.plan for c in a.citations} == {"妇女规划", "儿童规划"}
    assert "98％" in a.answer and "母婴阻断" in a.answer and "贫血" not in a.answer
    assert_exact(assistant, a)


def test_measures_on_a_topic_add_the_table_row_about_it(assistant):
    """"托育方面规划有啥说法": the childcare project and tasks, and the row of 托位 per 1,000 people,
    whose figure belongs with them although the row's name does not say 托育."""
    a = assistant.ask("托育方面规划有啥说法")
    assert a.kind == "measures" and "普惠托育" in a.answer
    assert "托位数" in a.answer and "4.6" in a.answer
    assert_exact(assistant, a)


def test_a_follow_up_age_band_keeps_the_earlier_topic(assistant):
    """"那3岁以下的呢" after 0-6岁儿童健康管理率: the 3岁以下 health-management rate in the text, not
    the table row that merely names 3岁以下 (托位数)."""
    first = assistant.ask("0到6岁孩子的健康管理率要达到多少")
    then = assistant.ask("那3岁以下的呢", history=[first])
    assert "95" in then.answer and "托位" not in then.answer
    assert_exact(assistant, then)


def test_two_rows_that_fit_alike_are_both_answered(assistant):
    """Two rows of the women's table are about women's skills training, within a hair of each other
    in meaning and apart from the rest: both are given, not the one a cosine happens to rank first."""
    a = assistant.ask("妇女技能培训的比例要到多少")
    assert a.kind == "indicator"
    assert "女职工接受技能培训比例" in a.answer and "职业技能培训中女性所占比例" in a.answer
    assert_exact(assistant, a)


def test_the_other_plans_item_in_other_words_is_given_whole(assistant):
    """"多锻炼身体方面有什么要求": the children's item on 体育锻炼 shares the question's words; the women's
    item on 全民健身 says it in other words but is as near in meaning, so it is given as an item (its
    "10分钟健身圈" included), not cut to one sentence for its lower word overlap."""
    a = assistant.ask("多锻炼身体方面有什么要求")
    assert a.kind == "measures"
    assert "增强儿童身体素质" in a.answer and "引导妇女积极投入全民健身行动" in a.answer
    assert "10分钟健身圈" in a.answer
    assert_exact(assistant, a)
