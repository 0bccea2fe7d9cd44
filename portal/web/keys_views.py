"""API keys and quotas over HTTP.

- /account/keys: the viewer's keys (name, prefix…, scopes, created, last used, revoked), the form
  to create one (the key is shown once, on the answer to that POST, never again) and revocation;
  /account/keys/<id>/usage: the last 30 days of a key as a table and an SVG bar chart drawn here
  (no script: the CSP forbids inline scripts and outside resources).
- /bureau/quotas: the Bureau edits each tier's numbers (audited as quota:change);
  /bureau/usage: every key's usage per day, the top users, by date range.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Callable

from flask import Blueprint, Response, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import login_required
from markupsafe import Markup, escape

from .. import api_keys, quotas, usage
from ..errors import Invalid
from ..models import User
from ..quota_tiers import BULK_TIERS, DEFAULTS, MB, TIER_LABELS, TIERS, Limits, set_tier_limits, tier_changes, tier_limits, tier_of
from ..vocab import N_
from .bureau_views import _bureau_only
from .common import db_session, now, viewer
from .quota import forget_limits

bp = Blueprint("keys", __name__)

USAGE_DAYS_SHOWN = 30


def _me() -> User:
    user = viewer()
    assert user is not None  # login_required
    return user


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


# -- the viewer's keys ---------------------------------------------------------------------


def _keys_page(errors: dict[str, str] | None = None, values: dict[str, Any] | None = None) -> Response:
    db, user = db_session(), _me()
    tier = tier_of(db, user)
    page = render_template(
        "keys/index.html", keys=api_keys.keys_of(db, user), scopes=api_keys.SCOPES, allowed=api_keys.allowed_scopes(user),
        tier=tier, tier_label=TIER_LABELS[tier], limits=tier_limits(db)[tier], bulk=tier in BULK_TIERS,
        errors=errors or {}, values=values or {"scopes": ["read"]}, max_keys=api_keys.MAX_KEYS,
    )
    return _no_store(make_response(page, 400 if errors else 200))


@bp.get("/account/keys")
@login_required
def index() -> Response:
    return _keys_page()


@bp.post("/account/keys")
@login_required
def create() -> Response:
    db, user = db_session(), _me()
    name, scopes = request.form.get("name", "")[:200], request.form.getlist("scopes")[:5]
    try:
        row, key = api_keys.create_key(db, user, name=name, scopes=[s[:20] for s in scopes], now=now())
    except Invalid as invalid:
        db.rollback()
        return _keys_page(invalid.errors, {"name": name, "scopes": scopes})
    db.commit()
    return _no_store(make_response(render_template("keys/created.html", row=row, key=key, scopes=api_keys.SCOPES)))


@bp.post("/account/keys/<int:key_id>/revoke")
@login_required
def revoke(key_id: int) -> Response:
    db = db_session()
    row = api_keys.revoke_key(db, _me(), key_id, now=now())
    db.commit()
    flash(gettext("已吊销密钥 %(prefix)s…（%(name)s），使用它的请求将被拒绝。", prefix=row.prefix, name=row.name))
    return redirect(url_for("keys.index"))  # type: ignore[return-value]


@bp.get("/account/keys/<int:key_id>/usage")
@login_required
def key_usage(key_id: int) -> Response:
    db = db_session()
    row = api_keys.get_key(db, key_id, viewer=_me())
    days = usage.key_usage(db, row, today=quotas.china_day(now()), days=USAGE_DAYS_SHOWN)
    return _no_store(make_response(render_template(
        "keys/usage.html", row=row, days=days, scopes=api_keys.SCOPES,
        calls_chart=bar_chart([(d.day, d.calls) for d in days], ident="chart-calls", title=gettext("每日调用次数"), fmt=_calls),
        bytes_chart=bar_chart([(d.day, d.bytes) for d in days], ident="chart-bytes", title=gettext("每日数据量"), fmt=_size),
        total_calls=sum(d.calls for d in days), total_bytes=sum(d.bytes for d in days),
    )))


# -- the Bureau ----------------------------------------------------------------------------


def _quotas_page(errors: dict[str, str] | None = None, tier: str = "") -> tuple[str, int]:
    db = db_session()
    return render_template(
        "bureau/quotas.html", tiers=TIERS, labels=TIER_LABELS, limits=tier_limits(db),
        defaults=DEFAULTS, changes=tier_changes(db), bulk=BULK_TIERS, errors=errors or {},
        failed_tier=tier, mb=_mb,
    ), 400 if errors else 200


@bp.get("/bureau/quotas")
@login_required
def quota_tiers() -> tuple[str, int]:
    _bureau_only()
    return _quotas_page()


def _posted_limits(current: Limits) -> Limits:
    """The numbers of the form: calls as integers, bytes in MB (decimals allowed)."""
    errors, values = {}, {}
    for name, unit in (("per_minute", 1), ("per_day", 1), ("bytes_per_day", MB), ("max_export_bytes", MB)):
        raw = request.form.get(name)
        if raw is None:  # a field the form does not show keeps its value
            values[name] = getattr(current, name)
            continue
        try:
            number = float(raw.strip()[:30] or "0") if unit == MB else int(raw.strip()[:30] or "0")
        except ValueError:
            errors[name] = N_("请填写非负整数") if unit == 1 else N_("请填写以 MB 计的非负数")
            continue
        if number < 0 or number != number:  # negative or NaN
            errors[name] = N_("不能为负数")
            continue
        values[name] = int(round(number * unit)) if number * unit < 1 << 60 else 1 << 60
    if errors:
        raise Invalid(errors)
    return Limits(**values)


@bp.post("/bureau/quotas")
@login_required
def set_quota() -> Any:
    user = _bureau_only()
    db = db_session()
    tier = request.form.get("tier", "")[:20]
    try:
        if tier not in TIERS:
            raise Invalid({"tier": N_("没有这一配额等级")})
        changed = set_tier_limits(db, tier, _posted_limits(tier_limits(db)[tier]), actor=user, now=now())
    except Invalid as invalid:
        db.rollback()
        return _quotas_page(invalid.errors, tier)
    db.commit()
    forget_limits()
    label = gettext(TIER_LABELS[tier])
    flash(gettext("已保存“%(tier)s”的配额，立即生效。", tier=label) if changed else gettext("“%(tier)s”的配额未改变。", tier=label))
    return redirect(url_for("keys.quota_tiers") + f"#tier-{tier}")


def _date_arg(name: str, default: date) -> date:
    try:
        return date.fromisoformat(request.args.get(name, "")[:10])
    except ValueError:
        return default


@bp.get("/bureau/usage")
@login_required
def bureau_usage() -> str:
    _bureau_only()
    db = db_session()
    today = quotas.china_day(now())
    start, end = usage.clamp_range(_date_arg("start", today - timedelta(days=6)), _date_arg("end", today))
    rows, more = usage.keys_usage(db, start=start, end=end)
    totals = usage.daily_totals(db, start=start, end=end)
    return render_template(
        "bureau/usage.html", start=start, end=end, rows=rows, more=more, top=usage.top_users(db, start=start, end=end),
        calls_chart=bar_chart([(d.day, d.calls) for d in totals], ident="chart-calls", title=gettext("所有密钥的每日调用次数"), fmt=_calls),
        total_calls=sum(d.calls for d in totals), total_bytes=sum(d.bytes for d in totals),
    )


# -- the chart -----------------------------------------------------------------------------


def _calls(n: int) -> str:
    return gettext("%(n)s 次", n=f"{n:,}")


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _mb(n: int) -> str:
    """Bytes as MB for the form (no trailing zeros)."""
    return f"{n / MB:.6f}".rstrip("0").rstrip(".")


def _nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten that is at least `value` (at least 1)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def bar_chart(points: list[tuple[date, int]], *, ident: str, title: str, fmt: Callable[[int], str]) -> Markup:
    """An SVG bar chart, one bar a day, drawn on the server: presentation attributes only (the
    CSP allows no inline style), a <title> on each bar, and role="img" with the chart's title.
    The table next to it carries the same numbers for screen readers."""
    width, height, left, right, top, bottom = 720, 220, 70, 10, 12, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    ceiling = _nice_ceiling(max((v for _, v in points), default=0))
    step = plot_w / max(len(points), 1)
    bar = max(1.0, step * 0.7)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-labelledby="{ident}"><title id="{ident}">{escape(title)}</title>'
    ]
    for fraction in (0, 0.5, 1):
        y = top + plot_h - plot_h * fraction
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#d5dde8" stroke-width="1"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#5b6b7f">{escape(fmt(int(ceiling * fraction)))}</text>')
    every = max(1, -(-len(points) // 8))
    for n, (day, value) in enumerate(points):
        h = plot_h * value / ceiling
        x = left + n * step + (step - bar) / 2
        parts.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="#1f5fa8">'
            f"<title>{day:%Y-%m-%d}：{escape(fmt(value))}</title></rect>"
        )
        if n % every == 0 or n == len(points) - 1:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{height - 10}" text-anchor="middle" font-size="11" fill="#5b6b7f">{day:%m-%d}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # every piece of text in it went through escape()

