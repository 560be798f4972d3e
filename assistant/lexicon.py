"""Every word list the answering steps use, in one place: everyday words -> plan words, English
keywords, question cue words per intent, plan-name words, Chinese numerals.

Nothing here names one plan's content: the entries are general Chinese policy vocabulary, so a
new plan document needs no code change. A word goes here, never into a strategy's code.
"""

from __future__ import annotations

# Everyday words -> the plan's own words, so keyword search and the support check see the plan's
# term: "孩子蛀牙" is asked, "儿童龋齿" is written. Longer keys are applied first.
SYNONYMS: dict[str, str] = {
    # everyday phrasings of the plans' topics
    "县里": "县（市、区）",
    "区里": "县（市、区）",
    "区县": "县（市、区）",
    "县区": "县（市、区）",
    "钱从哪来": "经费资金从哪来",
    "钱从哪里来": "经费资金从哪来",
    "不满18岁的工人": "未成年工",
    "未满18岁的工人": "未成年工",
    "体检": "健康检查",
    "上班的人": "就业人员",
    "上班族": "就业人员",
    "女的": "女性",
    "网上骗": "网络诈骗",
    "骗钱": "诈骗钱财",
    "出生证明": "出生医学证明",
    "嫁出去": "出嫁",
    "上学": "接受教育",
    "生娃": "生育",
    "生孩子": "生育",
    "外地来打工": "流动人口",  # migrants, not work: "外地来打工的人 健康管理上有啥"
    "外地打工": "流动人口",
    "打工": "就业",
    "上班": "就业",
    "欺负": "欺凌",
    "上报": "报告",
    "上户口": "落户",
    "户口": "户籍",
    "案底": "犯罪记录",
    "两口子": "夫妻",
    "闹矛盾": "矛盾纠纷",
    # people
    "小孩子": "儿童",
    "小孩": "儿童",
    "孩子们": "儿童",
    "孩子": "儿童",
    "小朋友": "儿童",
    "娃娃": "儿童",
    "娃": "儿童",
    "小娃": "儿童",
    "宝宝": "婴幼儿",
    "婴儿夭折": "婴儿死亡",
    "新生儿死亡": "婴儿死亡",
    "女孩子": "女童",
    "女孩": "女童",
    "女娃": "女童",
    "女人": "妇女",
    "女同志": "女性",
    "妇女同胞": "妇女",
    "女同胞": "妇女",
    "孕妇": "孕产妇",
    "产妇": "孕产妇",
    "残疾孩子": "残疾儿童",
    "残障": "残疾",
    "女工": "女职工",
    "打工妹": "务工女性",
    "老太太": "老年妇女",
    "老年女性": "老年妇女",
    "学生娃": "学生",
    "中小学生": "中小学生",
    "青少年": "儿童青少年",
    "女高管": "企业管理层中的女性",
    "女性高管": "企业管理层中的女性",
    "高管": "企业管理层",
    "女老板": "女企业家",
    "女村官": "村民委员会成员中女性",
    "女代表": "女性代表",
    "女委员": "女性委员",
    "人大女代表": "人大代表中女性",
    "一把手": "正职",
    # places and bodies
    "城里": "城镇",
    "城市里": "城镇",
    "乡下": "农村",
    "村里": "农村",
    "村委会": "村民委员会",
    "居委会": "社区居民委员会",
    "托儿所": "托育",
    "托儿": "托育",
    "托班": "托育",
    "幼托": "托育",
    "早教": "早期教育",
    "托儿所位置": "托位",
    "托育位置": "托位",
    "托儿所名额": "托位",
    "托位置": "托位",
    "幼儿园入园率": "毛入园率",
    "入园率": "毛入园率",
    "儿童乐园": "儿童活动",
    # health
    "近视眼的比例": "近视率",
    "近视的比例": "近视率",
    "近视比例": "近视率",
    "蛀牙": "龋齿",
    "虫牙": "龋齿",
    "近视眼": "近视",
    "近是": "近视",
    "婚检": "婚前医学检查",
    "婚前体检": "婚前医学检查",
    "产检": "产前检查",
    "孕检": "孕产妇检查",
    "畸形": "出生缺陷",
    "能活多少岁": "预期寿命多少岁",
    "活到多少岁": "预期寿命多少岁",
    "寿命": "预期寿命",
    "乳腺癌宫颈癌": "两癌",
    "宫颈癌乳腺癌": "两癌",
    "医美": "医疗美容",
    "整容": "医疗美容",
    "打疫苗": "疫苗接种",
    "抑郁": "心理健康",
    "心理问题": "心理健康",
    "吃奶": "母乳喂养",
    "喂奶": "母乳喂养",
    "母乳": "母乳喂养",
    "体育锻炼": "体育",
    "运动": "体育",
    "肥胖": "超重肥胖",
    "太胖": "超重肥胖",
    "胖": "肥胖",
    # insurance and welfare
    "生孩子的保险": "生育保险",
    "生娃的保险": "生育保险",
    "生小孩的保险": "生育保险",
    "生育险": "生育保险",
    "养老金": "养老保险",
    "养老险": "养老保险",
    "失业险": "失业保险",
    "失业金": "失业保险",
    "工伤险": "工伤保险",
    "医保": "医疗保险",
    "低保户": "低保",
    "社保": "社会保障",
    "产假": "生育休假",
    "三胎": "三孩",
    "二胎": "二孩",
    "低收入": "低收入",
    "穷人": "困难",
    "贫困户": "困难家庭",
    # safety and law
    "家暴": "家庭暴力",
    "打老婆": "家庭暴力",
    "打媳妇": "家庭暴力",
    "打老公": "家庭暴力",
    "打孩子": "对儿童家庭暴力",
    "打小孩": "对儿童家庭暴力",
    "性侵": "性侵害",
    "人贩子": "拐卖",
    "拐卖儿童": "拐卖",
    "打拐": "拐卖",
    "霸凌": "欺凌",
    "校园暴力": "学生欺凌",
    "网络诈骗": "电信网络诈骗",
    "电诈": "电信网络诈骗",
    "网瘾": "沉迷网络",
    "玩手机": "沉迷网络",
    "溺水": "溺水",
    "法援": "法律援助",
    "打官司": "诉讼",
    "坐车": "乘车",
    # education
    "上大学": "高等教育",
    "大学里": "高校",
    "大学生": "高校学生",
    "读高中": "高中阶段",
    "上高中": "高中阶段",
    "高中": "高中阶段",
    "念书": "教育",
    "学前班": "学前教育",
    "幼儿圆": "幼儿园",
    "双减": "减轻学生负担",
    "课外辅导": "校外培训",
    "补课": "校外培训",
    "看书": "阅读",
    "读书": "阅读",
    # time
    "十四五期间": "2021—2025年",
    "这五年": "2021—2025年",
    "五年内": "2021—2025年",
}

