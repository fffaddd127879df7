"""The daily automations: birthday and win-back, once per shop-local day at the configured
hour, their runs inserted in bulk (one INSERT ... SELECT per automation).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import func, literal, or_, select, update

from ...bulk import dialect_insert, on_postgresql
from ...extensions import db
from ...models import Automation, AutomationKind, AutomationRun, ConsentState, Contact, RunState, Shop
from ...models.types import UTCDateTime, utcnow
from ..flows.daily import start_daily_flows
from .definitions import DEFINITIONS, WIN_BACK_WINDOW

log = structlog.get_logger(__name__)


def _local_today(shop: Shop, now: datetime) -> datetime:
    try:
        return now.astimezone(ZoneInfo(shop.timezone or "UTC"))
    except (KeyError, ValueError):
        return now.astimezone(ZoneInfo("UTC"))


def _claim_day(automation: Automation, day: date) -> bool:
    """Mark today's run of a daily automation; False when another tick did it already."""
    result = db.session.execute(
        update(Automation)
        .where(
            Automation.id == automation.id,
            or_(Automation.last_daily_run.is_(None), Automation.last_daily_run != day.isoformat()),
        )
        .values(last_daily_run=day.isoformat()),
        execution_options={"synchronize_session": False},
    )
    return bool(result.rowcount)


def _insert_runs(automation: Automation, contacts: Any, key: Any, now: datetime) -> int:
    """INSERT ... SELECT one run per selected contact; existing (automation, contact, key) skip."""
    source = contacts.with_only_columns(
        literal(automation.shop_id),
        literal(automation.id),
        Contact.id,
        key,
        literal(RunState.PENDING.value),
        literal(now + timedelta(minutes=automation.delay_minutes), type_=UTCDateTime()),
        literal(now, type_=UTCDateTime()),
    )
    columns = ["shop_id", "automation_id", "contact_id", "trigger_key", "state", "due_at", "created_at"]
    table = AutomationRun.__table__
    statement = dialect_insert(table).from_select(columns, source).on_conflict_do_nothing().returning(table.c.id)
    return len(db.session.execute(statement).all())


def daily_tick(*, now: datetime | None = None) -> dict[str, int]:
    """Birthday and win-back, once per shop-local day at the configured hour (win-back too)."""
    now = now or utcnow()
    created: dict[str, int] = {"birthday": 0, "win_back": 0}
    daily = (AutomationKind.BIRTHDAY, AutomationKind.WIN_BACK)
    for automation in list(
        db.session.scalars(
            # A retired automation's flow runs on the step engine now (start_daily_flows below).
            select(Automation).where(Automation.enabled, Automation.retired_at.is_(None), Automation.kind.in_(daily))
        )
    ):
        shop = db.session.get(Shop, automation.shop_id)
        if shop is None or not shop.is_installed:
            continue
        local = _local_today(shop, now)
        hour = int(automation.conditions.get("hour", DEFINITIONS[AutomationKind.BIRTHDAY].conditions["hour"]))
        if local.hour < hour or not _claim_day(automation, local.date()):
            continue
        subscribed = select(Contact.id).where(
            Contact.shop_id == shop.id, Contact.consent_state == ConsentState.SUBSCRIBED
        )
        if automation.kind == AutomationKind.BIRTHDAY:
            day = local.date()
            days = [day.day] + ([29] if (day.month, day.day) == (2, 28) and not _leap(day.year) else [])
            contacts = subscribed.where(Contact.birth_month == day.month, Contact.birth_day.in_(days))
            key = literal(f"birthday:{day.year}")
        else:
            cutoff = now - timedelta(days=int(automation.conditions.get("days", 90)))
            contacts = subscribed.where(
                Contact.last_order_at <= cutoff, Contact.last_order_at > cutoff - WIN_BACK_WINDOW
            )
            key = literal("win_back:") + _stable_text(Contact.last_order_at)
        count = _insert_runs(automation, contacts, key, now)
        created[automation.kind.value] += count
        db.session.commit()
    flows = start_daily_flows(now=now)  # the step-engine flows on these triggers
    if any(created.values()) or flows:
        log.info("automation_daily_tick", flow_runs=flows, **created)
    return created


def _stable_text(moment: Any) -> Any:
    """A timestamp as text that does not depend on the session's TimeZone or DateStyle."""
    if on_postgresql():
        return func.to_char(func.timezone("UTC", moment), 'YYYY-MM-DD"T"HH24:MI:SS')
    return db.func.cast(moment, db.String)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
