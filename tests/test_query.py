"""Query parsing: normalization, key bigrams, intent, aspect, ordinals, places, what is asked."""

import pytest

from assistant.query import key_grams, normalize, ordinal_of, parse_query, places_named
from assistant.types import Intent

PLANS = {"women": "妇女规划", "children": "儿童规划"}


def q(text, **kw):
    return parse_query(text, PLANS, **kw)


def test_normalize_maps_everyday_words_once():
    assert normalize("孩子蛀牙") == "儿童龋齿"
    assert normalize("近视眼的比例") == "近视率"  # the plan word inside the everyday word still maps
    assert normalize("高中阶段毛入学率") == "高中阶段毛入学率"  # never 高中阶段阶段
    assert normalize("三岁以下宝宝") == "3岁以下婴幼儿"  # numerals before a unit become digits
    assert normalize("三到五岁的孩子") == "3到5岁的儿童"  # and the first numeral of such a range
    assert "婴儿死亡率" in normalize("What is the infant mortality target?")


def test_key_grams_leave_out_cue_words_particles_and_years():
    grams = key_grams(normalize("2025年产前筛查率要达到多少"))
    assert {"产前", "筛查", "查率"} <= grams
    assert not {g for g in grams if any(ch.isdigit() for ch in g)}  # no 20/02/25 from the year
    assert "多少" not in grams and "率要" not in grams


def test_a_plan_word_the_lexicon_maps_to_keeps_its_particle_characters():
    """"打工" becomes 就业; 就 is a particle elsewhere ("就能"), but 就业 must stay a bigram."""
    grams = key_grams(normalize("15岁的孩子能去厂里打工吗"))
    assert "就业" in grams and "15" in grams
    assert "能去" not in grams  # 能 is still a particle outside the plan word
    assert {"社会", "保障"} <= key_grams("社会保障有哪些")


@pytest.mark.parametrize("text, intent", [
    ("婚前医学检查率目标是多少", Intent.VALUE),
    ("谁负责规划实施的组织协调", Intent.WHO),
    ("儿童规划是什么时候发布的", Intent.DOCUMENT),
    ("印发通知啥时候发的", Intent.DOCUMENT),
    ("规划的中期评估报告什么时候发布", Intent.WHEN),  # about a report the plan mentions, not the plan
    ("两癌指的是什么", Intent.DEFINITION),
    ("重点实事项目有哪些", Intent.LIST),
    ("家暴这块规划打算怎么管", Intent.MEASURES),
    ("跟外地大医院合作 是要搞什么", Intent.MEASURES),  # what will be done, in everyday words
    ("三孩政策放开以后 规划配套了些啥", Intent.MEASURES),
    ("What does the plan say about child labour?", Intent.MEASURES),  # "what does … say" defines nothing
    ("What does 困境儿童 mean?", Intent.DEFINITION),
    ("养老保险方面规划怎么要求的", Intent.MEASURES),  # what is required in words
    ("孕产妇死亡率有哪些要求", Intent.VALUE),  # a rate named: its target is the requirement
    ("妇女就业这块有啥要求", Intent.MEASURES),
    ("配备女干部有硬性要求吗", Intent.MEASURES),
    ("产前筛查率有什么要求", Intent.VALUE),
    ("规划里是不是说“至少设有2家危重新生儿救治中心”？", Intent.QUOTE),
    ("核对引文：90％以上的社区图书馆设立亲子阅读区", Intent.QUOTE),
    ("When was the children's plan issued?", Intent.DOCUMENT),
    ("What is the planning period of the children's plan?", Intent.DOCUMENT),
])
def test_intent(text, intent):
    assert q(text).intent == intent


@pytest.mark.parametrize("text", [
    "Under the plan, what is done for women who only seek care when they are already in labour?",
    "How many people got legal aid in 2020 according to the plans?",
    "What does the plan say about the postpartum period?",
])
def test_english_words_that_ask_no_fact_of_the_document(text):
    """A clause with "when", a source cited with "according to", "the postpartum period": not the
    plan's date, basis or period."""
    assert Intent.DOCUMENT not in q(text).asks


def test_aspect_and_years():
    assert q("婚检率2020年是多少").aspect == "baseline"
    assert q("婚检率2025年目标").aspect == "target"
    assert q("2030年婴儿死亡率目标").years == ("2030",)


@pytest.mark.parametrize("text, n", [("第二个具体做什么", 2), ("倒数第二个呢", -2), ("最后一个", -1),
                                     ("第十二项", 12), ("what about the third one", 3), ("婚检率是多少", None)])
