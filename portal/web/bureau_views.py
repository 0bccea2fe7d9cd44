"""(being written)"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("bureau", __name__)
