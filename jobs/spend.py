"""Spend-control jobs: the periodic low-balance / auto-recharge check, and the alert emails."""

from __future__ import annotations

import structlog

from shopify_app.extensions import db
from shopify_app.services.billing import billing

from . import job

log = structlog.get_logger(__name__)


@job("housekeeping", cross_shop=True)
def check_spend_controls() -> dict[str, int]:
    """Every shop with spend controls, one check each (its own transactions). A shop whose
    check fails (Shopify unavailable for its auto-recharge) goes on as its own job, which RQ
    retries, and the others are checked all the same."""
    summary = {"shops": 0, "alerts": 0, "recharges": 0, "deferred": 0}
    for shop_id in billing.shops_to_check():
        summary["shops"] += 1
        try:
            outcome = _check(shop_id)
        except Exception as exc:  # retried below, as the shop's own job
            db.session.rollback()
            log.warning("spend_check_failed", shop_id=shop_id, error=type(exc).__name__)
            check_shop_spend.delay(shop_id)
            summary["deferred"] += 1
            continue
        summary["alerts"] += int(outcome["alert_id"] is not None)
        summary["recharges"] += int(outcome["recharge"] == "bought")
    return summary


@job("housekeeping")
def check_shop_spend(shop_id: int) -> dict[str, object]:
    return _check(shop_id)


def _check(shop_id: int) -> dict[str, object]:
    """One shop's check, and the email of the alert it raised (a job of its own, retried alone)."""
    outcome = billing.check_spend(shop_id=shop_id)
    if outcome["alert_id"] is not None:
        email_spend_alert.delay(outcome["alert_id"])
    return outcome


@job("default")
def email_spend_alert(alert_id: int) -> str:
    """SMTP errors raise: RQ retries (JOB_MAX_ATTEMPTS); a sent alert is never sent again."""
    return billing.email_spend_alert(alert_id=alert_id)
