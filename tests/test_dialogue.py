"""Follow-ups against a typed dialogue state: each overrides the slots it names and keeps the rest."""

from assistant.dialogue import looks_like_followup, next_state, resolve
from assistant.query import parse_query
from assistant.types import DialogueState, Intent

PLANS = {"women": "妇女规划", "children": "儿童规划"}


def q(text):
    return parse_query(text, PLANS)


ROW_STATE = DialogueState(topic="高中阶段毛入学率是多少", indicators=("d/children/table/12",),
                          intent=Intent.VALUE, aspect="target")


def test_what_reads_as_a_followup():
    for text in ("那2020年呢", "第三个", "女生的呢", "谁负责", "有没有具体数字", "儿童规划有类似的吗", "倒数第二个"):
        assert looks_like_followup(q(text)), text
    for text in ("婚前医学检查率目标是多少", "产假一共有多少天", "规划里是不是说“至少设有2家危重新生儿救治中心”"):
        assert not looks_like_followup(q(text)), text


def test_fresh_question_passes_through():
    query = q("婚前医学检查率目标是多少")
    assert resolve(query, ROW_STATE) is query
    assert resolve(q("那2020年呢"), None).followup is False


def test_year_switch_keeps_the_indicator():
    r = resolve(q("那2020年是多少？"), ROW_STATE)
    assert r.followup and r.indicators == ROW_STATE.indicators and r.aspect == "baseline"


def test_plan_switch_keeps_the_topic():
    state = DialogueState(topic="妇女规划里关于就业有哪些措施", plans=("women",), intent=Intent.MEASURES)
    r = resolve(q("儿童规划有类似的吗"), state)
    assert r.plans == ("children",) and "就业" in r.text and "妇女" not in r.text
    assert r.intent == Intent.MEASURES


def test_narrowing_adds_a_focus_and_drops_the_rows():
    r = resolve(q("女生的呢"), ROW_STATE)
    assert r.focus == ("女生",) and not r.indicators and "高中阶段毛入学率" in r.text


def test_number_asked_of_the_topic():
    state = DialogueState(topic="托育服务有什么措施", intent=Intent.MEASURES)
    r = resolve(q("有没有具体数字"), state)
    assert r.intent == Intent.VALUE and r.wants_number and "托育服务" in r.text


def test_ordinals_pick_from_the_last_list_from_either_end():
    state = DialogueState(topic="妇女与健康领域有哪些任务", items=("a", "b", "c", "d"), intent=Intent.LIST)
    assert resolve(q("第二个具体做什么"), state).item == "b"
    assert resolve(q("倒数第二个"), state).item == "c"
    assert resolve(q("最后一个"), state).item == "d"
    assert resolve(q("第二个谁负责"), state).intent == Intent.WHO


def test_new_topic_asked_the_same_way():
    state = DialogueState(topic="产前筛查率要达到多少", intent=Intent.VALUE)
    r = resolve(q("那孕产妇死亡率呢？"), state)
    assert r.followup and "孕产妇死亡率" in r.text and r.intent == Intent.VALUE


def test_next_state_replaces_slots_and_keeps_the_list():
    first = next_state(q("妇女与健康领域有哪些任务"), None, items=("a", "b"))
    second = next_state(resolve(q("第二个具体做什么"), first), first)
    assert second.items == ("a", "b") and second.item == "b"
    assert second.intent == first.intent  # a detail does not change what kind of list it was


def test_a_plans_group_word_with_de_switches_the_plan():
    state = DialogueState(topic="建立妇女活动中心的县比例", indicators=("d/women/table/21",), intent=Intent.VALUE)
    r = resolve(q("儿童的呢"), state)
    assert r.plans == ("children",) and r.indicators == state.indicators


