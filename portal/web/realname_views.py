"""The account page and real-name verification over HTTP: a member of the public sees their
account and applies (`/account`, `/account/real-name`); the Bureau works through the queue and
decides (`/bureau/real-names`). The rules live in `realname`; every view checks on the server
who is asking. Pages show numbers masked; the full number appears only in the answer to the
Bureau's "reveal" POST on a pending application, which is not cached."""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet
from flask import Blueprint, Response, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import login_required

from .. import realname
from ..audit import record_apart
from ..errors import Forbidden, Invalid
from ..models import RealNameVerification, User
from ..vocab import N_, AccountKind
from .common import db_session, now, request_facts, viewer

bp = Blueprint("realname", __name__)
PAGE_SIZE = 50


def _cipher() -> Fernet:
    return current_app.extensions["portal.personal_data"]


def _signed_in() -> User:
    user = viewer()
    assert user is not None  # login_required ran first
    return user


def _bureau() -> User:
    """The viewer, when the Bureau; otherwise the refusal is audited and the request ends (403)."""
    user = _signed_in()
    if not realname.may_decide(user):
        record_apart(
            current_app.extensions["portal.sessions"], action="authz:denied", actor=user, now=now(), target="实名认证审核",
            details={"action": "realname:decide", "path": request.path}, facts=request_facts(),
        )
        raise Forbidden(N_("实名认证由区数据资源局审核"))
    return user


# -- the applicant -----------------------------------------------------------------------------


@bp.get("/account")
@login_required
def account() -> str:
    return _account_page()


def _account_page(errors: dict[str, str] | None = None, form: Any = None, status: int = 200) -> Any:
    user = _signed_in()
    db = db_session()
    applications = realname.history(db, user) if realname.may_apply(user) else []
    current = applications[0] if applications else None
    can_apply = realname.may_apply(user) and (current is None or current.state == "rejected")
    page = render_template(
        "realname/account.html", user=user, current=current, applications=applications, can_apply=can_apply,
        verified=realname.is_verified(db, user), states=realname.STATES, kinds=list(AccountKind),
        errors=errors or {}, form=form or {},
    )
    return page if status == 200 else (page, status)


@bp.post("/account/real-name")
@login_required
def apply() -> Any:
    user = _signed_in()
    db = db_session()
    form = request.form
    try:
        kind = AccountKind.parse(form.get("kind", "")) if form.get("kind") else None
    except ValueError:
        kind = None
    application = realname.Application(
        name=form.get("name", "")[:300], id_number=form.get("id_number", "")[:40], credit_code=form.get("credit_code", "")[:40],
        contact_name=form.get("contact_name", "")[:200], contact_phone=form.get("contact_phone", "")[:40],
    )
    try:
        realname.submit(db, user, application, cipher=_cipher(), now=now(), kind=kind)
    except Invalid as invalid:
        db.rollback()
        # Typed names come back into the form; the numbers of persons never do (type them again).
        kept = {key: form.get(key, "") for key in ("kind", "name", "credit_code", "contact_name")}
        return _account_page(errors=invalid.errors, form=kept, status=400)
    db.commit()
    flash(gettext("实名认证申请已提交，区数据资源局审核后将在本页显示结果"))
    return redirect(url_for("realname.account"))


# -- the Bureau --------------------------------------------------------------------------------


@bp.get("/bureau/real-names")
@login_required
def queue() -> str:
    _bureau()
    state = request.args.get("state", "")
    state = state if state in realname.STATES else ""
    try:
        kind: AccountKind | None = AccountKind.parse(request.args.get("kind", "")) if request.args.get("kind") else None
    except ValueError:
        kind = None
    text = request.args.get("q", "")[:100]
    page = max(1, request.args.get("page", 1, type=int) or 1)
    rows, total = realname.list_applications(
        db_session(), state=state, kind=kind, text=text, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    return render_template(
        "realname/queue.html", rows=rows, total=total, page=page, pages=max(1, -(-total // PAGE_SIZE)),
        state=state, kind=kind.value if kind else "", q=text, states=realname.STATES, kinds=list(AccountKind),
    )


def _decision_page(verification: RealNameVerification, revealed: realname.Revealed | None = None) -> Response:
    db = db_session()
    others = [v for v in realname.history(db, verification.user) if v.id != verification.id]
    decider = db.get(User, verification.decided_by_id) if verification.decided_by_id else None
    response = make_response(render_template(
        "realname/show.html", item=verification, others=others, decider=decider, revealed=revealed, states=realname.STATES,
    ))
    response.headers["Cache-Control"] = "no-store"  # the page of a pending application may hold the full number
    return response


@bp.get("/bureau/real-names/<int:verification_id>")
@login_required
def show(verification_id: int) -> Response:
    user = _bureau()
    return _decision_page(realname.get_application(db_session(), verification_id, user))


@bp.post("/bureau/real-names/<int:verification_id>/reveal")
@login_required
def reveal(verification_id: int) -> Response:
    user = _bureau()
    db = db_session()
    verification = realname.get_application(db, verification_id, user)
    revealed = realname.reveal(db, verification, viewer=user, cipher=_cipher(), now=now())
    db.commit()  # the audit row of the access
    return _decision_page(verification, revealed)


@bp.post("/bureau/real-names/<int:verification_id>/<any(approve, reject):decision>")
@login_required
def decide(verification_id: int, decision: str) -> Response:
    user = _bureau()
    db = db_session()
    verification = realname.get_application(db, verification_id, user)
    version = request.form.get("version", type=int)
    try:
        if decision == "approve":
            realname.approve(db, verification, actor=user, now=now(), version=version)
        else:
            realname.reject(db, verification, actor=user, now=now(), version=version, reason=request.form.get("reason", "")[:2000])
    except Invalid as invalid:
        db.rollback()
        flash(gettext(invalid.message), "error")
    else:
        db.commit()
        flash(gettext("已通过实名认证") if decision == "approve" else gettext("已驳回实名认证申请"))
    return redirect(url_for("realname.show", verification_id=verification_id))
