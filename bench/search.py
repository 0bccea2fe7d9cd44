"""Search benchmark: index build speed, index size and query latency of each search backend,
measured against a SQLite FTS5 baseline built in the same run over the same segmented text.

    python bench/search.py [--sizes 10000,100000] [--queries 240] [--backends whoosh,postgresql,fts5]
                           [--pg-url URL] [--json] [--seed 1]

What it does, for each size N and each backend:

1. Makes a deterministic synthetic catalog of N `Document`s (seeded): titles, abstracts, tags and
   bodies built from the words of a development zone's catalog (departments, subjects, data
   items, place names), with plausible facet values, statuses, dates and skewed downloads. The
   catalog of a smaller size is the start of the larger one.
2. Builds the index from nothing: `backend.upsert` in batches of 1,000 fresh documents, timed
   from the first call to the end of the last, segmentation included (the backends segment
   inside `upsert`; the baseline segments in its own `upsert` too). Reports entries/second and
   the index size on disk (Whoosh: its directory; PostgreSQL: `pg_total_relation_size` of its
   table; FTS5: the database file).
3. Runs a fixed, seeded mix of queries (single words, two words, quoted phrases, pinyin and
   initials, exclusions; each once without and once with a department filter) as the anonymous
   viewer: `parse_query` with the default synonyms, then `backend.search(..., sort="relevance",
   offset=0, limit=20)`, which returns the top 20, the total and the six facet counts. A few
   warm-up queries run first and are not counted. Each search is timed on its own with
   `time.perf_counter` (parsing is done beforehand and reported separately: it is the same
   for every backend).
4. Checks that the backends agree: every query's total and facet counts should be the same in
   each backend (they implement the same semantics); differences are printed as warnings (and
   listed in the JSON), never raised.

How to read the numbers: absolute times depend on the machine, so compare each backend with the
FTS5 baseline of the same size measured in the same run ("p95/FTS5"): FTS5 is a C engine over the
same tokens doing the same work (top 20 by bm25, total, six GROUP BY facet counts), a practical
lower bound for an embedded index. The targets printed at the end are the requirements on a
2-core machine: at 10,000 entries p95 <= 30 ms; at 100,000 entries p95 <= 150 ms and a build of
at least 1,000 entries/s. Nothing here asserts a time: it measures and reports.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import platform
import random
import shutil
import signal
import sqlite3
import statistics
import string
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as `python bench/search.py` without the package installed
    sys.path.insert(0, str(ROOT))

from portal.search import FACETS, OPEN_CATALOG, Document, Results, Scope  # noqa: E402
from portal.search import analysis  # noqa: E402
from portal.search.analysis import Query  # noqa: E402

try:
    from portal.search.documents import name_key
except ImportError:  # the catalog models are not importable: the same key, made here
    from pypinyin import lazy_pinyin

    def name_key(title: str) -> str:
        return " ".join(lazy_pinyin(title.strip().lower()))[:200]


DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# A schema of its own, so that a test session's DROP SCHEMA public (tests/conftest.py) running at
# the same time cannot take the table away mid-run, and a table of this process's own, so that
# two runs at once (the smoke test and a real run) do not drop each other's; dropped at the end.
PG_SCHEMA = "bench"
PG_TABLE = f"{PG_SCHEMA}.search_document_bench_{os.getpid()}"
BATCH = 1000
TOP = 20
WARMUP = 10
# Requirements on a 2-core machine, by catalog size.
TARGETS = {10_000: {"p95_ms": 30.0}, 100_000: {"p95_ms": 150.0, "build_per_s": 1000.0}}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the synthetic catalog ------------------------------------------------------------------

DEPARTMENTS = {
    "1": "管委会办公室",
    "2": "数据资源局",
    "3": "经济贸易发展局",
    "4": "市场监督管理局",
    "5": "生态环境分局",
    "6": "人力资源和社会保障局",
    "7": "自然资源分局",
    "8": "规划建设局",
    "9": "社会事业局",
    "10": "公安分局",
    "11": "财政局",
    "12": "应急管理局",
    "13": "城市管理局",
    "14": "科技创新局",
    "15": "投资促进局",
    "16": "税务局",
    "17": "供电公司",
    "18": "交通运输局",
    "19": "海恒社区服务中心",
    "20": "芙蓉社区服务中心",
}

# subject: (department, classification path, data items, keywords)
SUBJECTS: dict[str, tuple[str, str, tuple[str, ...], tuple[str, ...]]] = {
    "空气质量监测": ("5", "主题/生态环境/大气", ("监测站点", "监测时间", "空气质量指数", "首要污染物", "细颗粒物浓度", "可吸入颗粒物浓度", "二氧化氮浓度", "臭氧浓度"), ("空气质量", "环境监测", "大气污染")),
    "企业登记": ("4", "基础/法人单位", ("统一社会信用代码", "企业名称", "法定代表人", "注册资本", "成立日期", "经营范围", "登记机关", "企业类型", "住所"), ("企业", "市场主体", "营商环境")),
    "规上工业产值": ("3", "主题/经济建设/工业", ("企业名称", "统计月份", "工业总产值", "同比增速", "行业门类", "规模以上工业企业"), ("规上工业", "工业经济", "制造业")),
    "公共停车场泊位": ("13", "主题/交通出行/停车", ("停车场名称", "地址", "泊位总数", "空余泊位", "收费标准", "开放时间", "经度", "纬度"), ("停车场", "停车泊位", "智慧停车")),
    "公交线路": ("18", "主题/交通出行/公共交通", ("线路名称", "首班时间", "末班时间", "站点名称", "票价", "运营单位"), ("公交", "公交站点", "出行")),
    "学校名录": ("9", "主题/教育文化/学校", ("学校名称", "办学类型", "地址", "联系电话", "招生范围", "班级数", "在校生人数"), ("学校", "中小学", "教育")),
    "社会保险参保": ("6", "主题/社会保障/社保", ("参保单位", "参保人数", "险种", "缴费基数", "统计月份"), ("社会保险", "社保", "参保登记")),
    "政府采购合同": ("11", "主题/财政税收/采购", ("项目名称", "采购单位", "供应商名称", "中标金额", "合同签订日期", "采购方式"), ("政府采购", "采购合同", "招标")),
    "建设工程规划许可": ("8", "基础/电子证照/许可", ("项目名称", "建设单位", "建设位置", "建设规模", "许可证号", "发证日期"), ("规划许可", "建设工程", "城乡建设")),
    "用电量": ("17", "主题/经济建设/能源", ("行业分类", "用电量", "统计月份", "同比增长", "用户数"), ("用电", "电力消费", "能源")),
    "土地出让": ("7", "基础/自然资源和空间地理", ("宗地编号", "土地位置", "土地用途", "出让面积", "成交价格", "竞得人", "成交日期"), ("土地出让", "国有建设用地", "自然资源")),
    "充电桩": ("13", "主题/交通出行/新能源", ("充电站名称", "地址", "充电桩数量", "快充数量", "慢充数量", "运营单位", "经度", "纬度"), ("充电桩", "新能源汽车", "充电站")),
    "排污许可": ("5", "主题/生态环境/排污", ("排污单位名称", "许可证编号", "行业类别", "主要污染物", "排放口数量", "有效期限"), ("排污许可", "污染物", "环境执法")),
    "食品经营许可": ("4", "基础/电子证照/许可", ("经营者名称", "许可证编号", "经营场所", "主体业态", "经营项目", "发证日期", "有效期至"), ("食品安全", "食品经营", "许可证")),
    "安全生产检查": ("12", "主题/公共安全/安全生产", ("检查对象", "检查日期", "隐患数量", "整改情况", "检查人员", "处罚金额"), ("安全生产", "隐患排查", "应急管理")),
    "流动人口居住登记": ("10", "基础/人口", ("登记日期", "居住地址", "所属社区", "居住事由", "居住证状态"), ("流动人口", "居住登记", "居住证")),
    "路灯设施": ("13", "主题/城乡建设/市政设施", ("路灯编号", "所在道路", "灯具类型", "功率", "安装日期", "维护单位"), ("路灯", "市政设施", "城市管理")),
    "专利授权": ("14", "主题/科技创新/知识产权", ("专利名称", "专利类型", "专利权人", "授权日期", "申请号"), ("专利", "知识产权", "科技创新")),
    "招商引资项目": ("15", "主题/经济建设/招商", ("项目名称", "投资主体", "计划投资额", "签约日期", "产业类别", "项目进度"), ("招商引资", "重点项目", "产业")),
    "税收收入": ("16", "主题/财政税收/税收", ("税种", "统计月份", "税收收入", "同比增长", "行业"), ("税收", "财政收入", "减税降费")),
    "医疗机构": ("9", "主题/医疗卫生/机构", ("机构名称", "机构类别", "地址", "床位数", "执业医师数", "联系电话"), ("医疗机构", "医院", "卫生服务")),
    "养老服务机构": ("9", "主题/社会保障/养老", ("机构名称", "地址", "床位数", "入住人数", "收费标准", "联系电话"), ("养老", "养老服务", "民生")),
    "政务数据共享开放目录": ("2", "部门/数据资源局", ("目录名称", "提供部门", "共享类型", "开放类型", "更新周期", "数据格式"), ("政务数据", "共享开放", "数据资源")),
    "12345热线诉求": ("1", "主题/社会治理/热线", ("工单编号", "诉求类型", "诉求内容", "所属社区", "受理时间", "办结时间", "满意度"), ("热线", "诉求", "基层治理")),
    "应急避难场所": ("12", "主题/公共安全/应急", ("场所名称", "地址", "有效面积", "容纳人数", "经度", "纬度"), ("应急避难", "应急管理", "防灾减灾")),
    "高新技术企业名录": ("14", "主题/科技创新/企业", ("企业名称", "统一社会信用代码", "认定年度", "证书编号", "技术领域"), ("高新技术企业", "科技企业", "创新")),
    "财政预算": ("11", "主题/财政税收/预算", ("预算科目", "预算金额", "执行金额", "执行进度", "年度"), ("财政预算", "预算公开", "财政")),
    "交通事故": ("10", "主题/公共安全/交通", ("事故编号", "发生时间", "发生地点", "事故类型", "伤亡人数"), ("交通事故", "道路交通", "交通安全")),
    "城市绿地": ("13", "主题/生态环境/绿化", ("绿地名称", "位置", "面积", "绿地类型", "养护单位"), ("城市绿地", "公园", "绿化")),
    "垃圾分类": ("13", "主题/生态环境/固废", ("小区名称", "投放点数量", "分类准确率", "清运量", "统计月份"), ("垃圾分类", "生活垃圾", "环境卫生")),
    "就业登记": ("6", "主题/社会保障/就业", ("用工单位", "岗位名称", "招聘人数", "登记日期", "薪酬范围"), ("就业", "招聘", "人才")),
    "农贸市场": ("4", "主题/民生服务/市场", ("市场名称", "地址", "摊位数", "开放时间", "主管单位"), ("农贸市场", "菜市场", "民生")),
}

PLACES = (
    "锦绣大道", "繁华大道", "芙蓉路", "明珠广场", "莲花路", "紫云路", "海恒社区", "芙蓉社区", "临湖社区", "翡翠湖",
    "始信路", "云谷路", "丹霞路", "石门路", "汤口路", "金寨南路", "翡翠路", "宿松路", "天都路", "桃花工业园",
    "出口加工区", "综合保税区", "大学城", "南艳湖", "高刘街道", "莲花社区", "锦绣社区", "高刘社区", "九龙路", "习友路",
)  # fmt: skip

WORDS = (
    "统计", "分析", "监测", "管理", "服务", "公开", "共享", "平台", "系统", "企业", "居民", "社区", "园区", "产业",
    "制造业", "新能源汽车", "集成电路", "家电", "装备制造", "生物医药", "人工智能", "物流", "营商环境", "高质量发展",
    "数字经济", "智慧城市", "基层治理", "民生", "安全", "环境", "交通", "教育", "医疗", "就业", "税收", "财政",
    "审批", "许可", "登记", "备案", "注销", "变更", "年报", "信用", "监管", "执法", "检查", "投诉", "举报", "补贴",
    "扶持", "政策", "项目", "合同", "招标", "投标", "中标", "供应商", "预算", "决算", "资金", "收入", "支出",
    "人口", "户籍", "住房", "保障房", "公租房", "物业", "小区", "道路", "桥梁", "管网", "供水", "排水", "燃气",
    "供电", "供热", "照明", "绿化", "公园", "广场", "河道", "湖泊", "水质", "噪声", "扬尘", "排放", "污染源",
    "危险化学品", "消防", "应急", "避难", "救援", "演练", "预案", "隐患", "整改", "事故", "伤亡", "车辆", "驾驶员",
    "出租车", "网约车", "共享单车", "地铁", "站点", "线路", "客流", "拥堵", "信号灯", "卡口", "视频", "监控",
    "学生", "教师", "课程", "招生", "学位", "校车", "食堂", "体检", "疫苗", "门诊", "住院", "床位", "医保", "药品",
    "养老", "托育", "残疾人", "低保", "救助", "慈善", "志愿者", "文化", "体育", "图书馆", "博物馆", "场馆", "赛事",
    "旅游", "酒店", "餐饮", "商场", "超市", "电商", "外贸", "进出口", "海关", "保税", "跨境", "投资", "融资",
    "贷款", "担保", "上市", "股权", "专利", "商标", "研发", "孵化器", "众创空间", "高校", "科研院所", "实验室",
    "人才", "博士", "工程师", "技能", "培训", "工资", "社保", "公积金", "劳动", "仲裁", "工会", "党建", "政务",
    "办件", "窗口", "网上办", "一网通办", "电子证照", "数据目录", "接口", "开放数据", "数据质量", "元数据",
    "年度", "月度", "季度", "实时", "历史", "汇总", "明细", "名单", "名录", "台账", "清单", "报表", "指标", "排名",
)  # fmt: skip

USES = ("产业分析", "城市治理", "公共服务", "出行规划", "环境监测", "营商环境评估", "政策研究", "应用开发", "学术研究", "企业选址")
SYSTEMS = ("政务服务平台", "在线监测系统", "业务审批系统", "企业信用信息公示系统", "智慧停车平台", "城市大脑", "一网通办平台", "数据共享交换平台")
CYCLE_TEXT = {"realtime": "实时", "daily": "每日", "weekly": "每周", "monthly": "每月", "quarterly": "每季度", "half-yearly": "每半年", "yearly": "每年", "irregular": "不定期"}
PERIODS = ("年度", "月度", "季度", "实时", "")
SUFFIXES = ("数据", "信息", "统计", "名录", "台账", "")
FORMATS = {"spreadsheet": 45, "database": 15, "service": 15, "document": 14, "self-describing": 6, "image": 3, "media": 1, "other": 1}
EXTENSIONS = {"spreadsheet": ".xlsx", "database": ".csv", "service": ".json", "document": ".pdf", "self-describing": ".xml", "image": ".png", "media": ".mp4", "other": ".zip"}
SHARES = {"unconditional": 60, "conditional": 30, "none": 10}
OPENS = {"open": 55, "on-application": 25, "closed": 20}
CYCLES = {"realtime": 8, "daily": 12, "weekly": 6, "monthly": 30, "quarterly": 14, "half-yearly": 4, "yearly": 18, "irregular": 8}
STATUSES = {"published": 85, "draft": 10, "withdrawn": 5}


def _pick(rng: random.Random, weights: Mapping[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _some(rng: random.Random, words: Sequence[str], low: int, high: int) -> list[str]:
    return rng.sample(list(words), rng.randint(low, high))


def generate_catalog(count: int, seed: int) -> list[Document]:
    """`count` documents, the same for the same seed; a smaller catalog is the start of a larger."""
    rng = random.Random(seed)
    subjects = list(SUBJECTS)
    first_day, days = date(2018, 1, 1), (date(2026, 10, 31) - date(2018, 1, 1)).days
    documents = []
    for number in range(1, count + 1):
        subject = rng.choice(subjects)
        home, path, items, keywords = SUBJECTS[subject]
        department = home if rng.random() < 0.8 else rng.choice(list(DEPARTMENTS))
        dept_name = DEPARTMENTS[department]
        place = rng.choice(PLACES)
        prefix = rng.choice(("经开区", "合肥经开区", "经开区", f"{place}", f"{rng.randint(2018, 2026)}年经开区"))
        title = f"{prefix}{subject}{rng.choice(PERIODS)}{rng.choice(SUFFIXES)}"
        cycle = _pick(rng, CYCLES)
        chosen_items = _some(rng, items, min(3, len(items)), len(items))
        sentences = [
            f"本数据集由{dept_name}提供，包含{place}等区域{subject}的{'、'.join(chosen_items[:3])}等信息。",
            f"数据{CYCLE_TEXT[cycle]}更新，覆盖{'、'.join(_some(rng, PLACES, 2, 4))}等区域。",
            f"可用于{rng.choice(USES)}和{rng.choice(USES)}等场景。",
            f"数据来源于{rng.choice(SYSTEMS)}，经{dept_name}审核后发布。",
            f"{rng.randint(2018, 2026)}年共记录{rng.randint(12, 90000)}条{rng.choice(keywords)}记录，重点关注{'、'.join(_some(rng, WORDS, 2, 3))}。",
            f"涉及{'、'.join(_some(rng, WORDS, 2, 4))}等内容。",
        ]
        abstract = "".join([sentences[0], *rng.sample(sentences[1:], rng.randint(1, 3))])
        data_items = [*chosen_items, *_some(rng, ("序号", "备注", "更新时间", "数据来源", "所属社区", "联系人", "联系电话", "统一社会信用代码", "企业名称", "监测时间"), 1, 4)]
        data_items = list(dict.fromkeys(data_items))[: rng.randint(5, 15)]
        format_ = _pick(rng, FORMATS)
        files = [f"{subject}{rng.randint(2018, 2026)}{EXTENSIONS[format_]}", *(["数据字典.docx"] if rng.random() < 0.3 else [])]
        status = _pick(rng, STATUSES)
        kind = "department" if path.startswith("部门") else ("base" if path.startswith("基础") else "theme")
        if rng.random() < 0.15:
            kind, path = "department", f"部门/{dept_name}"
        documents.append(
            Document(
                id=number,
                title=title,
                tags=" ".join([*_some(rng, keywords, 1, 3), *_some(rng, WORDS, 0, 2), dept_name, path.replace("/", " ")]),
                body=" ".join([abstract, *data_items, *files]),
                department=department,
                classification=kind,
                format=format_,
                share=_pick(rng, SHARES),
                open=_pick(rng, OPENS),
                cycle=cycle,
                status=status,
                publish_date=None if status == "draft" else first_day + timedelta(days=rng.randrange(days)),
                downloads=min(int(rng.paretovariate(1.1) * 5) - 5, 1_000_000),
                name_key=name_key(title),
            )
        )
    return documents


# -- the query mix --------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchQuery:
    kind: str  # single, two, phrase, pinyin, exclusion
    text: str
    filters: dict[str, str]


def query_mix(count: int, seed: int) -> list[BenchQuery]:
    """`count` queries (made even), half of them with a department filter, the same for a seed."""
    rng = random.Random(seed * 7919 + 1)
    subject_words = sorted({w for _, _, _, keywords in SUBJECTS.values() for w in keywords})
    singles = [*subject_words, *PLACES, *WORDS[:120], "市场监管局", "环保局", "人社局", "公司", "停车场"]
    phrases = [*SUBJECTS, *(i for _, _, items, _ in SUBJECTS.values() for i in items if len(i) >= 4), "合肥经开区", "数据来源于"]
    pinyin = sorted({f for w in [*subject_words, *PLACES] for f in analysis.pinyin_forms(w)})
    kinds = {"single": 35, "two": 25, "phrase": 15, "pinyin": 15, "exclusion": 10}
    mix = []
    for _ in range((count + 1) // 2):
        kind = _pick(rng, kinds)
        if kind == "single":
            text = rng.choice(singles)
        elif kind == "two":
            text = f"{rng.choice(subject_words)} {rng.choice([*PLACES, *WORDS])}"
        elif kind == "phrase":
            text = f'"{rng.choice(phrases)}"' + (f" {rng.choice(WORDS)}" if rng.random() < 0.3 else "")
        elif kind == "pinyin":
            text = rng.choice(pinyin)
        else:
            text = f"{rng.choice(subject_words)} -{rng.choice(PLACES)}"
        department = rng.choice(list(DEPARTMENTS))
        mix.append(BenchQuery(kind, text, {}))
        mix.append(BenchQuery(kind, text, {"department": department}))
    return mix[:count]


# -- the SQLite FTS5 baseline ---------------------------------------------------------------

TEXT_COLUMNS = "{title tags body}"
# Tokens are pre-segmented and joined by spaces; unicode61 keeps CJK runs whole, and every ASCII
# punctuation mark but the double quote is made a token character, so only spaces split.
_TOKENCHARS = "".join(c for c in string.punctuation if c != '"').replace("'", "''''")


class Fts5Baseline:
    """The `Backend` protocol over one SQLite file: an FTS5 table of the segmented text (title,
    tags, body as `index_tokens`; pinyin of the title's and tags' words; the characters of title
    and body for phrases: the same fields as both backends) and an ordinary table of the values
    to filter, count and sort."""

    name = "fts5"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.executescript(
            f"""
            PRAGMA journal_mode=WAL;
            PRAGMA synchronous=NORMAL;
            CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(
                title, tags, body, pinyin, chars,
                tokenize = 'unicode61 remove_diacritics 0 tokenchars ''{_TOKENCHARS}'''
            );
            CREATE TABLE IF NOT EXISTS doc (
                id INTEGER PRIMARY KEY, department TEXT, classification TEXT, format TEXT,
                share TEXT, open TEXT, cycle TEXT, status TEXT, publish_date TEXT,
                downloads INTEGER, name_key TEXT
            );
            """
        )

    def exclusive(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    @staticmethod
    def _texts(d: Document) -> tuple[str, str, str, str, str]:
        title, tags, body = (analysis.index_tokens(t) for t in (d.title, d.tags, d.body))
        pinyin = [form for token in (*title, *tags) for form in analysis.pinyin_forms(token)]
        chars = analysis.char_tokens(f"{d.title} {d.body}")
        return " ".join(title), " ".join(tags), " ".join(body), " ".join(pinyin), " ".join(chars)

    def upsert(self, documents: Sequence[Document]) -> None:
        rows = [(d, self._texts(d)) for d in documents]
        with self._transaction():
            self._delete([d.id for d in documents])
            self.db.executemany("INSERT INTO fts(rowid, title, tags, body, pinyin, chars) VALUES (?, ?, ?, ?, ?, ?)", [(d.id, *t) for d, t in rows])
            self.db.executemany(
                "INSERT INTO doc VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(d.id, d.department, d.classification, d.format, d.share, d.open, d.cycle, d.status,
                  d.publish_date.isoformat() if d.publish_date else None, d.downloads, d.name_key) for d, _ in rows],
            )  # fmt: skip

    def delete(self, ids: Iterable[int]) -> None:
        with self._transaction():
            self._delete(list(ids))

    def _delete(self, ids: list[int]) -> None:
        self.db.executemany("DELETE FROM fts WHERE rowid = ?", [(i,) for i in ids])
        self.db.executemany("DELETE FROM doc WHERE id = ?", [(i,) for i in ids])

    def clear(self) -> None:
        with self._transaction():
            self.db.execute("DELETE FROM fts")
            self.db.execute("DELETE FROM doc")

    def ids(self) -> set[int]:
        return {i for (i,) in self.db.execute("SELECT id FROM doc")}

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def search(self, query: Query, *, scope: Scope, filters: Mapping[str, str], sort: str, offset: int, limit: int) -> Results:
        where, params = _visible(scope)
        for key, value in filters.items():
            if key in FACETS:
                where.append(f"doc.{key} = ?")
                params.append(value)
        condition = " AND ".join(where) or "1"
        newest = "doc.publish_date IS NULL, doc.publish_date DESC, doc.id DESC"
        order = {
            "relevance": newest if query.empty else "bm25(fts, 3.0, 2.0, 1.0, 1.0, 1.0), doc.id DESC",
            "newest": newest,
            "downloads": "doc.downloads DESC, doc.id DESC",
            "name": "doc.name_key, doc.id",
        }[sort]
        if query.empty:  # every visible entry (less the excluded words), as both backends do
            source, match = "doc", [excluded_expression(query.excluded)] if query.excluded else []
            matching = among = "doc.id NOT IN (SELECT rowid FROM fts WHERE fts MATCH ?)" if match else "1"
        else:
            source, matching, match = "fts JOIN doc ON doc.id = fts.rowid", "fts MATCH ?", [match_expression(query)]
            among = "doc.id IN (SELECT rowid FROM fts WHERE fts MATCH ?)"
        ids = [
            i
            for (i,) in self.db.execute(
                f"SELECT doc.id FROM {source} WHERE {matching} AND {condition} ORDER BY {order} LIMIT ? OFFSET ?",
                [*match, *params, limit, offset],
            )
        ]
        # the matches once, then one GROUP BY per facet over them
        counted = " UNION ALL ".join(f"SELECT '{f}', {f}, count(*) FROM m GROUP BY {f}" for f in FACETS)
        facets: dict[str, dict[str, int]] = {f: {} for f in FACETS}
        for facet, value, n in self.db.execute(
            f"WITH m AS MATERIALIZED (SELECT doc.* FROM doc WHERE {among} AND {condition}) {counted}", [*match, *params]
        ):
            facets[facet][value] = n
        return Results(ids, sum(facets["department"].values()), facets)

    def close(self) -> None:
        self.db.close()


def _visible(scope: Scope) -> tuple[list[str], list[str]]:
    """The viewer's scope as SQL on `doc`: `browse.visible_clause` again."""
    if scope.everything:
        return [], []
    ors = ["(doc.status = 'published' AND doc.open IN (%s))" % ", ".join(f"'{o}'" for o in OPEN_CATALOG)]
    params = []
    if scope.department is not None:
        ors.append("doc.department = ?")
        params.append(scope.department)
    if scope.shared:
        ors.append("(doc.status = 'published' AND doc.share != 'none')")
    if scope.published:
        ors.append("doc.status = 'published'")
    return [f"({' OR '.join(ors)})"], params


