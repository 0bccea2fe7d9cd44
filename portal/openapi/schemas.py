"""The component schemas of `/api/v1`, as data: the limits and error codes they state, small
builders for JSON Schema 2020-12 (as OpenAPI 3.1 uses it), and `SCHEMAS`, every response and
request body by name. Enumerations and length limits are read from the domain modules
(`data_requests`, `error_reports`, `workdays`), never copied.
"""

from __future__ import annotations

from typing import Any

from .. import data_requests as dr
from .. import error_reports as er
from ..work import TASK_KINDS
from ..workdays import CLOCK_KINDS, RULES

MAX_ID = 2_147_483_647  # ids are 32-bit integers in every database the portal runs on
TEXT_LIMIT = 2000  # notes, purposes, reasons: as the request page's forms
ERROR_CODES = {
    "bad_request": "请求不符合本文档（参数、JSON 请求体或字段类型有误）",
    "invalid": "请求符合本文档，但业务规则不接受（如用途过短、信息项不存在），见 fields",
    "unauthorized": "需要有效的 API 密钥",
    "forbidden": "无权执行该操作（如写操作使用了只读密钥或浏览器会话）",
    "not_found": "没有找到，或无权查看（不区分两者，以免泄露其存在）",
    "conflict": "状态已变化（如重复提交、他人已处理），请重新获取后再操作",
    "method_not_allowed": "不支持该请求方式",
    "too_many_requests": "超过调用配额",
    "internal_error": "服务器内部错误",
}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` or null (JSON Schema 2020-12, as OpenAPI 3.1 uses it)."""
    kind = schema["type"]
    return {**schema, "type": [kind, "null"]}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def string(description: str, **more: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **more}


def integer(description: str, **more: Any) -> dict[str, Any]:
    return {"type": "integer", "description": description, **more}


def boolean(description: str) -> dict[str, Any]:
    return {"type": "boolean", "description": description}


def date_(description: str) -> dict[str, Any]:
    return {"type": "string", "format": "date", "description": description}


def datetime_(description: str) -> dict[str, Any]:
    return {"type": "string", "format": "date-time", "description": description}


def strings(description: str, **more: Any) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string"}, "description": description, **more}


def obj(description: str, properties: dict[str, Any], *, optional: tuple[str, ...] = (), example: Any = None) -> dict[str, Any]:
    """A closed object whose properties are all required except `optional`."""
    schema: dict[str, Any] = {
        "type": "object", "description": description, "additionalProperties": False,
        "required": [name for name in properties if name not in optional], "properties": properties,
    }
    if example is not None:
        schema["example"] = example
    return schema


def body(description: str, properties: dict[str, Any], *, required: tuple[str, ...] = (), example: Any = None) -> dict[str, Any]:
    """A request body: a closed object; fields not listed in `required` may be left out."""
    schema: dict[str, Any] = {"type": "object", "description": description, "additionalProperties": False, "properties": properties}
    if required:
        schema["required"] = list(required)
    if example is not None:
        schema["example"] = example
    return schema


def page(item: str, description: str) -> dict[str, Any]:
    return obj(description, {
        "items": {"type": "array", "items": ref(item), "description": "本页的条目，最新的在前"},
        "next_cursor": nullable(string("下一页的游标，作为 cursor 参数传入；没有下一页时为 null")),
    })


def _labels(choices: dict[str, str]) -> str:
    return "；".join(f"`{key}` {label}" for key, label in choices.items())


# -- component schemas ---------------------------------------------------------------------

ITEM_NAMES = strings("信息项的字段名（name），须为该数据资源的信息项", maxItems=500)
ITEM_NAMES["items"] = {"type": "string", "maxLength": 100}

ENTRY_REF = obj("申请或校核所涉及的数据资源", {
    "slug": string("数据资源的标识，见数据资源页面地址 /catalog/{slug}"),
    "title": string("数据资源名称"),
    "department": string("提供部门"),
})

CLOCK = obj("法定时限的当前状态（期限起算日当天不计）", {
    "kind": string("时限种类", enum=list(CLOCK_KINDS)),
    "label": string("时限名称"),
    "article": string("依据条款（《合肥经济技术开发区政务数据资源共享开放管理暂行办法》）"),
    "limit_days": integer("期限天数"),
    "rule": string("计算方式：" + _labels(RULES), enum=list(RULES)),
    "start": date_("起算日（不计入期限）"),
    "due": nullable(date_("到期日；补正期间时限暂停且尚不能确定到期日时为 null")),
    "days_left": nullable(integer("距到期日剩余的工作日数，已超期时为负数；到期日未定时为 null")),
    "paused": boolean("是否因要求补正说明而暂停"),
    "overdue": boolean("是否已超期"),
    "provisional": boolean("到期日是否为暂定（所涉年度的国务院节假日安排尚未公布）"),
    "summary": string("一句话的状态，如“剩余 3 个工作日”"),
})

EVENT = obj("办理过程中的一步", {
    "at": datetime_("时间（UTC）"),
    "actor": string("办理人"),
    "action": string("操作：submit（提交申请）或各项办理操作", enum=["submit", *dr.TRANSITIONS]),
    "from_state": string("原状态（提交时为空）"),
    "to_state": string("新状态", enum=list(dr.STATES)),
    "note": string("说明、理由或用途"),
})

GRANT = obj("授权：同意的申请允许获取的信息项、范围、用途和期限（第二十二条）", {
    "code": string("授权编号，印在按授权提供的每个文件上"),
    "request_id": integer("来源申请的编号"),
    "kind": string("申请种类：" + _labels(dr.KINDS), enum=list(dr.KINDS)),
    "entry": ref("EntryRef"),
    "grantee": string("被授权方：共享申请为申请部门，开放申请为申请人"),
    "items": strings("授权的信息项"),
    "scope": string("授权范围"),
    "purpose": string("授权用途"),
    "expires_on": date_("授权截止日期（含当日）"),
    "created_at": datetime_("授权时间（UTC）"),
    "active": boolean("今天是否有效（申请已同意且未过截止日期）"),
})

_REQUEST_SUMMARY = {
    "id": integer("申请编号"),
    "kind": string("申请种类：" + _labels(dr.KINDS), enum=list(dr.KINDS)),
    "kind_label": string("申请种类的中文名称"),
    "state": string("状态：" + _labels(dr.STATES), enum=list(dr.STATES)),
    "state_label": string("状态的中文名称"),
    "entry": ref("EntryRef"),
    "requester": string("申请人"),
    "requester_department": nullable(string("申请部门（共享申请）")),
    "submitted_at": datetime_("提交时间（UTC）"),
    "due": nullable(date_("当前时限的到期日：受理前为受理时限，受理后为答复时限；已办结或到期日未定时为 null")),
    "overdue": boolean("当前时限是否已超期"),
}
REQUEST_SUMMARY = obj("申请（列表中的概要）", _REQUEST_SUMMARY)
REQUEST = obj("共享申请（第十四条）或开放申请（第十八条）及其时限、办理过程和授权", {
    **_REQUEST_SUMMARY,
    "items": strings("申请的信息项"),
    "purpose": string("数据用途"),
    "duty": string("履职事项和依据（共享申请）"),
    "period_from": nullable(date_("使用期限的开始日期")),
    "period_to": nullable(date_("使用期限的结束日期")),
    "accepted_on": nullable(date_("受理日（答复时限的起算日）")),
    "decided_at": nullable(datetime_("作出决定的时间（UTC）")),
    "reason": string("不同意或退回的理由"),
    "basis": string("不同意的依据"),
    "clock_rule": string("答复时限的计算方式（提交时有效的规则）", enum=list(RULES)),
    "version": integer("版本号：每次办理加一"),
    "clock": {"anyOf": [ref("Clock"), {"type": "null"}], "description": "当前时限；已办结时为 null"},
    "actions": {"type": "array", "items": {"type": "string", "enum": list(dr.TRANSITIONS)},
                "description": "调用方的角色现在可以执行的办理操作（通过 API 执行需要具有写入权限的密钥）"},
    "events": {"type": "array", "items": ref("Event"), "description": "办理过程，按时间先后"},
    "grant": {"anyOf": [ref("Grant"), {"type": "null"}], "description": "同意后的授权；未同意时为 null"},
})

REPORT = obj("数据校核（第十条）：对目录信息或数据内容的疑义或错误，及提供部门的答复", {
    "id": integer("校核编号"),
    "entry": ref("EntryRef"),
    "subject": string("涉及：" + _labels(er.SUBJECTS), enum=list(er.SUBJECTS)),
    "subject_label": string("涉及内容的中文名称"),
    "state": string("状态：" + _labels(er.STATES), enum=list(er.STATES)),
    "state_label": string("状态的中文名称"),
    "reporter_name": string("公开显示的署名；匿名时为空"),
    "file": {"anyOf": [obj("所涉数据文件", {"id": integer("文件编号"), "name": string("文件名称")}), {"type": "null"}],
             "description": "所涉数据文件；未指明时为 null"},
    "location": string("具体位置（行、列或字段）"),
    "description": string("疑义或错误的内容"),
    "received_at": datetime_("收到时间（UTC）"),
    "received_on": date_("收到之日（答复时限的起算日，北京时间）"),
    "clock": {"anyOf": [ref("Clock"), {"type": "null"}], "description": "答复时限（5个工作日）；已答复时为 null"},
    "answer": string("提供部门的答复；未答复时为空"),
    "answered_at": nullable(datetime_("答复时间（UTC）")),
    "answered_in_time": nullable(boolean("是否在时限内答复；未答复时为 null")),
    "answering_department": string("负责答复的提供部门"),
    "corrected_version": nullable(integer("答复“已更正”时，完成更正的数据资源版本号")),
    "contact": string("反馈人的联系方式：仅提供部门和区数据资源局可见，其他调用方的结果中没有该字段"),
    "answered_by": nullable(string("答复人：仅提供部门和区数据资源局可见")),
}, optional=("contact", "answered_by"))

TASK = obj("一项待办：等待调用方办理的申请、校核、目录调整、开放属性审查、开放计划或数据安全事件", {
    "kind": string("待办种类：" + _labels(TASK_KINDS), enum=list(TASK_KINDS)),
    "kind_label": string("待办种类的中文名称"),
    "id": integer("该事项的编号"),
    "title": string("所涉数据资源的名称；开放计划为部门和计划名称，数据安全事件为部门和事件类型"),
    "state": string("当前状态"),
    "waiting_for": string("等待办理的事项，如受理、答复、补正说明"),
    "entry": nullable(string("所涉数据资源的标识")),
    "due": nullable(date_("到期日")),
    "days_left": nullable(integer("剩余工作日数，已超期时为负数")),
    "overdue": boolean("是否已超期"),
    "paused": boolean("时限是否暂停"),
    "provisional": boolean("到期日是否为暂定"),
    "flags": strings("提示，如“超过2个工作日未受理”"),
    "url": string("办理该事项的页面地址"),
    "api_url": nullable(string("该事项在本 API 中的地址（申请和校核）；其他事项为 null")),
})

KEY_USAGE = obj("一个 API 密钥按日的用量（北京时间的自然日，没有调用的日子为 0）", {
    "key_id": integer("密钥编号"),
    "name": string("密钥名称"),
    "prefix": string("密钥的前几个字符，用于辨认"),
    "scopes": strings("权限范围：read 读取，write 写入（仅部门）"),
    "revoked": boolean("是否已吊销"),
    "calls": integer("期间内的调用次数合计"),
    "bytes": integer("期间内返回的字节数合计"),
    "daily": {"type": "array", "description": "按日的用量，较早的在前", "items": obj("一日的用量", {
        "date": date_("日期"), "calls": integer("调用次数"), "bytes": integer("返回的字节数"),
    })},
})

DUE = obj("N 日期限的到期日", {
    "start": date_("起算日（不计入期限）"),
    "days": integer("期限天数"),
    "rule": string("计算方式：" + _labels(RULES), enum=list(RULES)),
    "rule_label": string("计算方式的中文说明"),
    "due": date_("到期日"),
    "provisional": boolean("是否为暂定：所涉年度的国务院节假日安排尚未公布，只计周末和法定节假日"),
}, example={"start": "2026-09-28", "days": 10, "rule": "workdays", "rule_label": "工作日", "due": "2026-10-16", "provisional": False})

CLOCK_KIND = obj("一种法定时限及现行的计算方式", {
    "key": string("时限种类", enum=list(CLOCK_KINDS)),
    "label": string("时限名称"),
    "limit_days": integer("期限天数"),
    "rule": string("现行计算方式", enum=list(RULES)),
    "limit_label": string("期限的中文说明，如“10个工作日”"),
    "article": string("依据条款"),
    "starts": string("起算日"),
    "basis_text": string("条款原文（节选）"),
})

ERROR = obj("错误", {"error": obj("错误详情", {
    "status": integer("HTTP 状态码"),
    "code": string("错误代码：" + _labels(ERROR_CODES), enum=list(ERROR_CODES)),
    "message": string("中文说明，可直接展示给用户"),
    "fields": {"type": "object", "additionalProperties": {"type": "string"},
               "description": "逐字段的中文说明；键为字段名或参数名，空字符串表示整体"},
})}, example={"error": {"status": 400, "code": "invalid", "message": "请说明数据用途", "fields": {"purpose": "请说明数据用途"}}})

NOTE = body("说明", {"note": string("说明（至少4个字；答复补正至少2个字）", maxLength=TEXT_LIMIT)}, required=("note",),
            example={"note": "请补充说明数据使用的具体范围"})
GRANT_FIELDS = {
    "expires_on": date_("授权截止日期，不早于今天"),
    "items": {**ITEM_NAMES, "description": "授权的信息项，须在申请的信息项之内；省略时为申请的全部信息项"},
    "scope": string("授权范围", maxLength=TEXT_LIMIT),
    "purpose": string("授权用途；省略时沿用申请的用途", maxLength=TEXT_LIMIT),
}

ANSWERS = obj("所选年度答复或完成的事项及其中按时的", {
    "answered": integer("答复或完成的件数"),
    "on_time": integer("其中不晚于到期日的件数"),
    "rate": nullable(integer("按时的百分比（向下取整）；没有答复时为 null")),
})

DEPARTMENT_SUPERVISION = obj("一个部门的督查情况（第二十四条）", {
    "department": string("部门名称"),
    "department_code": string("部门的统一社会信用代码"),
    "published": integer("已发布的目录条目数"),
    "without_files": {"type": "array", "items": ref("EntryRef"), "description": "已发布但没有数据文件的目录条目"},
    "stale": {"type": "array", "description": "数据未按更新周期更新的目录条目，超期最久的在前", "items": obj("一个数据超期未更新的目录条目", {
        "entry": ref("EntryRef"),
        "update_cycle": string("更新周期"),
        "last_update": date_("数据最近一次更新的日期（尚无文件时为条目创建日期）"),
        "days_late": integer("超过更新周期允许天数的天数"),
    })},
    "requests": ref("Answers"),
    "reports": ref("Answers"),
    "adjustments": ref("Answers"),
    "overdue_now": integer("当前已超期的待办事项数"),
})

SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": ERROR,
    "EntryRef": ENTRY_REF,
    "Clock": CLOCK,
    "Event": EVENT,
    "Grant": GRANT,
    "RequestSummary": REQUEST_SUMMARY,
    "Request": REQUEST,
    "Report": REPORT,
    "Task": TASK,
    "KeyUsage": KEY_USAGE,
    "Due": DUE,
    "ClockKind": CLOCK_KIND,
    "RequestPage": page("RequestSummary", "一页申请"),
    "GrantPage": page("Grant", "一页授权"),
    "ReportPage": page("Report", "一页数据校核"),
    "TaskList": obj("我的待办，最先到期的在前", {"items": {"type": "array", "items": ref("Task")}}),
    "UsageList": obj("调用方各密钥的用量", {
        "days": integer("统计的天数（截至今天）"), "items": {"type": "array", "items": ref("KeyUsage")},
    }),
    "ClockKindList": obj("现行的各种法定时限", {"items": {"type": "array", "items": ref("ClockKind")}}),
    "Answers": ANSWERS,
    "DepartmentSupervision": DEPARTMENT_SUPERVISION,
    "SupervisionList": obj("调用方可以查看的各部门督查情况，按部门名称排列", {
        "year": integer("答复统计年度"), "today": date_("计算日期"), "items": {"type": "array", "items": ref("DepartmentSupervision")},
    }),
    # request bodies
    "NewRequest": body("提出共享申请或开放申请", {
        "entry": string("数据资源的标识（slug）", maxLength=100),
        "kind": string("申请种类：" + _labels(dr.KINDS) + "。共享申请由其他部门的工作人员对有条件共享的资源提出；"
                       "开放申请由公众对依申请开放的资源提出", enum=list(dr.KINDS)),
        "items": {**ITEM_NAMES, "description": "申请的信息项；省略时为全部信息项"},
        "purpose": string("数据用途（至少4个字）", maxLength=TEXT_LIMIT),
        "duty": string("履职事项和依据（共享申请必填）", maxLength=TEXT_LIMIT),
        "period_from": nullable(date_("使用期限的开始日期")),
        "period_to": nullable(date_("使用期限的结束日期，不早于开始日期")),
    }, required=("entry", "kind", "purpose"), example={
        "entry": "air-quality-hourly", "kind": "share", "items": ["station", "aqi"], "purpose": "核验辖区空气质量数据",
        "duty": "《中华人民共和国大气污染防治法》第五条", "period_from": "2026-12-01", "period_to": "2027-11-30",
    }),
    "NewReport": body("提交数据校核（可匿名）", {
        "subject": string("涉及：" + _labels(er.SUBJECTS), enum=list(er.SUBJECTS)),
        "description": string(f"疑义或错误的内容（至少{er.DESCRIPTION_LENGTH[0]}个字）", maxLength=er.DESCRIPTION_LENGTH[1]),
        "reporter_name": string("公开显示的署名，可留空", maxLength=er.NAME_LENGTH),
        "contact": string("联系方式，仅提供部门可见", maxLength=er.CONTACT_LENGTH),
        "file_id": nullable(integer("所涉数据文件的编号", minimum=1, maximum=MAX_ID)),
        "location": string("具体位置（行、列或字段）", maxLength=er.LOCATION_LENGTH),
    }, required=("subject", "description"), example={
        "subject": "data", "description": "第12行的空气质量指数为负数，应为录入错误", "reporter_name": "王先生",
        "contact": "wang@example.com", "location": "第12行 aqi",
    }),
    "Answer": body("答复数据校核", {
        "outcome": string("结果：corrected 已更正，explained 予以说明", enum=list(er.OUTCOMES)),
        "answer": string(f"答复内容（至少{er.ANSWER_LENGTH[0]}个字）", maxLength=er.ANSWER_LENGTH[1]),
        "corrected_version": nullable(integer("完成更正的数据资源版本号（收到校核后记录的版本）；省略时为最新版本", minimum=0, maximum=MAX_ID)),
    }, required=("outcome", "answer"), example={"outcome": "corrected", "answer": "已更正第12行的数据并重新发布"}),
    "Empty": body("无需请求体（可省略，或为空对象）", {}, example={}),
    "Note": NOTE,
    "Approval": body("同意，并给出授权", GRANT_FIELDS, required=("expires_on",),
                     example={"expires_on": "2027-11-30", "items": ["station"], "scope": "仅限本局内部使用"}),
    "Refusal": body("不同意：理由和依据均须说明（第十四条、第十八条）", {
        "reason": string("不同意的理由（至少4个字）", maxLength=TEXT_LIMIT),
        "basis": string("不同意的依据（至少4个字）", maxLength=TEXT_LIMIT),
    }, required=("reason", "basis"), example={"reason": "申请用途与履职事项无关", "basis": "《暂行办法》第十四条"}),
    "Order": body("协调同意共享：协调意见和授权", {"note": NOTE["properties"]["note"], **GRANT_FIELDS},
                  required=("note", "expires_on"), example={"note": "经协调，同意共享", "expires_on": "2027-11-30"}),
}
