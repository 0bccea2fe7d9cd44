"""(being written)"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("ckan", __name__)
