"""(being written)"""

from __future__ import annotations

from flask import Blueprint, abort

bp = Blueprint("reviews", __name__)


@bp.get("/reviews/<int:review_id>")
def show(review_id: int) -> str:
    abort(404)