def _quoted(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def match_expression(query: Query) -> str:
    """A parsed query as FTS5 syntax: every term (any alternative, each alternative all of its
    tokens; or its pinyin) and every phrase (over the characters), none of the excluded words."""
    parts = []
    for term in query.terms:
        alternatives = [f"{TEXT_COLUMNS} : ({' AND '.join(_quoted(t) for t in alt)})" for alt in term.alternatives if alt]
        if term.pinyin:
            alternatives.append(f"pinyin : {_quoted(term.pinyin)}")
        parts.append(f"({' OR '.join(alternatives)})")
    for phrase in query.phrases:
        parts.append(f"chars : {_quoted(' '.join(phrase))}")
    expression = " AND ".join(parts)
    if query.excluded:
        expression = f"({expression}) NOT ({excluded_expression(query.excluded)})"
    return expression


def excluded_expression(excluded: Sequence[str]) -> str:
    return " OR ".join(f"{TEXT_COLUMNS} : {_quoted(t)}" for t in excluded)


# -- the backends under test ----------------------------------------------------------------


@dataclass
class Subject:
    """A backend made for one run: how to settle it after the build (untimed: what would happen
    on its own soon after a bulk load), measure its size, and remove it."""

    backend: object
    size_bytes: Callable[[], int]
    cleanup: Callable[[], None]
    settle: Callable[[], None] = lambda: None


def _directory_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def available(name: str, pg_url: str) -> str | None:
    """None if backend `name` can run here, else why not."""
    if name == "fts5":
        return None
    module = {"whoosh": "portal.search.whoosh_backend", "postgresql": "portal.search.pg_backend"}.get(name)
    if module is None:
        return f"unknown backend {name!r}"
    try:
        if importlib.util.find_spec(module) is None:
            return f"{module} does not exist yet"
    except ImportError as error:
        return f"{module}: {error}"
    if name == "postgresql":
        try:
            import sqlalchemy

            engine = sqlalchemy.create_engine(pg_url)
            with engine.connect() as connection:
                connection.execute(sqlalchemy.text("SELECT 1"))
            engine.dispose()
        except Exception as error:  # noqa: BLE001 - any failure means "not here"
            return f"PostgreSQL at {pg_url} is not reachable: {type(error).__name__}"
    return None


def open_backend(name: str, workdir: Path, pg_url: str) -> Subject:
    if name == "fts5":
        path = workdir / "fts5.sqlite3"
        fts = Fts5Baseline(path)

        def fts_size() -> int:
            return sum(p.stat().st_size for p in workdir.glob("fts5.sqlite3*"))

        def fts_cleanup() -> None:
            fts.close()
            for p in workdir.glob("fts5.sqlite3*"):
                p.unlink()

        return Subject(fts, fts_size, fts_cleanup, settle=lambda: fts.db.execute("PRAGMA wal_checkpoint(TRUNCATE)"))
    if name == "whoosh":
        from portal.search.whoosh_backend import WhooshBackend

        path = workdir / "whoosh"
        path.mkdir()
        return Subject(WhooshBackend(path), lambda: _directory_size(path), lambda: shutil.rmtree(path, ignore_errors=True))
    if name == "postgresql":
        import sqlalchemy

        from portal.search.pg_backend import PostgresBackend

        engine = sqlalchemy.create_engine(pg_url)
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text(f"CREATE SCHEMA IF NOT EXISTS {PG_SCHEMA}"))
            connection.execute(sqlalchemy.text(f"DROP TABLE IF EXISTS {PG_TABLE} CASCADE"))
        backend = PostgresBackend(engine, table=PG_TABLE)

        def pg_sql(statement: str) -> object:
            with engine.begin() as connection:
                result = connection.execute(sqlalchemy.text(statement))
                return result.scalar() if result.returns_rows else None

        def pg_cleanup() -> None:
            pg_sql(f"DROP TABLE IF EXISTS {PG_TABLE} CASCADE")
            with contextlib.suppress(sqlalchemy.exc.DBAPIError):  # someone else's objects in it: keep it
                pg_sql(f"DROP SCHEMA IF EXISTS {PG_SCHEMA}")
            engine.dispose()

        return Subject(
            backend,
            size_bytes=lambda: int(pg_sql(f"SELECT pg_total_relation_size('{PG_TABLE}')")),  # type: ignore[call-overload]
            cleanup=pg_cleanup,
            settle=lambda: pg_sql(f"ANALYZE {PG_TABLE}"),  # autovacuum's job soon after a bulk load
        )
    raise ValueError(f"unknown backend {name!r}")


