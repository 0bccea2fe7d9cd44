"""The Bureau's harvest pages (`harvest`): other catalogs harvested into the zone catalog.

- /bureau/harvest: every source with its kind, schedule and last job; the form to add one.
- /bureau/harvest/sources/<name>: a source's settings (edit form), its organization → department
  mapping, the buttons 校验 (check), 预览 (a dry run of 20 records, run here and now) and 立即采集
  (a real job in a background thread), and its past jobs.
- /bureau/harvest/jobs/<id>: a job's state, counts and error, and every item (filter by
  status); the page reloads itself every 3 seconds while the job runs.

Only a Bureau administrator opens them, checked on the server in every view (GET and POST);
every form carries the CSRF token. The rules live in `harvest.sources`, `harvest.org_mapping`,
`harvest.job_history` and `harvest.base`; errors become flashed Chinese messages, never a stack
trace.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import login_required
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from harvest import KINDS, SCHEDULES, STATUSES, job_history, sources
from harvest import base as harvest_base
from harvest.org_mapping import org_mapping, remote_orgs_seen, set_org_mapping
from harvest.settings import DEFAULT_SETTINGS, FLAGS, NUMBERS, VOCABULARY_SETTINGS

from ..errors import Invalid, PortalError
from ..audit import RequestFacts
from ..models import HarvestJob, HarvestSource, User
from ..vocab import N_
from .bureau_views import _bureau_only
from .common import db_session, file_store, now, request_facts

bp = Blueprint("harvest", __name__)

PREVIEW_LIMIT = 20
PREVIEW_SECONDS = 60.0  # a preview runs while the browser waits: past this it stops ("timed-out")
WAIT_FOR_JOB = 5.0  # seconds "立即采集" waits for the job's row before answering
REFRESH_SECONDS = 3
# The settings the source page edits, in its order; the others keep their values.
FORM_SETTINGS = (
    "department", "share_type", "share_condition", "legal_basis", "open_type", "open_condition", "update_cycle",
    "security_level", "trust_open_type", "trust_clearance", "publish", "download_resources", "max_resource_mb",
    "grace_days", "time_limit_minutes",
)
SETTING_LABELS: dict[str, str] = {
    "department": N_("默认部门"),
    "share_type": N_("默认共享类型"),
    "share_condition": N_("默认共享条件"),
    "legal_basis": N_("不予共享的法律依据"),
    "open_type": N_("默认开放类型"),
    "open_condition": N_("默认开放条件"),
    "update_cycle": N_("默认更新周期"),
    "security_level": N_("默认安全级别"),
    "trust_open_type": N_("信任来源声明的开放类型（视为已审查）"),
    "trust_clearance": N_("信任来源对个人信息的处理（来源已公开的文件视为已处理）"),
    "publish": N_("条件具备时直接发布"),
    "download_resources": N_("下载资源文件（经上传流程校验）"),
    "max_resource_mb": N_("资源文件大小上限（MB）"),
    "grace_days": N_("删除宽限期（天）"),
    "time_limit_minutes": N_("任务时限（分钟）"),
}
SETTING_HINTS: dict[str, str] = {
    "department": N_("来源机构在下方对应表中没有对应部门、也不能按名称或信用代码识别时，记录归入此部门；不选则这些记录采集失败。"),
    "trust_open_type": N_("不勾选时，来源声明的开放类型作为提议交政务公开机构审查。"),
    "grace_days": N_("记录从来源消失超过此天数后，撤销其目录条目。"),
    "time_limit_minutes": N_("超过时限的任务在两条记录之间停止，不做归档。"),
}


@bp.context_processor
def plain_gettext() -> dict[str, Any]:
    """`redacted_url`: a URL without its password, for display (`tr` is the app's)."""
    return {"redacted_url": sources.redacted_url}


def _bureau_source(name: str) -> tuple[User, Session, HarvestSource]:
    """How every view of one source starts: the viewer, refused unless a Bureau administrator
    (checked first), the request's session, and the source named in the URL (else 404)."""
    user, db = _bureau_only(), db_session()
    return user, db, sources.get_source(db, name[:60])


def _posted_source_fields() -> dict[str, Any]:
    """The fields of a source that the add form and the edit form share, cut to their lengths:
    keyword arguments of both `sources.add_source` and `sources.update_source`."""
    form = request.form
    return {
        "title": form.get("title", "")[:300], "url": form.get("url", "")[:3000].strip(),
        "schedule": form.get("schedule", "")[:20], "allow_private": form.get("allow_private") == "on",
    }


# -- the list and the add form -------------------------------------------------------------


def _index_page(errors: dict[str, str] | None = None, values: dict[str, Any] | None = None) -> tuple[str, int]:
    db = db_session()
    return render_template(
        "harvest/index.html", sources=sources.list_sources(db), last=job_history.last_jobs(db), kinds=KINDS,
        schedules=SCHEDULES, states=job_history.JOB_STATES, departments=sources.departments(db), errors=errors or {},
        values=values or {"kind": "ckan", "schedule": "manual"},
    ), 400 if errors else 200


@bp.get("/bureau/harvest")
@login_required
def index() -> tuple[str, int]:
    _bureau_only()
    return _index_page()


@bp.post("/bureau/harvest")
@login_required
def add() -> Any:
    user = _bureau_only()
    db = db_session()
    fields = _posted_source_fields()
    name, kind = request.form.get("name", "")[:100].strip(), request.form.get("kind", "")[:20]
    department = request.form.get("department", "")[:30]
    try:
        source = sources.add_source(db, name=name, kind=kind, **fields, settings={"department": department} if department else None,
                                    actor=user, now=now())
    except Invalid as invalid:
        db.rollback()
        return _index_page(invalid.errors, {**fields, "name": name, "kind": kind, "department": department})
    db.commit()
    flash(gettext("已添加采集源 %(name)s。请核对设置和部门对应，先“校验”“预览”，再“立即采集”。", name=source.name))
    return redirect(url_for("harvest.source_page", name=source.name))


# -- a source ------------------------------------------------------------------------------


def _form_values(source: HarvestSource) -> dict[str, Any]:
    settings = {**DEFAULT_SETTINGS, **(source.settings or {})}
    return {
        "title": source.title, "url": source.url, "schedule": source.schedule, "allow_private": source.allow_private,
        "active": source.active, **{key: settings.get(key) for key in FORM_SETTINGS},
    }


def _source_page(source: HarvestSource, errors: dict[str, str] | None = None, values: dict[str, Any] | None = None,
                 mapping_errors: dict[str, str] | None = None) -> tuple[str, int]:
    db = db_session()
    mapped = org_mapping(db, source)
    seen = [name for name in remote_orgs_seen(db, source) if name not in mapped]
    return render_template(
        "harvest/source.html", source=source, kinds=KINDS, schedules=SCHEDULES, states=job_history.JOB_STATES,
        jobs=job_history.jobs_of(db, source), departments=sources.departments(db), values=values or _form_values(source),
        errors=errors or {}, mapping_errors=mapping_errors or {}, mapped=mapped, seen=seen,
        fields=FORM_SETTINGS, labels=SETTING_LABELS, hints=SETTING_HINTS, vocabularies=VOCABULARY_SETTINGS, flags=FLAGS,
        numbers=NUMBERS, running=job_history.running_job(db, source, now()),
    ), 400 if errors or mapping_errors else 200


@bp.get("/bureau/harvest/sources/<name>")
@login_required
def source_page(name: str) -> tuple[str, int]:
    _user, _db, source = _bureau_source(name)
    return _source_page(source)


def _posted_settings() -> tuple[dict[str, Any], dict[str, str]]:
    """The settings of the edit form: flags from checkboxes, numbers as integers."""
    settings: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key in FORM_SETTINGS:
        if key in FLAGS:
            settings[key] = request.form.get(key) == "on"
        elif key in NUMBERS:
            raw = request.form.get(key, "").strip()[:12]
            if raw.isascii() and raw.isdigit():
                settings[key] = int(raw)
            else:
                least, most, _label = NUMBERS[key]
                errors[key] = gettext("请填写 %(least)s 至 %(most)s 之间的整数", least=least, most=most)
        else:
            settings[key] = request.form.get(key, "")[:2000].strip()
    return settings, errors


@bp.post("/bureau/harvest/sources/<name>")
@login_required
def edit(name: str) -> Any:
    user, db, source = _bureau_source(name)
    settings, errors = _posted_settings()
    fields = {**_posted_source_fields(), "active": request.form.get("active") == "on"}
    try:  # with the numbers that are not numbers left out, so that every other problem is found too
        changed = sources.update_source(db, source, **fields, settings={k: v for k, v in settings.items() if k not in errors},
                                        actor=user, now=now())
        if errors:
            raise Invalid(errors)
    except Invalid as invalid:
        db.rollback()
        return _source_page(source, {**invalid.errors, **errors}, {**fields, **settings})
    db.commit()
    flash(gettext("已保存采集源 %(name)s 的设置。", name=source.name) if changed else gettext("设置未改变。"))
    return redirect(url_for("harvest.source_page", name=source.name))


@bp.post("/bureau/harvest/sources/<name>/mapping")
@login_required
def set_mapping(name: str) -> Any:
    user, db, source = _bureau_source(name)
    orgs, codes = request.form.getlist("org")[:500], request.form.getlist("department")[:500]
    wanted: dict[str, str] = {}
    for org, code in zip(orgs, codes):
        org, code = org[:300].strip(), code[:30].strip()
        if org and code:
            wanted[org] = code
    try:
        changed = set_org_mapping(db, source, wanted, actor=user, now=now())
    except Invalid as invalid:
        db.rollback()
        return _source_page(source, mapping_errors=invalid.errors)
    db.commit()
    flash(gettext("已保存机构与部门的对应。") if changed else gettext("机构与部门的对应未改变。"))
    return redirect(url_for("harvest.source_page", name=source.name, _anchor="mapping"))


@bp.post("/bureau/harvest/sources/<name>/check")
@login_required
def check(name: str) -> Response:
    _user, _db, source = _bureau_source(name)
    try:
        problems = sources.check_source(source)
    except Exception:
        current_app.logger.exception("checking harvest source %s failed", source.name)
        problems = [N_("校验时出现意外错误，详情见服务器日志。")]
    if problems:
        flash(gettext("校验发现 %(n)d 个问题：", n=len(problems)), "error")
        for problem in problems:
            flash(gettext(problem), "error")
    else:
        flash(gettext("校验通过：可以访问 %(name)s，内容符合所选类型。", name=source.name))
    return redirect(url_for("harvest.source_page", name=source.name))


def _refuse_if_running(source: HarvestSource) -> Response | None:
    """A redirect with a message when a job of `source` is running or starting, else None."""
    job = job_history.running_job(db_session(), source, now())
    if job is not None:
        flash(gettext("采集源 %(name)s 正在采集（任务 #%(id)d），请等它结束后再操作。", name=source.name, id=job.id), "error")
        return redirect(url_for("harvest.job_page", job_id=job.id))
    if source.id in _starting:
        flash(gettext("采集源 %(name)s 的采集任务正在启动，请稍候刷新本页。", name=source.name), "error")
        return redirect(url_for("harvest.source_page", name=source.name))
    return None


@bp.post("/bureau/harvest/sources/<name>/preview")
@login_required
def preview(name: str) -> Response:
    """A dry run of the first PREVIEW_LIMIT records, here and now; then its job page."""
    user, db, source = _bureau_source(name)
    if (refused := _refuse_if_running(source)) is not None:
        return refused
    before = job_history.newest_job_id(db, source)
    try:
        job = harvest_base.run_job(db, source, store=file_store(), clock=now, dry_run=True, limit=PREVIEW_LIMIT,
                                   time_limit=PREVIEW_SECONDS, started_by=user.username)
    except Exception as error:  # the job records its own failures; this is the unexpected
        refusal = _close_crashed(db, source, error, before=before, user=user, limit=PREVIEW_LIMIT)
        flash(gettext(refusal) if refusal is not None else gettext("采集任务意外中止，详情见服务器日志。"), "error")
        return redirect(url_for("harvest.source_page", name=source.name))
    job_history.record_run(db, job, actor=user, now=now(), limit=PREVIEW_LIMIT)
    db.commit()
    flash(gettext("预览完成：以下是前 %(n)d 条记录将被如何处理，目录未作任何改动。", n=PREVIEW_LIMIT))
    return redirect(url_for("harvest.job_page", job_id=job.id))


# -- a real job, in the background ---------------------------------------------------------

_starting: set[int] = set()  # sources whose job a request of this process is starting or running
_starting_lock = threading.Lock()


@dataclass
class _Started:
    done: threading.Event = field(default_factory=threading.Event)
    error: str = ""


def _close_crashed(db: Session, source: HarvestSource, error: Exception, *, before: int, user: User, limit: int | None = None) -> str | None:
    """After a job of `source` raised (the preview's, or the background job's): roll back. A
    refusal (another job of the source runs) marks nothing: its message is returned. Anything
    else is logged, the source's jobs newer than `before` still "running" are marked failed
    (`job_history.INTERRUPTED`) and audited (harvest:run) as the user's, and None is returned."""
    db.rollback()
    if isinstance(error, PortalError):
        return error.message
    current_app.logger.exception("harvest job of %s failed", source.name)
    try:
        for job in job_history.interrupt_jobs(db, source, after_id=before, now=now()):
            job_history.record_run(db, job, actor=user, now=now(), limit=limit)
        db.commit()
    except Exception:
        current_app.logger.exception("could not mark the jobs of %s as failed", source.name)
        db.rollback()
    return None


def start_in_background(app: Flask, source_id: int, *, user_id: int, before: int, facts: RequestFacts) -> _Started:
    """Run a real job of the source in a thread of its own, with its own app context and
    session (`run_job` commits as it goes), and audit it (harvest:run) as the user's. The source
    stays in `_starting` until the job ends."""
    started = _Started()

    def work() -> None:
        try:
            with app.app_context(), app.extensions["portal.sessions"]() as session:
                session.info["audit"] = facts
                source, user = session.get(HarvestSource, source_id), session.get(User, user_id)
                assert source is not None and user is not None  # neither is ever deleted
                try:
                    job = harvest_base.run_job(session, source, store=app.extensions["portal.files"], clock=now, started_by=user.username)
                    job_history.record_run(session, job, actor=user, now=now())
                    session.commit()
                except Exception as error:
                    started.error = _close_crashed(session, source, error, before=before, user=user) or job_history.INTERRUPTED
        except Exception:
            app.logger.exception("harvest job of source %s could not be closed", source_id)
        finally:
            with _starting_lock:
                _starting.discard(source_id)
            started.done.set()

    threading.Thread(target=work, name=f"harvest-{source_id}", daemon=True).start()
    return started


@bp.post("/bureau/harvest/sources/<name>/run")
@login_required
def run_now(name: str) -> Response:
    user, db, source = _bureau_source(name)
    if not source.active:
        flash(gettext("采集源 %(name)s 已停用，请先在设置中启用。", name=source.name), "error")
        return redirect(url_for("harvest.source_page", name=source.name))
    source_id, source_name = source.id, source.name
    with _starting_lock:
        if (refused := _refuse_if_running(source)) is not None:
            return refused
        _starting.add(source_id)
    try:
        before = job_history.newest_job_id(db, source)
        db.rollback()  # nothing to keep; the next queries see the thread's commits
        started = start_in_background(
            current_app._get_current_object(), source_id, user_id=user.id, before=before, facts=request_facts(),  # type: ignore[attr-defined]
        )
    except Exception:
        with _starting_lock:
            _starting.discard(source_id)
        raise
    deadline = time.monotonic() + WAIT_FOR_JOB
    while True:
        job_id = db.scalar(select(func.max(HarvestJob.id)).where(HarvestJob.source_id == source_id)) or 0
        db.rollback()
        if job_id > before:
            flash(gettext("已开始采集；本页每 %(n)d 秒刷新一次，采集结束后停止刷新。", n=REFRESH_SECONDS))
            return redirect(url_for("harvest.job_page", job_id=job_id))
        if started.done.is_set() or time.monotonic() > deadline:
            break
        started.done.wait(0.1)
    if started.error:
        flash(gettext(started.error), "error")
    else:
        flash(gettext("采集任务已在后台启动，稍后刷新本页即可在“采集任务”中看到。"))
    return redirect(url_for("harvest.source_page", name=source_name))


# -- a job ---------------------------------------------------------------------------------


@bp.get("/bureau/harvest/jobs/<int:job_id>")
@login_required
def job_page(job_id: int) -> str:
    _bureau_only()
    db = db_session()
    job = job_history.get_job(db, job_id)
    status = request.args.get("status", "")[:20]
    status = status if status in STATUSES else ""
    try:
        page = max(1, int(request.args.get("page", "1")[:6]))
    except ValueError:
        page = 1
    items = job_history.job_items(db, job, status=status or None, page=page)
    return render_template(
        "harvest/job.html", job=job, source=job.source, items=items, status=status, statuses=STATUSES, states=job_history.JOB_STATES,
        stages=job_history.STAGES, running=job_history.is_running(job, now()), refresh=REFRESH_SECONDS,
    )