# English keywords -> plan terms, added to an English question so that keyword search and the
# support check still see Chinese; the multilingual embedder reads the English itself.
GLOSSARY: dict[str, str] = {
    "ecological civilization": "生态文明",
    "publicity": "宣传",
    "traditional chinese medicine": "中医药",
    "tcm": "中医药",
    "migrant": "流动",
    "childbirth": "生育",
    "hiring": "招聘",
    "recruit": "招聘",
    "juvenile worker": "未成年工",
    "health check": "健康检查",
    "party secretar": "书记",
    "one hour": "1小时",
    "coverage": "覆盖率",
    "premarital": "婚前医学检查",
    "medical examination": "医学检查",
    "maternal mortality": "孕产妇死亡率",
    "infant mortality": "婴儿死亡率",
    "mortality": "死亡率",
    "death rate": "死亡率",
    "deaths": "死亡",
    "senior professional": "高级专业技术人员",
    "professional and technical": "专业技术人员",
    "technical personnel": "专业技术人员",
    "employed": "就业",
    "working-age": "劳动年龄段",
    "skills training": "技能培训",
    "vocational": "职业",
    "training": "培训",
    "participation": "参与",
    "activity cent": "活动中心",
    "counsel": "心理辅导",
    "gross enrol": "毛入学率",
    "sex ratio": "性别比",
    "birth": "出生",
    "newborn": "新生儿",
    "neonatal": "新生儿",
    "pregnan": "孕产妇",
    "prenatal": "产前",
    "marriage": "婚姻",
    "divorce": "离婚",
    "guardian": "监护",
    "left-behind": "留守儿童",
    "orphan": "孤儿",
    "social worker": "社会工作者",
    "volunteer": "志愿",
    "sport": "体育",
    "exercise": "锻炼",
    "internet": "网络",
    "online": "网络",
    "game": "游戏",
    "addict": "沉迷",
    "bully": "欺凌",
    "child labor": "童工",
    "child labour": "童工",
    "highland": "高地",
    "shanghai": "上海",
    "hangzhou": "杭州",
    "mechanism": "机制",
    "implement": "实施",
    "under-five": "5岁以下儿童",
    "life expectancy": "预期寿命",
    "myopia": "近视",
    "nearsighted": "近视",
    "dental caries": "龋齿",
    "tooth decay": "龋齿",
    "cavities": "龋齿",
    "kindergarten": "幼儿园",
    "preschool": "学前教育",
    "high school": "高中阶段",
    "senior high": "高中阶段",
    "higher education": "高等教育",
    "university": "高校",
    "college": "高校",
    "enrollment": "毛入学率",
    "enrolment": "毛入学率",
    "childcare": "托育",
    "nursery": "托位",
    "daycare": "托育",
    "domestic violence": "家庭暴力",
    "trafficking": "拐卖",
    "legal aid": "法律援助",
    "sexual harassment": "性骚扰",
    "women": "妇女",
    "woman": "妇女",
    "female": "女性",
    "girls": "女童",
    "children": "儿童",
    "child": "儿童",
    "minors": "未成年人",
    "minor": "未成年人",
    "infant": "婴幼儿",
    "infants": "婴幼儿",
    "target": "目标",
    "goal": "目标",
    "2025": "2025年",
    "2020": "2020年",
    "baseline": "2020年",
    "responsible": "负责",
    "in charge": "负责",
    "coordinat": "协调",
    "measures": "措施",
    "birth defect": "出生缺陷",
    "cervical": "宫颈癌",
    "breast cancer": "乳腺癌",
    "screening": "筛查",
    "mental health": "心理健康",
    "psycholog": "心理",
    "insurance": "保险",
    "maternity": "生育",
    "unemployment": "失业",
    "work injury": "工伤",
    "pension": "养老保险",
    "injury": "伤害",
    "drowning": "溺水",
    "hospital": "医院",
    "evaluation": "评估",
    "monitoring": "监测",
    "plan period": "规划期限",
    "planning period": "规划期限",  # not "period" alone: "the postpartum period" is no plan's period
    "issued": "印发",
    "published": "印发",
    "based on": "根据",
    "reading": "阅读",
    "library": "图书馆",
    "physical fitness": "体质",
    "elderly": "老年",
    "employment": "就业",
    "job": "就业",
    "discrimination": "歧视",
    "party member": "党员",
    "deputies": "代表",
    "congress": "人大",
    "cppcc": "政协",
    "village committee": "村民委员会",
    "board": "董事会",
    "management": "管理层",
    "vaccine": "疫苗",
    "hpv": "HPV",
    "breastfeed": "母乳喂养",
    "anemia": "贫血",
    "obesity": "超重肥胖",
    "key project": "重点实事项目",
    "projects": "项目",
    "project": "项目",
    "indicator": "指标",
    "disabled": "残疾",
    "disability": "残疾",
    "rural": "农村",
    "urban": "城镇",
    "family": "家庭",
    "parent": "家长",
    "school": "学校",
    "safety": "安全",
    "health": "健康",
    "education": "教育",
    "welfare": "福利",
    "environment": "环境",
    "law": "法律",
    "protection": "保护",
    "poverty": "困难",
    # everyday English for the plans' topics (each maps to a term the plans use)
    "hits me": "家庭暴力",
    "beats me": "家庭暴力",
    "abuse": "虐待",
    "employer": "用人单位",
    "work from home": "居家办公",
    "people's congress": "人大代表",
    "childcare places": "托位",
    "per 1,000": "每千",
    "vaccin": "疫苗",
    "school meal": "用餐",
    "drown": "溺水",
    "funding": "经费",
    "budget": "预算",
    "disab": "残疾",
    "entrepreneur": "创业",
    "cadre": "干部",
    "board of directors": "董事会",
    "family education": "家庭教育",
    "parent school": "家长学校",
    "injur": "伤害",
    "traffic": "交通",
    "food safety": "食品安全",
    "obes": "肥胖",
    "anaemia": "贫血",
    "eyesight": "视力",
    "sleep": "睡眠",
    "sexual assault": "性侵",
    "sexual abuse": "性侵",
    "medical insurance": "医疗保险",
    "maternity insurance": "生育保险",
    "unemployment insurance": "失业保险",
    "maternity leave": "生育休假",
    "hiv": "艾滋病",
    "syphilis": "梅毒",
    "hepatitis": "乙肝",
    "mother-to-child": "母婴传播",
    "monitor": "监测",
    "evaluat": "评估",
    "statistic": "统计",
    "low-income": "低收入",
    "temporary guardian": "临时监护",
    "criminal record": "犯罪记录",
    "background check": "入职查询",
    "street child": "流浪儿童",
    "homeless": "流浪",
    "pregnancy": "孕期",
    "menopaus": "更年期",
    "pediatric": "儿科",
    # everyday English of health-service documents (screening, maternal care, reproduction services)
    "pmtct": "预防母婴传播",
    "mother to child": "母婴传播",
    "in labour": "临产",
    "in labor": "临产",
    "delivery": "分娩",
    "give birth": "分娩",
    "infection status": "感染状况",
    "infected": "感染",
    "infection": "感染",
    "antiretroviral": "抗病毒治疗",
    "antiviral": "抗病毒治疗",
    "viral load": "病毒载量",
    "assisted reproduct": "辅助生殖",
    "in vitro": "体外受精",
    "ivf": "体外受精",
    "sperm bank": "精子库",
    "insemination": "人工授精",
    "allocation": "配置",
    "approval": "审批",
    "tertiary": "三级",
    "cytology": "细胞学",
    "colposcop": "阴道镜",
    "biopsy": "活检",
    "ultrasound": "超声",
    "mammogra": "乳腺X线",
    "high-risk": "高危",
    "high risk": "高危",
    "follow-up": "随访",
    "follow up": "随访",
    "referral": "转诊",
    "notif": "通知",
    "working days": "工作日",
    "performance": "绩效考核",
    "scoring": "评分标准",
    "formula": "计算方法",
    "calculated": "计算方法",
    "early diagnosis": "早诊率",
    "positive": "阳性",
    "immunoglobulin": "免疫球蛋白",
    "surveillance": "监测",
    "quality control": "质量控制",
    "information management": "信息管理",
    "reporting": "上报",
    # English place names, so that a question about another place is judged as one ("Guangdong province")
    "guangdong": "广东",
    "jiangsu": "江苏",
    "zhejiang": "浙江",
    "beijing": "北京",
    "shandong": "山东",
    "sichuan": "四川",
    "henan": "河南",
    "hubei": "湖北",
    "hunan": "湖南",
    "fujian": "福建",
    "anhui": "安徽",
    "shenzhen": "深圳",
    "guangzhou": "广州",
    "nanjing": "南京",
    "ningbo": "宁波",
    "shaoxing": "绍兴",
    "province": "省",
    "provincial": "省级",
    "county": "县",
    "national": "全国",
    "paediatric": "儿科",
    "migrant children": "随迁子女",
    "household registration": "户籍",
    "hukou": "户籍",
    "birth certificate": "出生医学证明",
    "one-stop": "一站式",
}

