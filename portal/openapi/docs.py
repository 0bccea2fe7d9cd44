"""Reading the declaration for the docs page `/api/v1/docs` (and for `api_v1`'s checks, which
follow `$ref`s with `resolve`): a schema's type and limits in words, an object's rows.
"""

from __future__ import annotations

from typing import Any

from .schemas import SCHEMAS


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with a top-level `$ref` followed."""
    while "$ref" in schema:
        schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def type_label(schema: dict[str, Any]) -> str:
    """A short label of a schema's type, e.g. `string (date) | null`, `array[Grant]`, `Clock | null`."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[1]
    if "anyOf" in schema:
        return " | ".join(type_label(s) for s in schema["anyOf"])
    kinds = schema.get("type", "any")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    labels = []
    for kind in kinds:
        if kind == "array":
            labels.append(f"array[{type_label(schema.get('items', {}))}]")
        elif kind == "string" and "format" in schema:
            labels.append(f"string ({schema['format']})")
        else:
            labels.append(kind)
    return " | ".join(labels)


def constraints(schema: dict[str, Any]) -> str:
    """The limits of a schema in words: allowed values, lengths, ranges, defaults."""
    parts = []
    if "enum" in schema:
        parts.append("可选值：" + "、".join(f"{v}" for v in schema["enum"]))
    if "maxLength" in schema:
        parts.append(f"最长 {schema['maxLength']} 字符")
    if "pattern" in schema:
        parts.append(f"格式：{schema['pattern']}")
    if "minimum" in schema or "maximum" in schema:
        parts.append(f"范围：{schema.get('minimum', '')}–{schema.get('maximum', '')}")
    if "maxItems" in schema:
        parts.append(f"最多 {schema['maxItems']} 项")
    if "default" in schema:
        parts.append(f"默认：{str(schema['default']).lower() if isinstance(schema['default'], bool) else schema['default']}")
    items = schema.get("items")
    if isinstance(items, dict) and items.get("enum"):
        parts.append("可选值：" + "、".join(items["enum"]))
    return "；".join(parts)


def fields(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of an object schema's table: name, type, required, description, constraints."""
    schema = resolve(schema)
    required = set(schema.get("required", []))
    return [
        {"name": name, "type": type_label(prop), "required": name in required, "description": prop.get("description", ""),
         "constraints": constraints(prop)}
        for name, prop in schema.get("properties", {}).items()
    ]
