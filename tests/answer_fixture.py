"""A small invented two-plan document (示范市) and the answering toolkit over it, with no index:
strategy, refusal and dialogue tests run on it in milliseconds and never see the Jiaxing text."""

from __future__ import annotations

from assistant.chunking import chunk_document
from assistant.compose import Toolkit
from assistant.corpus import Corpus
from assistant.retrieve import Retriever
from assistant.structure import parse_document


def _table(title: str, rows: list[tuple[str, str, str, str, str]]) -> str:
    head = "\t领域\n\t序号\n\t主要统计指标\n\t2020年\n\t2025年\n"
    body = "".join("\n" + "".join(f"\t{cell}\n" for cell in row) for row in rows)
    return f"{title}\n{head}{body}\n"


TEXT = (
    "示范市人民政府关于印发示范市妇女发展规划和示范市儿童发展规划的通知\n\n"
    "各县（市、区）人民政府，市政府各部门：\n\n"
    "现将《示范市妇女发展规划》《示范市儿童发展规划》印发给你们，请认真贯彻落实。\n"
    "                       示范市人民政府\n"
    "                       2022年3月8日\n\n"
    "示范市妇女发展规划\n"
    "为推进全市妇女事业发展，根据《示范省妇女发展规划》精神，制定本规划。规划期限为2021—2025年。\n\n"
    "一、总体要求\n\n"
    "（一）总体目标。到2025年，全市妇女发展综合水平位居全省前列。\n\n"
    + _table("示范市妇女发展规划重点指标目标表", [
        ("妇女与健康", "1", "孕产妇死亡率（1/10万）", "3", "<8"),
        ("", "2", "妇女体质合格率（％）", "－", "≥90"),
        ("妇女与经济", "3", "高中阶段女生毛入学率（％）", "98.5", "≥99"),
        ("", "4", "女职工生育保险参保人数（万人）", "10.2", "应保尽保"),
    ])
    + "\n二、发展领域的主要任务与措施\n"
    "（一）妇女与健康。\n\n"
    "1．提升妇女健康服务水平。加强妇幼保健机构建设。产前筛查率达到92％以上。构建城市“10分钟健身圈”。\n\n"
    "2．加大宫颈癌、乳腺癌（以下简称“两癌”）防治力度。持续实施“两癌”免费检查项目，筛查覆盖率保持在80％以上。\n\n"
    "（二）妇女与经济。\n\n"
    "1．促进妇女就业。落实创业补贴政策，就业人员中的女性比例保持在44％左右。\n\n"
    "2．推动妇女参与企业管理。促进更多优秀妇女进入企业董事会、监事会和管理层。\n\n"
    "三、重点实事项目\n\n"
    "（一）妇女心理健康促进项目。\n\n"
    "所有县（市、区）均建成标准化心理辅导中心。\n\n"
    "四、组织实施\n\n"
    "（一）加强组织领导。市政府妇儿工委负责本规划实施的组织、协调、指导和督促。\n\n"
    "示范市儿童发展规划\n"
    "为推进全市儿童事业发展，根据《示范省儿童发展规划》精神，制定本规划。规划期限为2021—2025年。"
    "本规划所称儿童是指未满十八周岁的未成年人。\n\n"
    "一、总体要求\n\n"
    "（一）总体目标。到2025年，全市儿童综合发展水平位居全省前列。\n\n"
    + _table("示范市儿童发展规划重点指标目标表", [
        ("儿童与健康", "1", "婴儿死亡率（‰）", "2", "＜4"),
        ("", "2", "儿童青少年总体近视率（％）", "55", "＜50"),
        ("儿童与教育", "3", "高中阶段毛入学率（％）", "98.5", "≥99"),
    ])
    + "\n二、发展领域的主要任务和措施\n"
    "（一）儿童与健康。\n\n"
    "1．保障新生儿健康。各县（市、区）至少设有1家危重新生儿救治中心。\n\n"
    "2．加强近视防控。儿童青少年总体近视率每年降低1个百分点以上。\n\n"
    "3．保障儿童食品安全。开展“阳光厨房”行动，保障学生用餐安全。\n\n"
    "4．推进示范食堂建设。在5年内新建10个食品安全示范食堂。\n\n"
    "三、重点实事项目\n\n"
    "（一）儿童近视防控项目。\n\n"
    "实施儿童近视防控行动，每年开展视力筛查。\n\n"
    "（二）普惠托育服务项目。\n\n"
    "发展普惠托育服务体系，制定托育服务标准。\n\n"
    "四、组织实施\n\n"
    "（一）加强组织领导。各级政府负责规划实施工作。市政府妇儿工委负责规划实施的组织、协调、指导和督促工作。\n"
)


def make_kit(text: str = TEXT, doc: str = "demo") -> Toolkit:
    """The toolkit over the invented document (or another text): real parser, chunker and BM25; no vectors."""
    document = parse_document(text, doc=doc)
    chunks = chunk_document(document)
    return Toolkit(Corpus({doc: document}), Retriever(chunks))