def test_ordinals(text, n):
    assert ordinal_of(text) == n


def test_places_named():
    assert places_named("杭州的婴儿死亡率目标") == ("杭州",)
    assert places_named("绍兴市的托位数") == ("绍兴",)
    assert places_named("到2025年实现全市托育机构全部免费") == ()
    assert places_named("新增省示范家长学校要多少个") == ()
    assert q("How many clinics may Guangdong province set up?").places == ("广东",)  # by the glossary
    assert places_named("每个县要建几个") == ()


def test_number_asked_and_figure_demanded():
    assert q("产前筛查率要达到多少").wants_number
    assert not q("儿童规划要保障儿童哪几项权利").wants_number  # 哪几 lists, it does not count
    assert not q("女性比例有什么要求").wants_number
    assert not q("妇女人均预期寿命目标是多少").wants_figure
    assert not q("妇女人均预期寿命要到多少岁").wants_figure  # a unit asks; "具体" demands
    assert q("普惠幼儿园覆盖率具体要到百分之几").wants_figure


def test_plan_named_scopes_the_query():
    assert q("儿童规划里婴儿死亡率目标").plans == ("children",)
    assert q("婴儿死亡率目标").plans is None
    assert q("婴儿死亡率目标", plans=["women"]).plans == ("women",)


def test_homophone_typos_are_repaired_only_against_the_corpus():
    from assistant.query import CorpusWords, repair_typos
    from assistant.text import char_bigrams

    text = ("儿童青少年近视率下降。发展普惠托育服务。妇女国民体质合格率提高。提高宫颈癌筛查率。"
            "依法保护合法权益。预防和制止家暴。淋巴结。")
    words = CorpusWords({g: 1 for g in char_bigrams(text)}, lambda: [text])
    assert repair_typos("小学生近视律要降到多少", words) == "小学生近视率要降到多少"
    assert repair_typos("拖育服务", words) == "托育服务"
    assert repair_typos("宫径癌筛查", words) == "宫颈癌筛查"
    assert repair_typos("孩子近是率", words) == "孩子近视率"  # 是 is common: only between two it makes text with
    assert repair_typos("被家爆了怎么办", words) == "被家暴了怎么办"
    assert repair_typos("钼靶结果", words) == "钼靶结果"  # 巴结 is a word, but 钼巴 is nothing
    assert repair_typos("近视率", words) == "近视率"  # correct text is never changed
    assert repair_typos("法律", words) == "法律"  # 律 stays where the corpus knows nothing better
    assert repair_typos("这个规划是依据什么", words) == "这个规划是依据什么"  # 是 beside words the corpus lacks
    assert repair_typos("县委书记", words) == "县委书记"  # an everyday word is what the asker meant


def test_words_that_name_both_plans():
    assert q("妇女和儿童规划的总体目标").plans is None
    assert q("两个规划的规划期限").named_plans == ("women", "children")


PASSAGE = "婴幼儿家长科学育儿知识普及率达到90％以上"


@pytest.mark.parametrize("text", [
    f"{PASSAGE}，这个说法有依据吗",
    f"我讲课时说{PASSAGE}，没说错吧",
    f"{PASSAGE}——出处是规划吗",
    f"确认一下，规划写的是{PASSAGE}？",
    f"规划里真有“{PASSAGE}”这个说法？",
    f"我PPT里引用了这句：{PASSAGE}，有出入吗",
    f"培训稿：{PASSAGE}。请核实",
    f"Can you confirm the plan says {PASSAGE}?",
    f'Is the sentence "{PASSAGE}" in the children\'s plan?',
])
def test_a_passage_in_any_checking_frame_is_a_quote_check_without_its_frame(text):
    parsed = q(text)
    assert parsed.intent == Intent.QUOTE
    assert parsed.quote == PASSAGE


@pytest.mark.parametrize("text", [
    "孩子在学校被同学欺负 学校是不是必须要上报",
    "暑假小孩老偷偷去河里游泳 太危险了 规划有没有措施",
    "我想核实一下，婚前医学检查率目标",
    "Does the women's plan say anything about procedures against sexual harassment?",
    "Does the plan say employers should let new mothers work flexible hours?",  # no Chinese: no quote
    "老公打老婆 家长打孩子 这种规划里有啥说法没",  # "有啥说法": what the plan says, not "这个说法对吗"
])
def test_a_citizen_question_with_a_statement_in_it_is_not_a_quote_check(text):
    assert q(text).intent != Intent.QUOTE


