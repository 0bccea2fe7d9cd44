"""The organization → department mapping of a harvest source (`HarvestOrgMapping`): the Bureau
says which department a remote organization's records belong to. Reading the mapping, replacing
it as a whole (audited as harvest:mapping), and the remote organizations the source's last
jobs met, offered as rows of the mapping table. `mapping` uses the rows when it maps a record.

Plain functions over a `Session`; "now" is passed in. Errors are `portal.errors.Invalid`.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import audit
from portal.errors import Invalid
from portal.models import Department, HarvestItem, HarvestJob, HarvestOrgMapping, HarvestSource, User
from portal.vocab import N_

ORG_LENGTH = 200  # HarvestOrgMapping.remote_org
ORG_DETAIL_KEYS = ("organization", "organization_title", "remote_org")
# The reason `harvest.mapping` gives for a record whose organization maps to no department.
UNMAPPED_ORG = re.compile(r"来源组织“(.+?)”没有对应的部门")


def org_mapping(session: Session, source: HarvestSource) -> dict[str, Department]:
    """The source's remote organizations and their departments, by remote name."""
    rows = session.scalars(
        select(HarvestOrgMapping).where(HarvestOrgMapping.source_id == source.id).order_by(HarvestOrgMapping.remote_org)
    )
    return {row.remote_org: row.department for row in rows}


def set_org_mapping(
    session: Session, source: HarvestSource, mapping: dict[str, str], *, actor: User | None, now: datetime, actor_name: str = ""
) -> bool:
    """Make `mapping` ({remote organization: department code}) the source's whole mapping: an
    organization left out, or mapped to "", is removed. Invalid names the organizations whose
    code is unknown; False when nothing changed; audited as harvest:mapping."""
    wanted: dict[str, str] = {}
    errors: dict[str, str] = {}
    for remote, code in mapping.items():
        remote, code = (remote or "").strip(), (code or "").strip()
        if not remote or not code:
            continue
        if len(remote) > ORG_LENGTH:
            errors[remote[:ORG_LENGTH]] = N_("来源机构名称过长")
            continue
        wanted[remote] = code
    departments = {d.code: d for d in session.scalars(select(Department).where(Department.code.in_(set(wanted.values()))))}
    for remote, code in wanted.items():
        if code not in departments:
            errors[remote] = N_("没有该统一社会信用代码的部门")
    if errors:
        raise Invalid(errors)
    rows = {row.remote_org: row for row in session.scalars(select(HarvestOrgMapping).where(HarvestOrgMapping.source_id == source.id))}
    before = {remote: row.department.code for remote, row in rows.items()}
    if before == wanted:
        return False
    for remote, row in rows.items():
        if remote not in wanted:
            session.delete(row)
        elif row.department_id != departments[wanted[remote]].id:
            row.department = departments[wanted[remote]]
    for remote, code in wanted.items():
        if remote not in rows:
            session.add(HarvestOrgMapping(source_id=source.id, remote_org=remote, department=departments[code]))
    session.flush()
    audit.record(
        session, action="harvest:mapping", actor=actor, actor_name=actor_name, now=now, target=source.name,
        details={"before": before, "after": wanted},
    )
    return True


def remote_orgs_seen(session: Session, source: HarvestSource, *, jobs: int = 5) -> list[str]:
    """The remote organization names the source's last `jobs` jobs met, sorted: those their
    items' details name, and those of records that failed for want of a department. Offered as
    rows of the mapping table; empty before any job."""
    job_ids = list(session.scalars(
        select(HarvestJob.id).where(HarvestJob.source_id == source.id).order_by(HarvestJob.id.desc()).limit(jobs)
    ))
    names: set[str] = set()
    if job_ids:
        for details, error in session.execute(select(HarvestItem.details, HarvestItem.error).where(HarvestItem.job_id.in_(job_ids))):
            for key in ORG_DETAIL_KEYS:
                value = details.get(key) if isinstance(details, dict) else None
                if isinstance(value, str) and value.strip():
                    names.add(value.strip()[:ORG_LENGTH])
            if error and (match := UNMAPPED_ORG.search(error)):
                names.add(match.group(1)[:ORG_LENGTH])
    return sorted(names)