# -- measuring ------------------------------------------------------------------------------


@dataclass
class Measurement:
    size: int
    backend: str
    entries: int = 0
    build_seconds: float = 0.0
    index_bytes: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    totals: list[int] = field(default_factory=list)
    facets: list[dict[str, dict[str, int]]] = field(default_factory=list)

    def figures(self, kinds: Sequence[str]) -> dict[str, object]:
        """The reported figures; `kinds` are the queries' kinds, in order, for p95 by kind."""
        lat = self.latencies_ms
        cuts = _percentiles(lat)
        by_kind = {k: [ms for ms, kind in zip(lat, kinds, strict=True) if kind == k] for k in dict.fromkeys(kinds)}
        return {
            "size": self.size,
            "backend": self.backend,
            "entries": self.entries,
            "build_seconds": round(self.build_seconds, 3),
            "build_per_s": round(self.entries / self.build_seconds, 1) if self.build_seconds else None,
            "index_bytes": self.index_bytes,
            "index_mb": round(self.index_bytes / 2**20, 2),
            "queries": len(lat),
            "p50_ms": round(cuts[49], 3),
            "p95_ms": round(cuts[94], 3),
            "mean_ms": round(statistics.fmean(lat), 3),
            "max_ms": round(max(lat), 3),
            "zero_hit_queries": sum(1 for t in self.totals if t == 0),
            "mean_total": round(statistics.fmean(self.totals), 1),
            "p95_ms_by_kind": {k: round(_percentiles(v)[94], 3) for k, v in by_kind.items()},
        }


