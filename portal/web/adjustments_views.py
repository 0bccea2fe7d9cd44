"""(being written)"""

from __future__ import annotations

from flask import Blueprint, abort

bp = Blueprint("adjustments", __name__)


@bp.get("/adjustments/<int:adjustment_id>")
def show(adjustment_id: int) -> str:
    abort(404)