# Words that say what kind of answer is wanted, not what it is about: cut before the support check
# and before indicator-name matching ("产前筛查率要达到多少" is about 产前筛查率).
GENERIC = set(
    """目标 要求 措施 任务 内容 情况 工作 方面 具体 主要 嘉兴 嘉兴市 十四五 规划 指标 多少 数值
    怎么 怎样 如何 哪些 什么 做 提出 提到 实现 达到 重点 是否 有没有 预计 应该 年 计划 能 几年 哪年
    哪几年 什么时候 多久 多长 到底 降到 降至 降低 提高 提升 提高到 控制 控制在 保持 超过 不低于 低于
    高于 增加 减少 打算 准备 现在 目前 现状 基数 数据 数字 百分之 比例是 一下 知道 想 问问 告诉
    领域 部分 章节 一节 主要任务 任务措施 有关 相关 规定 说明 写 提 讲 明确 请问 想问 问下 问一下 啥
    咋 咋样 怎么样 哪个 哪里 是啥 多大 几个 要不要 需不需要 能不能 可不可以 具体数字 数是 率是 是不是
    the what is are was of which how rate plan target does do say says about in for and to by on
    any there much many when who whom
    安排 部署 以后 之后""".split()
)

# Words that ask what a plan says of the things named ("这种规划里有啥说法"): a piece of a question
# made of them names no thing of its own (query.topic_parts). Not GENERIC: there "说法" keeps
# "托育方面规划有啥说法" from reading as a question about the plan's 方面 (its domains).
SAYING_WORDS = ("说法", "讲法", "提法")

