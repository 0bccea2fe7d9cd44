"""What the REST API `/api/v1` needs besides HTTP: reading query parameters and JSON bodies by
the operations declared in `openapi` (so a request the document allows is never refused as
malformed, and one it forbids never reaches the domain), opaque cursors, the lists the API pages
through, and the JSON shape of requests, grants, reports, tasks, clocks and usage.

Two kinds of 400: `BadRequest` (code `bad_request`) when the request does not conform to the
document, and the domain's `Invalid` (code `invalid`) when it conforms but a rule refuses it.
Who may see or do what is decided by the domain modules; the queries here only narrow the rows
before the domain's own predicate (`data_requests.may_see`) is applied to each. No Flask here.

The package, by feature (each module says what it owns):

    parsing  the API's errors, checking values against the declared schemas, query parameters,
             JSON bodies, path ids
    pages    cursors, a page of rows, the queries of the lists
    shapes   the JSON of requests, grants, reports, tasks, clocks, usage, due dates and supervision

This module is the public surface: what `web.api_v1_views` and the tests import.
"""

from __future__ import annotations

from ..errors import NotFound  # re-exported: callers catch `api_v1.NotFound`, as before the split
from .pages import (
    Page, decode_cursor, encode_cursor, grants_query, paginate, reports_query, requests_page, requests_query,
)
from .parsing import (
    DATE, KEYWORDS, MAX_BODY_BYTES, STATUS_CODES, TYPE_NAMES, BadRequest, Unauthorized, check, date_field, error_code, parse_body,
    parse_id, parse_query, unsafe_text,
)
from .shapes import (
    clock_json, clock_kinds_json, due_json, entry_ref, grant_json, report_json, request_clock, request_detail, request_summary,
    supervision_json, task_json, usage_json,
)

__all__ = [
    # errors
    "BadRequest", "Unauthorized", "NotFound", "error_code", "STATUS_CODES",
    # reading requests
    "MAX_BODY_BYTES", "TYPE_NAMES", "DATE", "KEYWORDS", "check", "unsafe_text", "parse_query", "parse_body", "parse_id", "date_field",
    # cursors and pages
    "encode_cursor", "decode_cursor", "Page", "paginate", "requests_query", "requests_page", "grants_query", "reports_query",
    # JSON
    "entry_ref", "clock_json", "request_clock", "request_summary", "request_detail", "grant_json", "report_json", "task_json",
    "usage_json", "due_json", "clock_kinds_json", "supervision_json",
]
