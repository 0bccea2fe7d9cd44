"""schemathesis drives /api/v1 from its own OpenAPI document, anonymously and with a department
key: no answer is a 500, and every answer conforms to the document (status, content type,
headers, body). The quotas are lifted for the run, as for a benchmark.

Data the document allows but a rule refuses (a purpose of blanks, a cursor not made here) is a
400 with code `invalid`; schemathesis's own "positive data is accepted" check knows no such
thing, so it is replaced here by a stricter one: a request that conforms is never refused as
malformed (code `bad_request`), which would mean the API reads the document differently."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from sqlalchemy.orm import Session

from portal import data_requests as dr
from portal import openapi
from portal import error_reports as er
from portal.api_keys import create_key
from portal.quota_tiers import TIERS, Limits, set_tier_limits
from portal.vocab import EntryStatus, OpenType, ShareType

from ..support import NOW, World

EXAMPLES = 25  # per operation and generation mode: 35 s for the module on an idle 2-core machine, 100 s under load


@pytest.fixture
def known(session: Session, world: World) -> dict[str, Any]:
    """Quotas lifted; a few requests and reports in several states, so that generated ids and
    slugs are sometimes swapped for ones that exist; a department key."""
    for tier in TIERS:
        set_tier_limits(session, tier, Limits(0, 0, 0), actor=None, actor_name="测试", now=NOW)
    shared = world.entry(ShareType.CONDITIONAL, OpenType.CLOSED, EntryStatus.PUBLISHED)
    public = world.entry(ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.PUBLISHED)
    requests = [
        dr.submit(session, shared, kind="share", requester=world.users[name], purpose="核验辖区数据", duty="履职依据", now=NOW)
        for name in ("editor_b", "provider_b", "admin_b")
    ]
    dr.accept(session, requests[1], actor=world.users["provider_a"], now=NOW)
    reports = [
        er.submit(session, entry, reporter=world.users["editor_b"], subject="data", description="数据有误请核对", contact="王先生 电话", now=NOW)
        for entry in (shared, public)
    ]
    _row, key = create_key(session, world.users["provider_a"], name="schemathesis", scopes=["read", "write"], now=NOW)
    session.commit()
    return {"ids": [r.id for r in requests] + [r.id for r in reports], "slugs": [shared.slug, public.slug], "key": key}


# The document as the app serves it at /api/v1/openapi.json (tests/web/test_api_v1.py checks that
# they are equal); each call goes to the test's own app. (`schemathesis.pytest.from_fixture`
# would load it from the app, but schemathesis 4.32 reads `Function._nodeid`, gone in pytest 9.)
schema = schemathesis.openapi.from_dict(openapi.document())


def _aim_at_known(case: Any, known: dict[str, Any]) -> None:
    """Swap a generated id or slug for an existing one in about half of the conforming cases
    (decided by the value itself, so that Hypothesis replays a case exactly)."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    params = case.path_parameters or {}
    if isinstance(params.get("id"), int) and params["id"] % 2 == 0:
        params["id"] = known["ids"][params["id"] % len(known["ids"])]
    for container, name in ((params, "slug"), (case.body if isinstance(case.body, dict) else {}, "entry")):
        if isinstance(container.get(name), str) and len(container[name]) % 2 == 0:
            container[name] = known["slugs"][len(container[name]) % len(known["slugs"])]


def _call(case: Any, app: Flask, headers: dict[str, str] | None = None) -> None:
    case.operation.app = case.operation.schema.app = app  # also for the probes of the authentication checks
    response = case.call_and_validate(headers=headers, excluded_checks=[schemathesis.checks.positive_data_acceptance])
    if case.meta is not None and case.meta.generation.mode.is_positive and response.status_code == 400:
        error = response.json()["error"]
        assert error["code"] == "invalid", f"a request conforming to the document was refused as malformed: {error}"


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_anonymous_callers_get_no_500_and_only_documented_answers(case: Any, app: Flask, known: dict[str, Any]) -> None:
    _aim_at_known(case, known)
    _call(case, app)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_a_department_key_gets_no_500_and_only_documented_answers(case: Any, app: Flask, known: dict[str, Any]) -> None:
    _aim_at_known(case, known)
    _call(case, app, {"Authorization": known["key"], "X-API-Key": known["key"]})  # both: none is generated