# Characters that carry no topic: a bigram containing one says nothing ("率要", "的预").
# Sentence particles: no word is typed as one, and none tells what its neighbour should be (typo repair).
PARTICLES = frozenset("的了吗呢吧啊呀么嘛")
STOP_CHARS = set("的了吗呢吧啊呀么嘛是有在和与及或要会能把被对给让从向到就都也还又再很更最该这那哪谁几多少个啥咋")

# Words that name a plan's group of people, per plan kind ("妇女规划", "儿童规划" and kin).
PLAN_WORDS: dict[str, tuple[str, ...]] = {
    "women": ("妇女", "女性", "women", "woman", "女职工", "女生", "女干部"),
    "children": ("儿童", "未成年", "children", "child", "少年", "婴幼儿", "学生"),
}
# Words that name every plan at once ("妇女和儿童规划的总体目标分别是什么").
BOTH_PLANS = ("两个规划", "两规划", "妇女和儿童", "妇女儿童规划", "妇儿两个", "妇儿规划", "both plans")
# Words that name a plan or its group, cut from a follow-up's topic when it moves to another plan
# ("那儿童规划呢"): 女性/女生 stay, they narrow an indicator ("女生的呢").
PLAN_NAMING = ("妇女发展规划", "儿童发展规划", "妇女规划", "儿童规划", "妇女", "儿童", "未成年人", "women's", "womens",
               "women", "children's", "childrens", "children")
# Group words cut from indicator names to find the same row in the other plan's table
# (建立妇女活动中心的… / 建立儿童活动中心的…).
GROUP_IN_NAMES = ("妇女", "女性", "女生", "儿童", "未成年人")
# The people an indicator or a measure is about. A follow-up that names another of them swaps it
# into the topic and keeps the rest: "孕产妇死亡率要控制在多少" -> "婴儿的呢" -> 婴儿死亡率要控制在多少.
POPULATIONS = ("孕产妇", "新生儿", "婴幼儿", "婴儿", "儿童", "未成年人", "学生", "妇女", "女性", "女职工", "女干部",
               "女生", "男生", "老年妇女", "残疾儿童", "流动儿童", "困境儿童")
