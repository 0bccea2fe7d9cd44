"""The operations of `/api/v1`, as data: who may call each (`ACCESS_LABELS`), its path, parameters,
body, success response and the errors it may answer with (`Operation`), and the tags that group
them. `BY_ID` is how the views and `api_v1` look an operation up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import data_requests as dr
from ..entry_input import SLUG as SLUG_PATTERN
from ..supervision import FIRST_YEAR
from .schemas import MAX_ID

PREFIX = "/api/v1"
MAX_LIMIT = 100  # items per page
DEFAULT_LIMIT = 20
MAX_DUE_DAYS = 366
MAX_USAGE_DAYS = 366


# Who may call an operation: anyone (a key is optional), any identified caller (a key, or a
# signed-in browser session for reads), a key with the write scope, or anyone but a browser
# session (error reports: anonymous like the page, or with any key).
PUBLIC, LOGIN, WRITE, REPORTER, STAFF = "public", "login", "write", "reporter", "staff"
ACCESS_LABELS = {
    PUBLIC: "公开：无需密钥（提供密钥时按密钥持有人的权限）",
    LOGIN: "需要 API 密钥（或已登录的浏览器会话，只读）",
    WRITE: "需要具有写入权限（write）的部门 API 密钥；浏览器会话和只读密钥返回 403",
    REPORTER: "可匿名；也可使用 API 密钥（以密钥持有人名义提交）；仅有浏览器会话时返回 403",
    STAFF: "需要区数据资源局、审计员或部门工作人员的 API 密钥（或已登录的浏览器会话，只读）；其他调用方返回 403",
}


@dataclass(frozen=True)
class Operation:
    id: str  # operationId, and the key the views look the operation up by
    method: str
    path: str
    tag: str
    summary: str
    description: str
    access: str
    result: str  # component schema of the success response
    status: int = 200
    params: tuple[dict[str, Any], ...] = ()
    body: str | None = None  # component schema of the JSON body
    body_required: bool = True
    lookup: bool = False  # finds something by id or slug: 404
    conflict: bool = False  # a compare-and-set: 409

    @property
    def errors(self) -> tuple[int, ...]:
        codes = [400] if self.params or self.body else []
        codes.append(401)
        if self.access in (WRITE, REPORTER, STAFF):
            codes.append(403)
        if self.lookup:
            codes.append(404)
        if self.conflict:
            codes.append(409)
        codes.append(429)
        return tuple(codes)


def query(name: str, schema: dict[str, Any], description: str, *, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}


def path_param(name: str, schema: dict[str, Any], description: str, example: Any) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description, "schema": schema, "example": example}


CURSOR = query("cursor", {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}, "上一页返回的 next_cursor；第一页省略")
LIMIT = query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
              f"每页条数，1–{MAX_LIMIT}，默认 {DEFAULT_LIMIT}")
ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
REQUEST_ID = path_param("id", ID, "申请编号", 1)
REPORT_ID = path_param("id", ID, "校核编号", 1)
SLUG = path_param("slug", {"type": "string", "pattern": f"^{SLUG_PATTERN.pattern}$"}, "数据资源的标识", "air-quality-hourly")

_BY = {dr.PROVIDER: "提供部门（数据提供员、部门管理员）", dr.REQUESTER: "申请人", dr.BUREAU: "区数据资源局"}
TRANSITION_BODIES = {
    "accept": "Empty", "return": "Note", "clarify": "Note", "reply": "Note", "approve": "Approval",
    "refuse": "Refusal", "escalate": "Note", "uphold": "Note", "order": "Order",
}


def _transition(action: str) -> Operation:
    t = dr.TRANSITIONS[action]
    sources = "、".join(f"{dr.STATES[s]}（{s}）" for s in t.sources)
    return Operation(
        id=f"request_{action}", method="post", path=f"{PREFIX}/requests/{{id}}/{action}", tag="申请",
        summary=f"{t.label}（{action}）",
        description=(
            f"由{_BY[t.by]}执行：申请须处于{sources}，执行后为{dr.STATES[t.target]}（{t.target}）。"
            "状态已变化（如重复点击、他人已处理）时返回 409，不作任何改动。返回办理后的申请。"
            + ("仅适用于共享申请。" if action == "escalate" else "")
        ),
        access=WRITE, result="Request", params=(REQUEST_ID,), body=TRANSITION_BODIES[action],
        body_required=TRANSITION_BODIES[action] != "Empty", lookup=True, conflict=True,
    )


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        id="list_requests", method="get", path=f"{PREFIX}/requests", tag="申请", summary="我的申请",
        description="调用方提出的申请，以及等待调用方办理的申请（提供部门的数据提供员和部门管理员看到本部门资源的申请；"
                    "区数据资源局和审计员看到全部申请）。最新的在前，按游标分页。",
        access=LOGIN, result="RequestPage",
        params=(CURSOR, LIMIT, query("state", {"type": "string", "enum": list(dr.STATES)}, "只列出该状态的申请"),
                query("kind", {"type": "string", "enum": list(dr.KINDS)}, "只列出该种类的申请")),
    ),
    Operation(
        id="create_request", method="post", path=f"{PREFIX}/requests", tag="申请", summary="提出申请",
        description="提出共享申请（第十四条）或开放申请（第十八条）。提交后状态为待受理，受理时限开始计算。"
                    "资源不存在或调用方无权查看时返回 404；调用方不能提出该种申请时返回 403。",
        access=WRITE, result="Request", status=201, body="NewRequest", lookup=True,
    ),
    Operation(
        id="get_request", method="get", path=f"{PREFIX}/requests/{{id}}", tag="申请", summary="申请详情",
        description="申请及其时限（依据条款、起算日、到期日、剩余工作日、是否暂停、是否超期、是否暂定）、办理过程和授权。"
                    "只有申请人、提供部门、区数据资源局和审计员可以查看，其他调用方得到 404。",
        access=LOGIN, result="Request", params=(REQUEST_ID,), lookup=True,
    ),
    *(_transition(action) for action in dr.TRANSITIONS),
    Operation(
        id="list_grants", method="get", path=f"{PREFIX}/grants", tag="授权", summary="我的授权",
        description="今天有效的授权：授予调用方本人的（开放申请），以及授予调用方所在部门的（共享申请）。最新的在前，按游标分页。",
        access=LOGIN, result="GrantPage", params=(CURSOR, LIMIT),
    ),
    Operation(
        id="list_entry_reports", method="get", path=f"{PREFIX}/entries/{{slug}}/reports", tag="数据校核",
        summary="数据资源的校核",
        description="一个数据资源收到的全部校核及答复，与数据资源页面一样公开：能看到该资源的调用方都能看到。最新的在前，按游标分页。",
        access=PUBLIC, result="ReportPage", params=(SLUG, CURSOR, LIMIT), lookup=True,
    ),
    Operation(
        id="create_report", method="post", path=f"{PREFIX}/entries/{{slug}}/reports", tag="数据校核",
        summary="提交校核",
        description="对目录信息或数据内容提出疑义或指出错误（第十条）。提供部门自收到之日起5个工作日内答复。"
                    "与页面一样可匿名提交；联系方式只有提供部门可见。",
        access=REPORTER, result="Report", status=201, params=(SLUG,), body="NewReport", lookup=True,
    ),
    Operation(
        id="get_report", method="get", path=f"{PREFIX}/reports/{{id}}", tag="数据校核", summary="校核详情",
        description="校核、答复时限和答复；能看到该数据资源的调用方都能看到。",
        access=PUBLIC, result="Report", params=(REPORT_ID,), lookup=True,
    ),
    Operation(
        id="answer_report", method="post", path=f"{PREFIX}/reports/{{id}}/answer", tag="数据校核", summary="答复校核",
        description="提供部门（数据提供员、部门管理员）或区数据资源局答复一次：已更正（指明收到校核后记录的、完成更正的版本）"
                    "或予以说明。再次答复返回 409。",
        access=WRITE, result="Report", params=(REPORT_ID,), body="Answer", lookup=True, conflict=True,
    ),
    Operation(
        id="my_work", method="get", path=f"{PREFIX}/work", tag="待办", summary="我的待办",
        description="等待调用方办理的全部事项，最先到期的在前；区数据资源局还看到全区每一项超期或被提示的事项（第二十四条）。",
        access=LOGIN, result="TaskList",
    ),
    Operation(
        id="my_usage", method="get", path=f"{PREFIX}/usage", tag="用量", summary="我的密钥用量",
        description="调用方每个 API 密钥（含已吊销的）最近若干天按日的调用次数和返回字节数。",
        access=LOGIN, result="UsageList",
        params=(query("days", {"type": "integer", "minimum": 1, "maximum": MAX_USAGE_DAYS, "default": 30},
                      f"统计截至今天的天数，1–{MAX_USAGE_DAYS}，默认 30"),),
    ),
    Operation(
        id="supervision", method="get", path=f"{PREFIX}/supervision", tag="督查", summary="各部门督查情况",
        description="各部门数据的完整性、时效性和按时答复情况（第二十四条），与网页“督查情况”相同：已发布目录、无数据文件的目录、"
                    "数据未按更新周期更新的目录，所选年度申请、校核和目录调整的按时情况，以及当前超期事项。"
                    "区数据资源局和审计员看到全部部门，部门工作人员只看到本部门。",
        access=STAFF, result="SupervisionList",
        params=(query("year", {"type": "integer", "minimum": FIRST_YEAR, "maximum": 9999}, "答复统计年度，默认今年；晚于今年的按今年"),),
    ),
    Operation(
        id="due_date", method="get", path=f"{PREFIX}/calendar/due", tag="时限", summary="计算到期日",
        description="N 日期限的到期日：起算日当天不计；按工作日计算（含国务院调休安排），或按自然日计算且末日为节假日的顺延至下一个工作日。"
                    "所涉年度的节假日安排尚未公布时，结果标明为暂定。",
        access=PUBLIC, result="Due",
        params=(query("start", {"type": "string", "format": "date"}, "起算日（不计入期限），如 2026-09-28", required=True),
                query("days", {"type": "integer", "minimum": 0, "maximum": MAX_DUE_DAYS}, f"期限天数，0–{MAX_DUE_DAYS}", required=True),
                query("calendar_days", {"type": "boolean", "default": False}, "true：按自然日计算；默认按工作日计算")),
    ),
    Operation(
        id="clock_kinds", method="get", path=f"{PREFIX}/clocks", tag="时限", summary="法定时限",
        description="现行的各种法定时限：期限、计算方式（区数据资源局可将共享、开放申请的答复时限改为按自然日计算）、起算日和依据条款。",
        access=PUBLIC, result="ClockKindList",
    ),
)
BY_ID = {op.id: op for op in OPERATIONS}
TAGS = {
    "申请": "共享申请（有条件共享，第十四条）和开放申请（依申请开放，第十八条）：提出、受理、补正、同意或不同意、协调",
    "授权": "同意的申请产生的授权",
    "数据校核": "数据校核（第十条）：对目录信息或数据内容的疑义和错误，及提供部门的答复",
    "待办": "等待调用方办理的事项",
    "用量": "API 密钥的用量",
    "时限": "工作日历和法定时限",
    "督查": "各部门数据维护和按时答复情况（第二十四条）",
}
