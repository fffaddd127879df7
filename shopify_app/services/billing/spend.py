"""Spend controls: the merchant's settings and what the billing page and home banner show of
them, the automation texts skipped for lack of credits, and the per-shop check that fires the
low-balance alert and buys the auto-recharge pack, once per crossing.

The check runs periodically (every shop with spend controls, jobs/spend.py), and after a
setting changes. Cheap: two small reads and a balance sum per shop, nothing per message.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import func, select, update

from ...bulk import insert_new
from ...errors import ValidationFailed
from ...extensions import db
from ...job_names import CHECK_SHOP_SPEND
from ...models import (
    Automation,
    Message,
    MessageState,
    Shop,
    SpendAlert,
    SpendAlertKind,
    SpendControl,
    UsageCharge,
)
from ...models.types import utcnow
from . import credits
from .cycles import current_cycle
from .overage import UsageCapReached, buy_usage_credits, overage_used
from .plans import PACKS, plan_for
from .spend_cap import cap_room, committed_this_cycle, control_of, dump_spend_settings, load_spend_settings
from .subscriptions import usage_line_item
from .usage_cap import usage_cap

log = structlog.get_logger(__name__)

CREDIT_SKIPS = ("insufficient_credits", "spend_cap")


def spend_controls(*, shop: Shop) -> dict[str, Any]:
    """GET /api/billing/spend-controls: the settings, the figures they act on, open alerts."""
    settings = load_spend_settings(control_of(shop.id))
    _cycle, start = current_cycle(shop, utcnow())
    return {
        "settings": settings,
        "balance": credits.balance(shop_id=shop.id),
        "committed_this_cycle": committed_this_cycle(shop),
        "cap_room": cap_room(shop, settings["spend_cap_per_cycle"]),
        "usage_cap": {"cap": str(usage_cap(shop)), "used": str(overage_used(shop, start))},
        "auto_recharge_available": _can_recharge(shop),
        "alerts": open_alerts(shop_id=shop.id),
        "automation_skips": sum(automation_skips(shop=shop, since=start).values()),
    }


def update_spend_controls(*, shop: Shop, changes: Mapping[str, Any]) -> dict[str, Any]:
    """PATCH (validated by SpendSettingsUpdateSchema): the keys given change, then a check runs."""
    control = control_of(shop.id)
    current = load_spend_settings(control)
    changes = dict(changes)
    if "auto_recharge" in changes:
        changes["auto_recharge"] = {**current["auto_recharge"], **changes["auto_recharge"]}
    stored = dump_spend_settings({**current, **changes})
    if stored["auto_recharge"]["enabled"] and not _can_recharge(shop):
        message = "Auto-recharge buys credits on your plan's usage charges: choose Starter or Growth first."
        raise ValidationFailed(details={"fields": {"auto_recharge": {"enabled": [message]}}})
    if control is None:  # the shop's first save; a concurrent first save finds the same row
        armed = {"low_balance_fired": False, "recharge_fired": False}
        row = {"shop_id": shop.id, "settings": {}, "updated_at": utcnow(), **armed}
        row |= {"low_balance_crossings": 0, "recharge_crossings": 0}
        insert_new(SpendControl.__table__, [row], conflict=("shop_id",), returning=("id",))
        control = control_of(shop.id)
        assert control is not None
    control.settings = stored
    control.updated_at = utcnow()
    db.session.commit()
    log.info("spend_controls_updated", shop_id=shop.id)
    CHECK_SHOP_SPEND.delay(shop.id)  # a threshold above the balance alerts now, not in a minute
    return spend_controls(shop=shop)


def _can_recharge(shop: Shop) -> bool:
    return plan_for(shop).overage_cap > 0 and usage_line_item(shop) is not None


def notices(*, shop: Shop) -> dict[str, Any]:
    """What the home banner shows: the open alerts, and the automation texts skipped this cycle."""
    return {"alerts": open_alerts(shop_id=shop.id), "automation_skips": sum(automation_skips(shop=shop).values())}


def open_alerts(*, shop_id: int) -> list[SpendAlert]:
    return list(
        db.session.scalars(
            select(SpendAlert)
            .where(SpendAlert.shop_id == shop_id, SpendAlert.resolved_at.is_(None))
            .order_by(SpendAlert.id.desc())
        )
    )


def automation_skips(*, shop: Shop, since: datetime | None = None) -> dict[int, int]:
    """Texts of each automation skipped for lack of credits or the spend cap since `since`
    (default: the start of the billing cycle), by automation id."""
    since = since or current_cycle(shop, utcnow())[1]
    rows = db.session.execute(
        select(Automation.id, func.count(Message.id))
        .join(Message, Message.campaign_id == Automation.campaign_id)
        .where(
            Automation.shop_id == shop.id,
            Message.shop_id == shop.id,
            Message.state == MessageState.SKIPPED,
            Message.skip_reason.in_(CREDIT_SKIPS),
            Message.created_at >= since,
        )
        .group_by(Automation.id)
    ).all()
    return {int(automation_id): int(count) for automation_id, count in rows}


# --- the check: low-balance alert and auto-recharge, once per crossing ----------------------------


def _locked_control(shop_id: int) -> SpendControl | None:
    """The row re-read under a write lock (both backends): concurrent checks of a shop queue."""
    db.session.execute(
        update(SpendControl).where(SpendControl.shop_id == shop_id).values(updated_at=SpendControl.updated_at)
    )
    return db.session.scalar(
        select(SpendControl).where(SpendControl.shop_id == shop_id).execution_options(populate_existing=True)
    )


def check_shop(*, shop_id: int) -> dict[str, Any]:
    """Auto-recharge first (a bought pack may keep the balance above the alert), then the
    low-balance alarm. Returns what happened and the new alert's id (its email to enqueue)."""
    shop = db.session.get(Shop, shop_id)
    if shop is None or not shop.is_installed or control_of(shop_id) is None:
        return {"recharge": None, "alert_id": None}
    recharge = _recharge(shop)
    control = _locked_control(shop_id)
    assert control is not None
    alert_id = _low_balance(shop, control, load_spend_settings(control))
    db.session.commit()
    return {"recharge": recharge, "alert_id": alert_id}