# Words that frame a question about the document itself ("这个通知是谁发的"), cut before asking
# whether anything else is left; place names come from PLACES.
DOCUMENT_WORDS = (
    "妇女发展规划", "儿童发展规划", "妇女规划", "儿童规划", "两个规划", "规划", "通知", "文件", "文", "妇女", "儿童",
    "印发", "发布", "出台", "制定", "颁布", "下发", "发给", "发", "单位", "部门", "机关", "依据", "根据", "期限",
    "哪几年", "几年", "多少年", "起止", "时间", "日期", "这个", "这份", "本", "市", "十四五", "落款", "签发", "发文",
    "上位文件", "上位", "时候", "哪些", "人民政府", "政府", "“", "”", "《", "》", "附件", "后面", "都是",
)
# Names of a kind of plan in a filter ("--plan 妇女规划"): the plan of that kind, when one document has it.
PLAN_KIND_NAMES = {"妇女": "women", "儿童": "children", "妇女规划": "women", "儿童规划": "children", "women": "women",
                   "children": "children"}
# Words that switch a follow-up to a plan ("那儿童规划呢？"): only the plan names themselves and
# their everyday forms; "女生" in "女生的呢" narrows an indicator, it does not switch plans.
PLAN_SWITCH: dict[str, tuple[str, ...]] = {
    "women": ("妇女规划", "妇女发展规划", "妇女的", "妇女呢", "女性的", "women's plan", "women"),
    "children": ("儿童规划", "儿童发展规划", "儿童的", "儿童呢", "未成年人的", "children's plan", "children"),
}

# Question cue words per intent, tried in the order of INTENT_ORDER. A cue is a plain substring.
INTENT_CUES: dict[str, tuple[str, ...]] = {
    "document": (
        "谁发",
        "谁印发",
        "谁制定",
        "谁出台",
        "哪个单位发",
        "哪个部门发",
        "哪个部门印发",
        "哪个单位印发",
        "印发的",
        "发布的",
        "出台的",
        "发文",
        "文件是谁",
        "发给谁",
        "印发给",
        "下发给",
        "什么时候印发",
        "什么时候发布",
        "什么时候出台",
        "哪天印发",
        "哪天发",
        "何时印发",
        "何时发布",
        "印发时间",
        "发布时间",
        "依据什么",
        "根据什么",
        "依据是",
        "根据哪些",
        "依据哪些",
        "制定依据",
        "依据的是",
        "规划期限",
        "规划期",
        "哪几年",
        "几年的",
        "多少年的",
        "时间跨度",
        "覆盖哪些年",
        "起止",
        "到哪一年",
        "截止",
        "管多久",
        "who issued",
        "issued",
        "published",
        "when was",
        "based on",
        "plan period",
        "what period",
        "which years",
        "cover notice",
        "addressed to",
    ),
    "who": (
        "谁负责",
        "谁来",
        "谁牵头",
        "谁组织",
        "谁协调",
        "谁管",
        "由谁",
        "哪个部门",
        "哪些部门",
        "哪个单位",
        "哪些单位",
        "什么部门",
        "负责",
        "牵头",
        "主管",
        "责任单位",
        "责任主体",
        "谁",
        "who",
        "which department",
        "which body",
        "responsible",
    ),
    # "^" anchors an English cue at the start: "When was…" asks a time, "…when hiring" does not
    "when": ("什么时候", "何时", "哪天", "哪一天", "几月", "哪一年", "哪年", "啥时候", "多久", "时间节点", "^when"),
    "definition": (
        "指什么",
        "是什么意思",
        "什么意思",
        "指的是",
        "指哪些",
        "是指",
        "什么叫",
        "啥意思",
        "啥是",
        "定义",
        "所称",
        "简称",
        "哪些人",
        "多大的",
        "几岁",
        "什么年龄",
        "范围",
        "define",
        "多大以内",
        "多大年龄",
        "几岁以下",
        "指哪",
        "算不算",
        "算是",
        "mean",
        "definition",
        "defined",
        "who counts",
    ),
    "count": (
        "多少个",
        "几个",
        "多少家",
        "几家",
        "多少所",
        "几所",
        "多少项",
        "几项",
        "多少条",
        "几条",
        "多少名",
        "几名",
        "多少人",
        "多少张",
        "几张",
        "多少天",
        "几天",
        "多少元",
        "多少钱",
        "几大",
        "几部分",
        "how many",
    ),
    "value": (
        "多少",
        "具体数",
        "数字",
        "百分之",
        "比例",
        "比率",
        "几成",
        "占比",
        "数值",
        "目标值",
        "指标值",
        "达到",
        "控制在",
        "保持在",
        "降到",
        "降至",
        "提高到",
        "目标",
        "要求",
        "标准",
        "基数",
        "现状",
        "2020",
        "2025",
        "率",
        "how much",
        "what percent",
        "percentage",
        "rate",
        "target",
        "share",
        "ratio",
        "level",
    ),
    "list": (
        "有哪些",
        "哪几",
        "哪些",
        "包括",
        "包含",
        "列出",
        "都有什么",
        "有什么",
        "有啥",
        "which",
        "list",
        "what are",
    ),
    "measures": (
        "措施",
        "举措",
        "怎么做",
        "怎样做",
        "如何",
        "怎么",
        "咋",
        "做什么",
        "做哪些",
        "哪些工作",
        "干什么",
        "做法",
        "具体",
        "内容",
        "安排",
        "打算",
        "办法",
        "政策",
        "支持",
        "保障",
        "搞什么",
        "搞啥",
        "要搞",
        "配套",
        "how",
        "measures",
        "what will",
        "say about",
        "says about",
    ),
}
# "是哪个项目", "属于哪项任务": the part of the plan that says it is asked, so each quoted passage is
# labelled with its heading.
PART_ASKED = ("哪个项目", "哪一个项目", "哪项目", "什么项目", "啥项目", "哪个任务", "哪项任务", "哪一项", "哪个领域",
              "哪个部分", "哪一部分", "哪个章节", "属于哪", "在哪一条", "哪一条", "which project", "which section",
              "which part", "which task", "what project")
