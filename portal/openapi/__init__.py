"""The native REST API `/api/v1` declared once, as data: its operations, their parameters, bodies
and responses, and the component schemas. `document()` is the OpenAPI 3.1 document served at
`/api/v1/openapi.json`; the same declaration renders the docs page and is what `api_v1` checks
query parameters and JSON bodies against, so the document cannot drift from what the API accepts.

Enumerations and length limits are read from the domain modules (`data_requests`,
`error_reports`, `workdays`), never copied. Descriptions are Chinese, for the zone's developers.

The package, by feature (each module says what it owns):

    schemas     the limits and error codes, the schema builders and the component schemas
    operations  who may call what, the operations with their parameters, and their tags
    render      the OpenAPI 3.1 document: paths, error responses, security schemes
    docs        the declaration read for the docs page: `resolve`, type labels, constraints, fields

This module is the public surface: what `api_v1`, `web.api_v1_views` and the tests import.
"""

from __future__ import annotations

from .docs import constraints, fields, resolve, type_label
from .operations import (
    ACCESS_LABELS, BY_ID, CURSOR, DEFAULT_LIMIT, ID, LIMIT, LOGIN, MAX_DUE_DAYS, MAX_LIMIT, MAX_USAGE_DAYS, OPERATIONS, PREFIX,
    PUBLIC, REPORT_ID, REPORTER, REQUEST_ID, SLUG, SLUG_PATTERN, STAFF, TAGS, TRANSITION_BODIES, WRITE, Operation, path_param, query,
)
from .render import ERROR_RESPONSES, KEYED, SECURITY_SCHEMES, VERSION, document
from .schemas import (
    CLOCK, CLOCK_KIND, DUE, ENTRY_REF, ERROR, ERROR_CODES, EVENT, GRANT, GRANT_FIELDS, ITEM_NAMES, KEY_USAGE, MAX_ID, NOTE, REPORT,
    REQUEST, REQUEST_SUMMARY, SCHEMAS, TASK, TEXT_LIMIT, body, boolean, date_, datetime_, integer, nullable, obj, page, ref, string,
    strings,
)

__all__ = [
    # limits and error codes
    "VERSION", "PREFIX", "MAX_LIMIT", "DEFAULT_LIMIT", "MAX_ID", "TEXT_LIMIT", "MAX_DUE_DAYS", "MAX_USAGE_DAYS", "ERROR_CODES",
    # schema builders
    "nullable", "ref", "string", "integer", "boolean", "date_", "datetime_", "strings", "obj", "body", "page",
    # component schemas
    "ITEM_NAMES", "ENTRY_REF", "CLOCK", "EVENT", "GRANT", "REQUEST_SUMMARY", "REQUEST", "REPORT", "TASK", "KEY_USAGE", "DUE",
    "CLOCK_KIND", "ERROR", "NOTE", "GRANT_FIELDS", "SCHEMAS",
    # operations
    "PUBLIC", "LOGIN", "WRITE", "REPORTER", "STAFF", "ACCESS_LABELS", "Operation", "query", "path_param", "CURSOR", "LIMIT", "ID",
    "REQUEST_ID", "REPORT_ID", "SLUG", "SLUG_PATTERN", "TRANSITION_BODIES", "OPERATIONS", "BY_ID", "TAGS",
    # the document
    "ERROR_RESPONSES", "SECURITY_SCHEMES", "KEYED", "document",
    # the docs page
    "resolve", "type_label", "constraints", "fields",
]