def _low_balance(shop: Shop, control: SpendControl, settings: dict[str, Any]) -> int | None:
    threshold = settings["low_balance_threshold"]
    balance = credits.balance(shop_id=shop.id)
    if threshold is None or balance >= threshold:
        if control.low_balance_fired:  # re-armed: the next fall below alerts again
            control.low_balance_fired = False
            _resolve(shop.id, SpendAlertKind.LOW_BALANCE)
        return None
    if control.low_balance_fired:
        return None
    control.low_balance_fired = True
    control.low_balance_crossings += 1
    alert = SpendAlert(
        shop_id=shop.id,
        kind=SpendAlertKind.LOW_BALANCE,
        crossing=control.low_balance_crossings,
        balance=balance,
        threshold=threshold,
    )
    db.session.add(alert)
    db.session.flush()
    log.info("low_balance_alert", shop_id=shop.id, alert_id=alert.id, balance=balance, threshold=threshold)
    return alert.id


def _resolve(shop_id: int, kind: SpendAlertKind) -> None:
    db.session.execute(
        update(SpendAlert)
        .where(SpendAlert.shop_id == shop_id, SpendAlert.kind == kind, SpendAlert.resolved_at.is_(None))
        .values(resolved_at=utcnow())
    )


def _recharge(shop: Shop) -> str | None:
    """Buy the configured pack once per fall below `when_below` ("bought"), or record that the
    usage cap stops it ("paused", one alert per crossing). A Shopify failure raises after the
    charge was recorded: the retried job replays it under the same key."""
    control = _locked_control(shop.id)
    assert control is not None
    rule = load_spend_settings(control)["auto_recharge"]
    balance = credits.balance(shop_id=shop.id)
    if not rule["enabled"] or balance >= rule["when_below"]:
        if control.recharge_fired:
            control.recharge_fired = False
            _resolve(shop.id, SpendAlertKind.RECHARGE_PAUSED)
        db.session.commit()
        return None
    if not control.recharge_fired:
        control.recharge_fired = True
        control.recharge_crossings += 1
    crossing = control.recharge_crossings
    key = f"recharge:s{shop.id}:{crossing}"  # Shopify's idempotency keys: unique across shops too
    if _recharge_settled(shop.id, key):
        db.session.commit()
        return None
    db.session.commit()
    pack = PACKS[rule["pack"]]
    try:
        buy_usage_credits(
            shop=shop,
            credits_bought=pack.credits,
            amount=pack.price,
            key=key,
            description=f"Auto-recharge: {pack.credits:,} SMS credits",
        )
    except UsageCapReached as exc:
        _record_paused(shop, crossing, balance, rule["when_below"], exc.figures)
        return "paused"
    _resolve(shop.id, SpendAlertKind.RECHARGE_PAUSED)
    db.session.commit()
    log.info("auto_recharge_bought", shop_id=shop.id, crossing=crossing, credits=pack.credits)
    return "bought"


def _recharge_settled(shop_id: int, key: str) -> bool:
    """This crossing's pack was bought (Shopify answered). A paused one is tried again at each
    check (no Shopify call while the cap stops it): a raised cap lets it through."""
    bought = db.session.scalar(
        select(UsageCharge.id).where(
            UsageCharge.shop_id == shop_id, UsageCharge.idempotency_key == key, UsageCharge.usage_record_id.is_not(None)
        )
    )
    return bought is not None


def _record_paused(shop: Shop, crossing: int, balance: int, when_below: int, figures: dict[str, str]) -> None:
    row = {
        "shop_id": shop.id,
        "kind": SpendAlertKind.RECHARGE_PAUSED.value,
        "crossing": crossing,
        "balance": balance,
        "threshold": when_below,
        "created_at": utcnow(),
    }
    recorded = insert_new(SpendAlert.__table__, [row], conflict=("shop_id", "kind", "crossing"), returning=("id",))
    db.session.commit()
    if recorded:  # once per crossing, not at every check while the cap stops it
        log.warning("auto_recharge_paused", shop_id=shop.id, crossing=crossing, **figures)


def shops_to_check() -> list[int]:
    """Installed shops with spend controls (the periodic check walks them)."""
    return list(
        db.session.scalars(
            select(SpendControl.shop_id)
            .join(Shop, Shop.id == SpendControl.shop_id)
            .where(Shop.uninstalled_at.is_(None))
            .order_by(SpendControl.shop_id)
        )
    )