def _percentiles(values: Sequence[float]) -> list[float]:
    """The 1st to 99th percentiles (interpolated, within the observed range)."""
    return statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else list(values) * 99


def measure(name: str, documents: Sequence[Document], queries: Sequence[tuple[BenchQuery, Query]], pg_url: str) -> Measurement:
    result = Measurement(size=len(documents), backend=name)
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        subject = open_backend(name, Path(tmp), pg_url)
        backend = subject.backend
        try:
            with backend.exclusive():  # type: ignore[attr-defined]
                backend.clear()  # type: ignore[attr-defined]
                analysis.pinyin_forms.cache_clear()  # every build starts as cold as the first one ran
                started = time.perf_counter()
                for start in range(0, len(documents), BATCH):
                    backend.upsert(documents[start : start + BATCH])  # type: ignore[attr-defined]
                if hasattr(backend, "optimize"):  # as `portal reindex` does after a rebuild; timed
                    backend.optimize()
                result.build_seconds = time.perf_counter() - started
            subject.settle()
            result.entries = len(backend.ids())  # type: ignore[attr-defined]
            result.index_bytes = subject.size_bytes()
            scope = Scope()
            for bench, parsed in queries[:WARMUP]:
                backend.search(parsed, scope=scope, filters=bench.filters, sort="relevance", offset=0, limit=TOP)  # type: ignore[attr-defined]
            for bench, parsed in queries:
                started = time.perf_counter()
                found = backend.search(parsed, scope=scope, filters=bench.filters, sort="relevance", offset=0, limit=TOP)  # type: ignore[attr-defined]
                result.latencies_ms.append((time.perf_counter() - started) * 1000)
                result.totals.append(found.total)
                result.facets.append({k: dict(v) for k, v in found.facets.items() if v})
        finally:
            subject.cleanup()
    return result