def test_other_people_swap_into_the_topic_and_the_rows_are_not_carried():
    state = DialogueState(topic="孕产妇死亡率要控制在多少", indicators=("d/women/table/2",), intent=Intent.VALUE)
    r = resolve(q("婴儿的呢"), state)
    assert r.text == "婴儿死亡率要控制在多少" and r.indicators == () and r.focus == ()
    narrowed = resolve(q("女生的呢"), ROW_STATE)  # no people in the topic: it narrows instead
    assert narrowed.focus == ("女生",) and "高中阶段毛入学率" in narrowed.text


def test_an_age_band_is_one_focus():
    state = DialogueState(topic="婴儿死亡率目标是多少", indicators=("d/children/table/4",), intent=Intent.VALUE)
    r = resolve(q("5岁以下的呢"), state)
    assert r.focus == ("5岁以下",) and r.indicators == ()


def test_an_ordinal_of_domains_does_not_pick_from_the_rows_shown():
    """"指标表分几个领域" lists the table's rows by domain; "第三个领域里有哪些指标" counts domains."""
    rows = DialogueState(topic="妇女规划的指标表分几个领域", plans=("women",), intent=Intent.COUNT,
                         items=tuple(f"d/women/table/{n}" for n in range(1, 9)))
    resolved = resolve(q("第三个领域里有哪些指标"), rows)
    assert resolved.item is None and resolved.ordinal == 3 and resolved.plans == ("women",)
    assert resolve(q("第三个"), rows).item == "d/women/table/3"


def test_a_narrowing_followup_still_asks_the_topics_number():
    """"5岁以下儿童的呢" after "婴儿死亡率是多少" asks a number: the refusal checks must see that."""
    state = DialogueState(topic="婴儿死亡率是多少", plans=("children",), intent=Intent.VALUE)
    resolved = resolve(q("5岁以下儿童的呢"), state)
    assert resolved.wants_number and "死亡率" in resolved.text
    measures = DialogueState(topic="托育服务有什么措施", intent=Intent.MEASURES)
    assert not resolve(q("5岁以下儿童的呢"), measures).wants_number


def test_a_followup_with_its_own_ask_does_not_inherit_a_number_cue():
    state = DialogueState(topic="托育服务有什么措施 有没有具体数字", intent=Intent.VALUE)
    assert not resolve(q("谁负责"), state).wants_number


def test_a_short_question_in_the_last_answers_words_asks_about_it():
    """"覆盖率要达到多少" right after an answer quoting 筛查覆盖率 is about 两癌筛查, not any 覆盖率."""
    state = DialogueState(topic="两癌筛查有什么要求", intent=Intent.VALUE,
                          said="持续实施适龄妇女“两癌”免费检查项目，筛查覆盖率保持在85％以上。")
    resolved = resolve(q("覆盖率要达到多少"), state)
    assert resolved.followup and "两癌" in resolved.text and resolved.focus == ()
    unsaid = DialogueState(topic="托育服务有什么措施", intent=Intent.MEASURES, said="发展普惠托育服务体系。")
    fresh = q("覆盖率要达到多少")
    assert resolve(fresh, unsaid) is fresh


def test_all_of_the_listed_rows_asked_at_once():
    rows = DialogueState(topic="妇女与教育有哪几项指标", plans=("women",), intent=Intent.LIST,
                         items=("d/women/table/5", "d/women/table/6", "d/women/table/7"))
    resolved = resolve(q("它们2020年分别是多少"), rows)
    assert resolved.indicators == rows.items and resolved.aspect == "baseline"
    assert resolve(q("第二个2020年是多少"), rows).item == "d/women/table/6"


def test_another_column_of_the_row_just_shown_is_a_followup():
    """"计算公式呢 分子是啥" after a row of a 绩效考核指标表: the column and the formula's part are asked of
    that row, as "2020年呢" asks its other year; they are not a new topic."""
    for text in ("计算公式呢 分子是啥", "它的计算公式分母是什么", "评分标准呢"):
        assert looks_like_followup(q(text)), text
        r = resolve(q(text), ROW_STATE)
        assert r.followup and r.indicators == ROW_STATE.indicators, text