# "怎么要求的": what the plan requires, in words; a value cue (要求) that asks no figure.
HOW_REQUIRED = (
    "怎么要求", "如何要求", "怎样要求", "咋要求", "有哪些要求", "哪些要求", "什么要求", "啥要求",
    "硬性要求", "还要求吗",
)
INTENT_ORDER = ("document", "who", "when", "definition", "count", "value", "list", "measures")

# Words that refer to every item of the list last shown at once ("它们2020年分别是多少").
ALL_OF_THEM = ("它们", "这些", "那些", "分别", "各自", "每一项", "每项", "都是多少",
               "each of", "each one", "all of them")

# Names of the columns of a table of any header, and the parts of a formula: a follow-up that names
# one ("计算公式呢 分子是啥") asks another cell of the row just shown, as "2020年呢" asks another year.
COLUMN_WORDS = ("计算公式", "计算方法", "评分标准", "指标定义", "指标评价", "分子", "分母", "公式")

# Words that point back at the conversation: a question with one of these and little content of
# its own is a follow-up ("儿童规划有类似的吗", "这个谁负责").
ANAPHORA = (
    "类似",
    "同样",
    "一样",
    "这个",
    "那个",
    "这些",
    "那些",
    "这项",
    "那项",
    "这方面",
    "它",
    "其",
    "此",
    "上面",
    "上述",
    "刚才",
    "前面",
    "那么",
    "呢",
    "还有",
    "另外",
    "what about",
    "how about",
    "and the",
    "same",
    "it",
    "that",
    "those",
    "this",
)
# Words that start a new topic on purpose: what follows is read on its own, never as a follow-up.
NEW_TOPIC = ("换个问题", "换个话题", "另外问", "再问个别的", "问个别的", "another question", "new question")
FOLLOWUP_LEADS = (
    "那",
    "那么",
    "那个",
    "这个",
    "它",
    "其",
    "还有",
    "再",
    "然后",
    "另外",
    "and ",
    "what about",
    "how about",
    "so ",
)

# The year a question asks for, by its words: 2020 is the table's base year, 2025 its target year.
BASELINE_WORDS = (
    "2020",
    "基数",
    "基期",
    "现状",
    "现在",
    "目前",
    "基线",
    "原来",
    "之前",
    "以前",
    "当时",
    "起点",
    "baseline",
    "current",
    "now",
    "in 2020",
)
# The value of today asked ("嘉兴现在女党员占比多少"): a plan knows only its base year and its targets, so
# a sentence that states a target does not answer it (words of the past, "原来", may mean anything).
NOW_WORDS = ("现在", "目前", "现状", "当前", "如今", "眼下", "current", "now")
TARGET_WORDS = (
    "2025",
    "目标",
    "要求",
    "要达到",
    "达到",
    "保持在",
    "控制在",
    "到时候",
    "将来",
    "以后",
    "规划末",
    # a change asked is the target's ("每年要降几个百分点": 逐年降低, not the 2020 value)
    "每年",
    "降几",
    "降多少",
    "提高几",
    "提高多少",
    "增加几",
    "增加多少",
    "减少几",
    "减少多少",
    "target",
    "goal",
    "by 2025",
)

