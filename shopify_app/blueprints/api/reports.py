"""/api/reports: per campaign and per period, as JSON or CSV (`?format=csv`); /api/audit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, g, jsonify
from sqlalchemy import select

from ...models import AuditLog
from ...schemas.campaigns import ListQuerySchema
from ...schemas.reports import AuditEntrySchema, ReportFormatSchema, SummaryQuerySchema
from ...services.campaigns import report_cache, reports
from ...services.ops.pagination import page
from .blueprint import bp
from .common import query_args


def _answer(
    query: str,
    compute: Callable[[], dict[str, Any]],
    *,
    csv_format: bool,
    leading: tuple[str, str],
    filename: str,
    trailing: tuple[str, ...] = (),
) -> Response:
    """The report from the cache or freshly computed, as JSON or CSV, with `X-Cache`."""
    report, hit = report_cache.cached(g.shop.id, query, compute)
    if csv_format:
        response = Response(
            reports.as_csv(report, leading=leading, trailing=trailing),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
        )
    else:
        response = jsonify(report)
    response.headers["X-Cache"] = "HIT" if hit else "MISS"
    return response


@bp.get("/reports/campaigns/<int:campaign_id>")
def campaign_report(campaign_id: int) -> Response:
    args = query_args(ReportFormatSchema())
    return _answer(
        f"campaign:{campaign_id}",
        lambda: reports.campaign_report(shop=g.shop, campaign_id=campaign_id),
        csv_format=args["format"] == "csv",
        leading=("campaign_id", "name"),
        filename=f"campaign-{campaign_id}.csv",
    )


@bp.get("/reports/summary")
def summary_report() -> Response:
    args = query_args(SummaryQuerySchema())
    first, last = args["first"], args["last"]
    return _answer(
        f"summary:{first}:{last}",
        lambda: reports.summary_report(shop=g.shop, first=first, last=last),
        csv_format=args["format"] == "csv",
        leading=("from", "to"),
        filename="summary.csv",
        trailing=("subscribers_gained",),
    )


@bp.get("/audit")
def audit_log() -> Response:
    args = query_args(ListQuerySchema())
    query = select(AuditLog).where(AuditLog.shop_id == g.shop.id)
    rows, next_cursor = page(query, AuditLog.id, limit=args["limit"], cursor=args["cursor"])
    return jsonify({"items": AuditEntrySchema(many=True).dump(rows), "next_cursor": next_cursor})
