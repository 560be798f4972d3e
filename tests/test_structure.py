"""The plan tree and the indicator tables, row by row."""

import pytest

from assistant.errors import CorpusError
from assistant.structure import iter_nodes, parse_document

WOMEN_ROWS = [
    (1, "妇女与健康", "妇女人均预期寿命（岁）", "85.02", "延长"),
    (2, "妇女与健康", "孕产妇死亡率（1/10万）", "0", "<7"),
    (3, "妇女与健康", "婚前医学检查率（％）", "92.41", ">85"),
    (4, "妇女与健康", "妇女国民体质合格率（％）", "", "≥95"),
    (5, "妇女与教育", "高中阶段女生毛入学率（％）", "99.32", "≥99"),
    (6, "妇女与教育", "普通高校在校生中女性比例（％）", "53.37", "相适应"),
    (7, "妇女与教育", "高等教育毛入学率（％）", "62.27", "≥70"),
    (8, "妇女与教育", "职业技能培训中女性所占比例（％）", "48.9", "≥50"),
    (9, "妇女与经济", "女职工接受技能培训比例（％）", "51.8", "52"),
    (10, "妇女与经济", "高级专业技术人员的女性比例（％）", "39.2", "≥40"),
    (11, "妇女与经济", "已就业残疾妇女占劳动年龄段残疾妇女的比例（％）", "60.2", "提高"),
    (12, "妇女与决策管理", "市级人大代表中女性比例（％）", "24.3", "提高"),
    (13, "妇女与决策管理", "市级政协委员中女性比例（％）", "30.1", "提高"),
    (14, "妇女与决策管理", "县（市、区）党委领导班子中配有女干部的班子比例（％）", "100",
     "换届后当年达到100％，平时保持在85％以上"),
    (15, "妇女与决策管理", "县（市、区）政府领导班子中配有女干部的班子比例（％）", "85.71",
     "换届后当年达到100％，平时保持在85％以上"),
    (16, "妇女与社会保障", "城镇职工生育保险女性参保人数（万人）", "118.01", "应保尽保"),
    (17, "妇女与社会保障", "城乡居民基本养老保险女性参保人数（万人）", "165.74", "应保尽保"),
    (18, "妇女与社会保障", "城镇女性参加失业保险人数（万人）", "64.3", "应保尽保"),
    (19, "妇女与社会保障", "城镇女职工参加工伤保险人数（万人）", "72.19", "应保尽保"),
    (20, "妇女与法律保护", "获得法律机构援助的女性人数（人）", "2354", "应援尽援"),
    (21, "妇女与环境", "建立妇女活动中心的县（市、区）比例（％）", "71.43", "100"),
]

CHILDREN_ROWS = [
    (1, "儿童与家庭", "新增省示范家长学校和家庭教育指导服务站点（个）", "", "≥30"),
    (2, "儿童与家庭", "中小学建成数字家长学校比例（％）", "", "≥70"),
    (3, "儿童与健康", "严重致残的出生缺陷发生率（‰）", "11", "＜9.5"),
    (4, "儿童与健康", "婴儿死亡率（‰）", "2", "＜5"),
    (5, "儿童与健康", "千名儿童儿科执业（助理）医师数（人）", "1.03", "保持"),
    (6, "儿童与健康", "每千人拥有3岁以下婴幼儿托位数（个）", "0.8", "≥4.6"),
    (7, "儿童与健康", "儿童青少年总体近视率（％）", "58.4", "＜53"),
    (8, "儿童与健康", "12岁儿童龋齿发生率（％）", "", "＜25"),
    (9, "儿童与健康", "国家学生体质健康标准达标优良率（％）", "", "≥55"),
    (10, "儿童与教育", "学前三年教育毛入园率（％）", "99.60", "≥99"),
    (11, "儿童与教育", "普惠性幼儿园覆盖率（％）", "90", "提高"),
    (12, "儿童与教育", "高中阶段毛入学率（％）", "99.32", "≥99"),
    (13, "儿童与安全", "儿童伤害死亡率（1/10万）", "8.01", "＜7.2"),
    (14, "儿童与福利", "未成年人救助保护中心实体化运行率（％）", "", "100"),
    (15, "儿童与福利", "残疾儿童康复救助人数（人）", "514", "应救尽救"),
    (16, "儿童与法律保护", "获得法律机构援助的未成年人数（人）", "516", "应援尽援"),
    (17, "儿童与法律保护", "未成年人犯罪人数占同期犯罪人数比例（％）", "1.41", "逐年降低"),
    (18, "儿童与社会环境", "镇（街道）建有示范型儿童之家比例（％）", "", "100"),
    (19, "儿童与社会环境", "建立儿童活动中心的县（市、区）比例（％）", "71.43", "100"),
]


