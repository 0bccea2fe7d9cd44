"""The disclosure office's review of open types over HTTP: the reviewer's queue, a review with
the entry, its data items and the live personal-information scan, and the approve / reject
forms with the open-risk assessment. The rules live in `open_review`."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import login_required
from sqlalchemy import select

from .. import open_review
from ..errors import Forbidden, Invalid
from ..models import OpenReview
from ..vocab import N_, Role
from .common import db_session, now, viewer

bp = Blueprint("reviews", __name__)


@bp.get("/reviews")
@login_required
def review_list() -> str:
    user = viewer()
    if user is None or user.role not in (Role.REVIEWER, Role.BUREAU, Role.AUDITOR):
        raise Forbidden(N_("只有政务公开审查员、区数据资源局和审计员可以查看审查清单"))
    state = request.args.get("state", "pending")
    query = select(OpenReview).order_by(OpenReview.id.desc())
    if state in open_review.STATES:
        query = query.where(OpenReview.state == state)
    reviews = db_session().scalars(query.limit(500)).all()
    return render_template("reviews/list.html", reviews=reviews, state=state, states=open_review.STATES)


@bp.get("/reviews/<int:review_id>")
@login_required
def show(review_id: int) -> str:
    db = db_session()
    review = open_review.get_review(db, review_id, viewer())
    scan = review.scan if review.state != "pending" else open_review.scan_summary(review.entry, review.proposed)
    return render_template(
        "reviews/show.html", review=review, scan=scan, states=open_review.STATES, checklist=open_review.CHECKLIST,
        may_decide=review.state == "pending" and viewer().role == Role.REVIEWER,  # type: ignore[union-attr]
        errors={}, form={},
    )


@bp.post("/reviews/<int:review_id>/<decision>")
@login_required
def decide(review_id: int, decision: str) -> Response | tuple[str, int]:
    db = db_session()
    review = open_review.get_review(db, review_id, viewer())
    conclusion = request.form.get("conclusion", "")[:4000]
    try:
        if decision == "approve":
            checklist = {key: request.form.get(key) == "yes" for key in open_review.CHECKLIST}
            open_review.approve(db, review, actor=viewer(), now=now(), checklist=checklist, conclusion=conclusion)
        elif decision == "reject":
            open_review.reject(db, review, actor=viewer(), now=now(), conclusion=conclusion)
        else:
            return redirect(url_for("reviews.show", review_id=review_id))
    except Invalid as invalid:
        db.rollback()
        review = open_review.get_review(db, review_id, viewer())
        return render_template(
            "reviews/show.html", review=review, scan=open_review.scan_summary(review.entry, review.proposed), states=open_review.STATES,
            checklist=open_review.CHECKLIST, may_decide=True, errors=invalid.errors, form=request.form,
        ), 400
    db.commit()
    flash(gettext("审查同意，开放属性已生效") if decision == "approve" else gettext("已记录不同意的审查意见"))
    return redirect(url_for("reviews.show", review_id=review_id))
