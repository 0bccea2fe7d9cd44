"""(being written)"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api_v1", __name__)