def test_the_thing_a_what_question_asks_for():
    assert q("跟上海杭州那些大医院合作 是要打造啥高地").head == "高地"
    assert q("市儿童医院建设项目重点加强哪些学科合作").head == "学科"
    assert q("托育服务有什么措施").head == ""  # a cue word, not a thing
    assert q("婚前医学检查率目标是多少").head == ""


def test_a_long_question_is_embedded_by_its_distinct_content():
    from assistant.query import embedding_text
    from assistant.thresholds import EMBED_CHARS

    short = "婚前医学检查率目标是多少？"
    assert embedding_text(short) == short  # every question of the evals is embedded whole
    pasted = "托育服务体系进一步完善。" * 60 + "婴幼儿照护服务水平明显提升。"
    text = embedding_text(pasted)
    assert text == "托育服务体系进一步完善。婴幼儿照护服务水平明显提升。"  # the repeats once, the rest kept
    assert len(embedding_text("儿童" * 2000)) == EMBED_CHARS


def test_a_plan_term_with_an_aside_keeps_its_bigrams():
    """"县（市、区）" gives the bigrams a passage's text gives (punctuation dropped), not three lone
    characters: "县里要不要…" is about the 各县（市、区） sentence."""
    from assistant.text import char_bigrams

    grams = key_grams(normalize("县里要不要自己定规划"))
    assert {"县市", "市区"} <= grams and {"县市", "市区"} <= char_bigrams("各县（市、区）政府")
    assert {"县市", "市区"} <= key_grams(normalize("区里要做什么"))


@pytest.mark.parametrize("question, parts", [
    ("老公打老婆、家长打孩子 这种规划里有啥说法没",
     ("老公打老婆 这种规划里有啥说法没", "家长打孩子 这种规划里有啥说法没")),
    ("学校出安全事故 主体责任在谁", ()),  # a space alone: the scene, then the question
    ("老公打老婆 家长打孩子 这种规划里有啥说法没", ()),
    ("体质合格率 达标率这些 目标各是多少", ("体质合格率 目标各是多少", "达标率这些 目标各是多少")),
    ("心理辅导中心、心理咨询室 要建到哪一级", ("心理辅导中心 要建到哪一级", "心理咨询室 要建到哪一级")),
    # one thing, however it is broken up: a piece repeats another's words, names only a group, or only asks
    ("婚检率要求多少 儿童那个规划里是不是也说到婚检了", ()),
    ("每个县都要有活动中心吗 妇女的 小孩的", ()),
    ("托儿所名额这块 两个规划都有提吗 目标定的多少", ()),
    ("孩子玩手机上瘾 规划里有没有管网络的", ()),
    ("婚前医学检查率目标是多少", ()),
])
def test_separate_things_asked_in_one_breath_are_parts(question, parts):
    from assistant.query import topic_parts

    assert topic_parts(question) == parts


def test_the_parts_asked_are_bounded():
    from assistant.query import topic_parts

    many = " ".join(["婚前医学检查", "孕产妇死亡", "新生儿筛查", "托育服务", "儿童之家"]) + " 有啥要求"
    assert topic_parts(many) == ()  # more things than MAX_TOPICS: answered as one question


def test_a_time_limit_is_a_time_and_an_age_in_months_is_not():
    from assistant.text import TIME_STATED

    for said in ("完成接种后1-2个月及时检测", "每三年开展一次评估", "5个工作日内反馈", "半年内完成"):
        assert TIME_STATED.search(said), said
    assert not TIME_STATED.search("所生儿童12月龄内检测阳性率下降至1%以下")


def test_typo_repair_reads_pypinyins_character_table_without_its_phrase_dictionary():
    """The readings are pypinyin's own, read from its data file; the package (and its 50 MB phrase
    dictionary) is never imported by a repair."""
    import subprocess
    import sys

    code = ("import sys; from assistant.query import _pinyin_table, _readings; table = _pinyin_table(); "
            "print(len(table), sorted(_readings('率')), 'pypinyin.phrases_dict' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    from pypinyin.pinyin_dict import pinyin_dict

    assert out == [str(len(pinyin_dict)), "['lv']", "False"]
    from assistant.query import _pinyin_table

    assert _pinyin_table() == pinyin_dict


def test_chinese_numerals_of_ages_up_to_99_become_digits():
    assert normalize("我女儿今年上高一十六岁") == "我女儿今年上高一16岁"  # 高一 stays a grade
    assert normalize("三到五岁") == "3到5岁" and normalize("二十五岁的妇女").startswith("25岁")