def disagreements(measurements: Sequence[Measurement], queries: Sequence[tuple[BenchQuery, Query]]) -> list[dict[str, object]]:
    """Queries whose totals (or, totals equal, facet counts) differ between the backends of one size."""
    found = []
    for i, (bench, _) in enumerate(queries):
        totals = {m.backend: m.totals[i] for m in measurements}
        if len(set(totals.values())) > 1:
            found.append({"query": bench.text, "filters": bench.filters, "totals": totals})
        elif any(m.facets[i] != measurements[0].facets[i] for m in measurements):
            found.append({"query": bench.text, "filters": bench.filters, "totals": totals, "facets": {m.backend: m.facets[i] for m in measurements}})
    return found


def targets_met(figures: Sequence[dict[str, object]]) -> list[dict[str, object]]:
    checks = []
    for row in figures:
        target = TARGETS.get(row["size"])  # type: ignore[arg-type]
        if target is None or row["backend"] == "fts5":
            continue
        check: dict[str, object] = {"size": row["size"], "backend": row["backend"], **{f"target_{k}": v for k, v in target.items()}}
        met = row["p95_ms"] <= target["p95_ms"]  # type: ignore[operator]
        if "build_per_s" in target:
            met = met and (row["build_per_s"] or 0) >= target["build_per_s"]  # type: ignore[operator]
        check["met"] = met
        checks.append(check)
    return checks


