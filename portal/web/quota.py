"""Quotas over HTTP. (Being written: counting, 429 with Retry-After, X-RateLimit-* headers.)"""

from __future__ import annotations

from ..errors import Forbidden
from ..quotas import BULK_TIERS, tier_of
from ..vocab import N_
from .api_common import caller
from .common import db_session


def require_bulk() -> None:
    """Bulk and continuous services (full catalog dumps, large whole-resource exports, the change
    feed) are for real-name verified users and departments only (Art. 23)."""
    if tier_of(db_session(), caller().user) not in BULK_TIERS:
        raise Forbidden(N_("批量或持续获取数据的服务仅向通过实名认证的用户提供，请先完成实名认证（第二十三条）"))