# Nouns that name a part of a plan's own structure (counted and listed from the parsed tree).
STRUCTURE_NOUNS: dict[str, tuple[str, ...]] = {
    "domain": ("领域", "板块", "方面", "哪几块", "几块", "domains", "areas", "fields"),
    "indicator": ("重点指标", "主要指标", "统计指标", "指标", "indicators"),
    "project": ("重点实事项目", "实事项目", "实事工程", "重点项目", "重点工程", "项目", "projects"),
    "part": ("部分", "大块", "章", "几大部分", "parts", "chapters", "sections"),
}

# Chinese numerals in ordinals and counts ("第三个", "倒数第二个").
CN_NUMERALS = {
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
    "十一": 11,
    "十二": 12,
    "十三": 13,
    "十四": 14,
    "十五": 15,
}
ENGLISH_ORDINALS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "last": -1,
}

# Places that are the document's own area and never a reason to refuse ("全市", "本市").
OWN_AREA = ("全市", "本市", "市级", "市里", "我市", "各县", "县（市、区）")
# Units a count question names ("多少张床位"): the evidence must state a number with this unit.
COUNT_UNITS = "所个家座名人次趟遍项条张天元岁辆台套"

# Which fact of the document itself a DOCUMENT question asks for, tried in this order.
DOCUMENT_FACETS: dict[str, tuple[str, ...]] = {
    "annex": ("附件", "annex", "attachment", "appendices"),
    "number": ("文号", "发文字号", "几号文", "字号", "document number", "reference number"),
    "addressee": ("发给谁", "印发给", "下发给", "发给哪些", "发到哪", "对象是", "addressed", "sent to"),
    "issuer": (
        "谁发",
        "谁印发",
        "谁制定",
        "谁出台",
        "谁颁布",
        "谁出的",
        "谁编制",
        "哪个单位",
        "哪个部门",
        "哪个机关",
        "发文单位",
        "发文机关",
        "制定单位",
        "who issued",
        "issued by",
        "which authority",
        "who published",
        "who made",
        "who wrote",
    ),
    # English cues are whole phrases that ask ("according to the plans" cites a source, "when they are
    # in labour" and "the postpartum period" ask no fact of the document); matched at word starts
    "basis": ("依据", "根据", "照着", "依照", "参照", "按照哪", "based on", "basis"),
    "period": (
        "管到",
        "到哪年",
        "管几年",
        "管多久",
        "期限",
        "规划期",
        "哪几年",
        "几年",
        "多少年",
        "多久",
        "起止",
        "跨度",
        "到哪一年",
        "到什么时候",
        "截止",
        "what period",
        "which period",
        "planning period",
        "plan period",
        "period of the plan",
        "which years",
        "what years",
    ),
    "date": ("什么时候", "啥时候", "时候", "何时", "哪天", "哪一天", "日期", "哪年", "哪一年", "几月", "时间",
             "when was", "when were", "when did", "what date", "which date", "date of", "issue date", "dated"),
}

# Place names a question may name instead of the plan's own area: provinces, large cities, the
# cities and counties of Zhejiang. A place the evidence does not name is a reason to refuse
# ("杭州的婴儿死亡率"); the plan's own city is read from its title, never from this list.
PLACES = tuple(
    """北京 上海 天津 重庆 河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 广东 海南
    四川 贵州 云南 陕西 甘肃 青海 台湾 内蒙古 广西 西藏 宁夏 新疆 香港 澳门 深圳 广州 南京 苏州 无锡 武汉 成都
    西安 杭州 宁波 温州 绍兴 湖州 嘉兴 金华 衢州 舟山 台州 丽水 义乌 南湖 秀洲 嘉善 平湖 海盐 海宁 桐乡
    萧山 余杭 富阳 临安 建德 桐庐 淳安 慈溪 余姚 诸暨 上虞 长兴 德清 安吉 乐清 瑞安""".split()
)

# Words that narrow a figure to part of a population or a level ("小学生近视率", "农村妇女的比例"):
# a figure asked for such a part is not answered by the whole's figure. General vocabulary, no plan's.
FACETS = ("小学生", "小学", "初中生", "初中", "中学生", "大学生", "研究生", "男性", "男生", "男孩", "男童", "男职工",
          "男干部", "男教师", "男的", "男人", "男士", "留守", "独生", "单亲", "少数民族", "非户籍", "农村", "乡村")
# The head of a body ("居委会主任", "村党组织书记", "县政府一把手"): a figure for a body's members or
# teams says nothing of its head. Words that name the same head are grouped.
HEAD_ROLES: dict[str, tuple[str, ...]] = {
    "主任": ("主任", "director"),
    "书记": ("书记", "一肩挑", "party secretary"),
    "正职": ("正职", "一把手", "主要负责人", "县长", "市长", "镇长", "局长", "mayor"),
    "主席": ("主席", "chair", "chairs", "chairman", "chairwoman", "chaired"),
    "校长": ("校长",),
    "院长": ("院长",),
}