# -- the command ----------------------------------------------------------------------------


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000", help="catalog sizes, comma-separated (default: 10000,100000)")
    parser.add_argument("--queries", type=int, default=240, help="queries per backend and size (default: 240)")
    parser.add_argument("--backends", default="whoosh,postgresql,fts5", help="comma-separated: whoosh, postgresql, fts5")
    parser.add_argument("--pg-url", default=None, help=f"PostgreSQL URL (default: PORTAL_DATABASE_URL if PostgreSQL, else {DEFAULT_PG_URL})")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--seed", type=int, default=1, help="seed of the catalog and the queries (default: 1)")
    arguments = parser.parse_args(argv)
    arguments.sizes = [int(s.replace("_", "")) for s in arguments.sizes.split(",") if s.strip()]
    arguments.backends = [b.strip() for b in arguments.backends.split(",") if b.strip()]
    if arguments.pg_url is None:
        env = os.environ.get("PORTAL_DATABASE_URL", "")
        arguments.pg_url = env if env.startswith("postgresql") else DEFAULT_PG_URL
    if arguments.queries < 2 or not arguments.sizes or min(arguments.sizes) < 1:
        parser.error("need at least 2 queries and sizes of at least 1")
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_arguments(argv)
    if __name__ == "__main__":  # a stopped run still removes its index files and table
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    skipped = {name: why for name in args.backends if (why := available(name, args.pg_url))}
    for name, why in skipped.items():
        log(f"skipping {name}: {why}")
    backends = [name for name in args.backends if name not in skipped]

    started = time.perf_counter()
    documents = generate_catalog(max(args.sizes), args.seed)
    log(f"generated {len(documents):,} documents in {time.perf_counter() - started:.1f} s")
    synonyms = analysis.load_synonyms(str(analysis.DEFAULT_SYNONYMS))
    mix = query_mix(args.queries, args.seed)
    analysis.query_tokens("经开区")  # loads jieba and the zone dictionary (a second or two), untimed
    started = time.perf_counter()
    queries = [(q, analysis.parse_query(q.text, synonyms=synonyms)) for q in mix]
    parse_ms = (time.perf_counter() - started) * 1000 / len(queries)

    figures, agreement, warnings = [], [], []
    for size in args.sizes:
        measured = []
        for name in backends:
            log(f"{name}, {size:,} entries: building ...")
            m = measure(name, documents[:size], queries, args.pg_url)
            measured.append(m)
            row = m.figures([q.kind for q, _ in queries])
            log(f"{name}, {size:,} entries: {row['build_seconds']} s to build ({row['build_per_s']}/s), {row['index_mb']} MB, p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms")
            figures.append(row)
        base = next((r for r in figures if r["size"] == size and r["backend"] == "fts5"), None)
        for row in figures:
            if row["size"] == size:
                row["p95_ratio_to_fts5"] = round(row["p95_ms"] / base["p95_ms"], 2) if base and base["p95_ms"] else None  # type: ignore[operator]
        differ = disagreements(measured, queries) if len(measured) > 1 else []
        agreement.append({"size": size, "backends": [m.backend for m in measured], "queries_compared": len(queries) if len(measured) > 1 else 0, "disagreements": differ})
        for d in differ[:10]:
            what = "facet counts" if "facets" in d else "totals"
            warnings.append(f"WARNING: {what} differ at {size:,} entries for {d['query']!r} {d['filters'] or ''}: {d.get('facets', d['totals'])}")
        if len(differ) > 10:
            warnings.append(f"WARNING: ... and {len(differ) - 10} more queries whose totals differ at {size:,} entries")

    checks = targets_met(figures)
    report = {
        "parameters": {
            "sizes": args.sizes,
            "seed": args.seed,
            "queries": len(queries),
            "query_kinds": {k: sum(1 for q in mix if q.kind == k) for k in dict.fromkeys(q.kind for q in mix)},
            "backends": backends,
            "skipped": skipped,
            "batch": BATCH,
            "limit": TOP,
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "platform": platform.platform(),
        },
        "parse_ms_mean": round(parse_ms, 3),
        "results": figures,
        "agreement": agreement,
        "totals_agree": all(not a["disagreements"] for a in agreement),
        "targets": checks,
    }
    for line in warnings:
        log(line)
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        print_table(report)
    return 0