def rows(document, key):
    plan = next(p for p in document.plans if p.key == key)
    return [(i.number, i.domain, i.name, i.baseline, i.target) for i in plan.indicators]


@pytest.mark.parametrize("expected", WOMEN_ROWS, ids=lambda r: f"women-{r[0]}")
def test_women_table_row(document, expected):
    assert rows(document, "women")[expected[0] - 1] == expected


@pytest.mark.parametrize("expected", CHILDREN_ROWS, ids=lambda r: f"children-{r[0]}")
def test_children_table_row(document, expected):
    assert rows(document, "children")[expected[0] - 1] == expected


def test_table_sizes_and_shared_targets(document):
    women = next(p for p in document.plans if p.key == "women")
    assert len(women.indicators) == 21
    assert len(next(p for p in document.plans if p.key == "children").indicators) == 19
    shared = {i.number: i.target_shared_with for i in women.indicators if i.target_shared_with}
    assert shared == {15: 14, 17: 16, 18: 16, 19: 16}
    row15 = women.indicators[14]
    assert document.text[row15.target_start:row15.target_end] == "换届后当年达到100％，平时保持在85％以上"


def test_indicator_spans_are_exact(document):
    for plan in document.plans:
        for ind in plan.indicators:
            span = document.text[ind.start:ind.end]
            assert span.split("\n")[0].strip() in (str(ind.number), ind.domain.split("与")[0] + "与",
                                                   ind.domain), span
            assert ind.name.split("（")[0][:6] in span
            assert document.text[ind.target_start:ind.target_end].replace("\n", "") == ind.target


def test_plans_and_parts(document):
    assert [p.key for p in document.plans] == ["women", "children"]
    assert [p.title for p in document.plans] == ["嘉兴市妇女发展“十四五”规划", "嘉兴市儿童发展“十四五”规划"]
    for plan in document.plans:
        assert [part.heading for part in plan.parts][::2] == ["一、总体要求", "三、重点实事项目"]
        assert len(plan.parts) == 4
    assert document.plans[1].parts[1].heading == "二、发展领域的主要任务和措施"


def test_sections_and_items_per_plan(document):
    women, children = document.plans
    assert [len(s.children) for s in women.parts[1].children] == [7, 8, 7, 8, 7, 7, 12, 6]
    assert [len(s.children) for s in children.parts[1].children] == [7, 9, 6, 4, 7, 13, 6]
    assert [len(p.children) for p in women.parts] == [2, 8, 5, 5]
    assert [len(p.children) for p in children.parts] == [2, 7, 6, 5]
    assert women.parts[1].children[1].heading == "（二）妇女与健康"
    item = women.parts[1].children[1].children[2]
    assert item.heading == "3．提升妇女生殖健康服务水平"


def test_node_spans_start_with_their_heading(document):
    for plan in document.plans:
        for node in iter_nodes(plan):
            text = document.text[node.start:node.end]
            assert text == text.strip()
            if node.level == "item":
                assert text.startswith(f"{node.number}．{node.title}")
            for child in node.children:
                assert node.start <= child.start < child.end <= node.end


def test_empty_document_is_an_error():
    with pytest.raises(CorpusError):
        parse_document("  \n\n", "empty")


def test_text_without_structure_is_one_plan():
    doc = parse_document("这是一段没有编号的文字。\n第二段。", "free")
    assert len(doc.plans) == 1 and doc.plans[0].parts == [] and doc.plans[0].preamble is not None
