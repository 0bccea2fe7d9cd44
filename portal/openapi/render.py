"""The OpenAPI 3.1 document of `/api/v1`, built from the declaration (`schemas`, `operations`):
paths, the shared error responses and the security schemes. `document()` is what
`/api/v1/openapi.json` serves and what the docs page renders.
"""

from __future__ import annotations

import copy
from typing import Any

from .operations import ACCESS_LABELS, LOGIN, OPERATIONS, STAFF, TAGS, WRITE, Operation
from .schemas import SCHEMAS, ref

VERSION = "1.0.0"

ERROR_RESPONSES = {
    400: ("BadRequest", "请求有误：不符合本文档（code 为 bad_request），或不符合业务规则（code 为 invalid）；fields 逐项说明"),
    401: ("Unauthorized", "需要有效的 API 密钥：未提供密钥，或密钥无效、已吊销"),
    403: ("Forbidden", "无权执行该操作"),
    404: ("NotFound", "没有找到，或调用方无权查看"),
    409: ("Conflict", "状态已变化，本次操作未生效"),
    429: ("TooManyRequests", "超过调用配额（每分钟、每日调用次数或每日数据量）；Retry-After 为可重试的秒数"),
}
SECURITY_SCHEMES = {
    "ApiKeyAuthorization": {"type": "apiKey", "in": "header", "name": "Authorization",
                            "description": "API 密钥放在 Authorization 请求头中（与 CKAN 客户端的做法相同），如 `Authorization: zk_...`"},
    "ApiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "API 密钥放在 X-API-Key 请求头中"},
}
KEYED = [{"ApiKeyAuthorization": []}, {"ApiKeyHeader": []}]


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _operation(op: Operation) -> dict[str, Any]:
    success: dict[str, Any] = {"description": "成功", "content": _json(ref(op.result))}
    if op.status == 201:
        success["description"] = "已创建"
        success["headers"] = {"Location": {"description": "新建对象在本 API 中的地址", "schema": {"type": "string"}}}
    item: dict[str, Any] = {
        "operationId": op.id, "tags": [op.tag], "summary": op.summary,
        "description": f"{op.description}\n\n权限：{ACCESS_LABELS[op.access]}",
        "security": KEYED if op.access in (LOGIN, WRITE, STAFF) else [{}, *KEYED],
        "responses": {str(op.status): success, **{str(code): {"$ref": f"#/components/responses/{ERROR_RESPONSES[code][0]}"} for code in op.errors}},
    }
    if op.params:
        item["parameters"] = list(op.params)
    if op.body:
        item["requestBody"] = {"required": op.body_required, "content": _json(ref(op.body))}
    return item


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of `/api/v1` (a copy: whoever reads it may change it)."""
    return copy.deepcopy(_document())


def _document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    headers = {
        401: {"WWW-Authenticate": {"description": "认证方式", "schema": {"type": "string"}}},
        429: {"Retry-After": {"description": "可重试前等待的秒数", "schema": {"type": "string"}}},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "合肥经开区政务数据共享开放平台 REST API",
            "version": VERSION,
            "description": (
                "CKAN 兼容接口（/api/3/action）之外的原生接口：共享和开放申请、授权、数据校核、待办、密钥用量和法定时限，"
                "与网站页面调用同一套业务规则。\n\n"
                "认证：API 密钥放在 `Authorization` 或 `X-API-Key` 请求头中；已登录的浏览器会话可以读取，不能写入。"
                "写操作需要具有写入权限的部门密钥（数据校核可匿名提交）。\n\n"
                "分页：列表返回 `items` 和 `next_cursor`；把 `next_cursor` 作为 `cursor` 参数传入即得下一页，为 null 时已到最后一页。\n\n"
                "错误：统一为 `{\"error\": {\"status\", \"code\", \"message\", \"fields\"}}`，message 为中文。\n\n"
                "配额：每次调用计入调用方的配额（密钥、登录用户或来源地址），响应头 `X-RateLimit-Limit`、`X-RateLimit-Remaining`、"
                "`X-RateLimit-Reset` 说明当前窗口；超过配额时返回 429 和 `Retry-After`。\n\n"
                "时间：时刻为带时区的 UTC ISO 8601；日期（YYYY-MM-DD）为北京时间的日期。"
            ),
        },
        "tags": [{"name": name, "description": text} for name, text in TAGS.items()],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "responses": {
                name: {"description": text, "content": _json(ref("Error")), **({"headers": headers[code]} if code in headers else {})}
                for code, (name, text) in ERROR_RESPONSES.items()
            },
            "securitySchemes": SECURITY_SCHEMES,
        },
    }