# Levels of government a question or a sentence can name (each with the words that name it): "每个村
#都要有吗" of a sentence about 各镇(街道) asks what the plan does not say. 市 is every plan's own level
# (全市) and names nothing. 农村/乡村 are people's places, not a level (FACETS has them).
LEVELS: dict[str, str] = {
    "村": r"(?<![农乡])村|社区|(?i:\bvillages?\b)",
    "镇（街道）": r"镇|街道|(?i:\btown(?:ship)?s?\b)",
    "县（市、区）": r"县|(?<![社小地城园景街])区(?!域|别|分)|(?i:\bcount(?:y|ies)\b)",
    "市级": r"市级|市本级",  # named as a level ("市级人大代表"); 全市 is the plan's own area, no level
    "省": r"省|(?i:\bprovinc(?:e|es|ial)\b)",
    "全国": r"全国|国家|(?i:\bnational(?:ly)?\b|\bnationwide\b)",
}

# ---- web-page boilerplate (reflow) ----------------------------------------------------------------
# A scraped page is known by navigation lines near its top; its footer by these cues near its end.
PAGE_NAVIGATION = frozenset(("首页", "网站首页", "您现在所在位置：", "当前位置：", "您的位置：", "返回主站 >"))
PAGE_FOOTER = ("网站地图", "版权所有", "ICP备", "技术支持：", "主办单位：", "联系我们")
# Metadata lines of a page: these labels' values are kept as document facts, the others dropped.
PAGE_FACTS = frozenset(("发布时间", "发布日期", "成文日期", "来源", "发文机关", "文号"))
PAGE_METADATA = ("阅读量", "浏览次数", "访问量", "字号", "打印", "关闭", "分享到", "【", "-->")
PAGE_METADATA_LABELS = frozenset(("发布时间", "发布日期", "成文日期", "来源", "阅读量", "浏览次数"))
# A header cell under another one names its column ("指标评价" over "评分标准").
TABLE_SUBHEADERS = frozenset(("评分标准", "目标值", "考核标准", "评价标准", "分值"))

# Which column of a table of any header a question asks for: (header pattern, question cues).
# "筛查早诊率的计算方法" -> the 计算公式 column; no cue -> the table's target column (评分标准).
TABLE_COLUMNS = (
    (r"计算|公式|方法", ("计算", "公式", "分子", "分母", "怎么算", "如何算", "算法", "formula", "calculat",
                   "numerator", "denominator")),
    (r"定义|含义|说明", ("定义", "指什么", "什么意思", "是指", "含义", "defin", "mean")),
    (r"评分|标准|目标|考核", ("评分", "标准", "目标", "达到", "要求", "多少", "target", "score")),
)

# Bigrams of a title that say what kind of document it is, not its topic: never a plan's title word.
TITLE_FRAME_GRAMS = frozenset(
    "规划 计划 方案 规范 原则 办法 纲要 工作 指导 导原 作方 作规 实施 管理 通知 印发 发展".split()
)

# Words for a share that name no topic: a question's 覆盖率 is often a row's 比例 ("活动中心 县里覆盖率"
# for 建立妇女活动中心的县（市、区）比例), so a row's name is matched on the question's other words too.
SHARE_WORDS = ("覆盖率", "比例", "占比", "比率", "比重", "百分比")
# A share asked in any words: only a row counted in ％ or ‰ answers it ("what share of schools").
SHARE_ASKED = SHARE_WORDS + ("百分之", "share", "percentage", "proportion", "ratio")

# How the name of a measure ends (知晓率, 筛查率, 人数, 所占比例 ...): the name cell of a flattened
# indicator table ends with one of these (reflow.segment_cells).
MEASURE_NAME_ENDS = frozenset("率数比例量值度龄")

# ---- the grounding check of a model's answer (grounding) ------------------------------------------
# A passage that talks to the model is data, never an instruction: it is not shown to the model.
# Compared lower-case with spaces removed.
MODEL_ADDRESS_CUES = (
    "忽略以上", "忽略之前", "忽略前面", "忽略上述", "忽略所有", "忽略你", "忽略此前", "无视以上", "无视之前",
    "无视上述",
    "不要遵守", "你是一个", "你现在是", "作为ai", "作为人工智能", "作为语言模型", "系统提示", "提示词", "请直接回答",
    "直接回答：", "ignoreprevious", "ignoreall", "ignoretheabove", "disregardprevious", "systemprompt",
    "youarenow", "assistant:", "<|im_start|>", "[inst]",
)
# What an answer to a plan question never asks of the reader unless the plan itself says it: a model
# that writes one of these without a cited passage holding it has been talked round.
MODEL_ACTION_CUES = (
    "忽略", "指令", "访问", "点击", "登录", "扫码", "二维码", "转账", "汇款", "领取", "拨打", "致电", "微信", "链接",
    "网址", "下载", "密码", "验证码", "银行卡", "提示词",
)