def print_table(report: dict) -> None:  # type: ignore[type-arg]
    p = report["parameters"]
    print(f"Search benchmark: seed {p['seed']}, {p['queries']} queries {p['query_kinds']}, {p['cores']} cores, Python {p['python']}, SQLite {p['sqlite']}")
    print(f"query parsing (same for every backend, not in the latencies): {report['parse_ms_mean']} ms mean")
    header = f"{'size':>9}  {'backend':<11}{'build/s':>9}{'index MB':>10}{'p50 ms':>9}{'p95 ms':>9}{'mean ms':>9}{'p95/FTS5':>10}"
    print(header)
    print("-" * len(header))
    for r in report["results"]:
        ratio = "" if r.get("p95_ratio_to_fts5") is None else f"{r['p95_ratio_to_fts5']:.2f}"
        print(f"{r['size']:>9,}  {r['backend']:<11}{r['build_per_s'] or 0:>9,.0f}{r['index_mb']:>10.1f}{r['p50_ms']:>9.2f}{r['p95_ms']:>9.2f}{r['mean_ms']:>9.2f}{ratio:>10}")
    for a in report["agreement"]:
        if a["queries_compared"]:
            state = "agree" if not a["disagreements"] else f"DIFFER on {len(a['disagreements'])} queries"
            print(f"totals and facet counts at {a['size']:,} entries ({', '.join(a['backends'])}): {state} ({a['queries_compared']} queries compared)")
    note = "" if p["cores"] == 2 else f" (this machine has {p['cores']} cores)"
    print(f"2-core targets{note}: 10,000 entries p95 <= 30 ms; 100,000 entries p95 <= 150 ms and build >= 1,000 entries/s")
    for c in report["targets"]:
        print(f"  {c['size']:>9,}  {c['backend']:<11}{'met' if c['met'] else 'NOT met'}")
    if not report["targets"]:
        print("  (no backend under test ran at 10,000 or 100,000 entries)")
    for name, why in p["skipped"].items():
        print(f"skipped {name}: {why}")


if __name__ == "__main__":
    sys.exit(main())
