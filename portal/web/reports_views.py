"""(being written)"""

from __future__ import annotations

from flask import Blueprint, abort

bp = Blueprint("reports", __name__)


@bp.get("/reports/<int:report_id>")
def show(report_id: int) -> str:
    abort(404)
