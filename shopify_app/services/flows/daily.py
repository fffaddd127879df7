"""The daily triggers for step-engine flows: a birthday, and no order for the flow's number of
days (`trigger_config["days"]`), at the same shop-local hour as the daily automations.

The daily pass (automations/daily.py, every 15 minutes) calls in; a flow has no day marker of
its own: each pass from the hour on offers the day's contacts that this flow has not started on
within the day, and the run's key (the year of the birthday, the last order's time) makes any
second offer start nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select

from ...extensions import db
from ...models import AutomationKind, ConsentState, Contact, Flow, FlowEngine, FlowRun, Shop
from ..automations.definitions import DEFINITIONS, WIN_BACK_WINDOW
from .runs import start_flows

DAILY_TRIGGERS = ("birthday", "win_back")


def _local(shop: Shop, now: datetime) -> datetime:
    try:
        return now.astimezone(ZoneInfo(shop.timezone or "UTC"))
    except (KeyError, ValueError):
        return now.astimezone(ZoneInfo("UTC"))


def start_daily_flows(*, now: datetime) -> int:
    """Start today's birthday and win-back runs of every enabled step-engine flow; how many."""
    hour = int(DEFINITIONS[AutomationKind.BIRTHDAY].conditions["hour"])
    flows = db.session.scalars(
        select(Flow).where(
            Flow.enabled,
            Flow.engine == FlowEngine.STEPS,
            Flow.trigger.in_(DAILY_TRIGGERS),
            Flow.current_version_id.is_not(None),
        )
    ).all()
    started = 0
    for flow in flows:
        shop = db.session.get(Shop, flow.shop_id)
        if shop is None or not shop.is_installed:
            continue
        local = _local(shop, now)
        if local.hour < hour:
            continue
        for contact_id, key in _due_contacts(flow, local, now):
            started += len(
                start_flows(
                    shop_id=flow.shop_id, trigger=flow.trigger, contact_id=contact_id, key=key, flow_ids=[flow.id]
                )
            )
    db.session.commit()
    return started


def _due_contacts(flow: Flow, local: datetime, now: datetime) -> list[tuple[int, str]]:
    # A contact this flow started on within the day was offered today already (the key would
    # refuse it again): skipped in SQL, so the passes after the hour cost one query per flow.
    started_today = exists().where(
        FlowRun.flow_id == flow.id, FlowRun.contact_id == Contact.id, FlowRun.started_at >= now - timedelta(days=1)
    )
    subscribed = select(Contact.id).where(
        Contact.shop_id == flow.shop_id, Contact.consent_state == ConsentState.SUBSCRIBED, ~started_today
    )
    if flow.trigger == "birthday":
        day = local.date()
        leap = day.year % 4 == 0 and (day.year % 100 != 0 or day.year % 400 == 0)
        days = [day.day] + ([29] if (day.month, day.day) == (2, 28) and not leap else [])
        ids = db.session.scalars(subscribed.where(Contact.birth_month == day.month, Contact.birth_day.in_(days)))
        return [(contact_id, f"birthday:{day.year}") for contact_id in ids]
    cutoff = now - timedelta(days=int((flow.trigger_config or {}).get("days") or 90))
    rows = db.session.execute(
        subscribed.add_columns(Contact.last_order_at).where(
            Contact.last_order_at <= cutoff, Contact.last_order_at > cutoff - WIN_BACK_WINDOW
        )
    ).all()
    return [(contact_id, f"win_back:{last.isoformat()}") for contact_id, last in rows]
