"""Automations: messages that send themselves when something happens in the shop.

A trigger (a Shopify webhook, a new subscriber, the daily tick) records an `automation_runs` row,
unique per (automation, contact, trigger key), due after the automation's delay. `dispatch_due`
(periodic, and a second after a trigger) turns due runs into message rows of the automation's
carrier campaign and enqueues them on the campaign send path, which applies consent, quiet
hours, caps, credits, rate limits and exactly-once like any campaign. A re-delivered webhook or
a re-run tick finds its run already recorded and sends nothing.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import and_, event, func, literal, or_, select, update
from sqlalchemy.orm import Session

from ...bulk import dialect_insert, insert_new, insert_or_nothing, on_postgresql
from ...errors import NotFound, ValidationFailed
from ...extensions import db
from ...job_names import AUTOMATIONS_DISPATCH
from ...models import (
    Automation,
    AutomationKind,
    AutomationRun,
    Campaign,
    CampaignKind,
    CampaignState,
    Checkout,
    ConsentSource,
    ConsentState,
    Contact,
    Message,
    MessageState,
    Order,
    RunState,
    Shop,
)
from ...models.campaign import WAITING_MESSAGE_STATES
from ...models.types import UTCDateTime, utcnow
from ...security.crypto import aad_for, keyring
from ..campaigns.campaigns import cancel_waiting_rows
from ..campaigns.templates import referenced_template
from ..contacts.contacts import when_subscribed
from ..contacts.inbox_replies import check_may_reply, opens_conversation
from ..ops.pagination import page
from ..sending.batches import enqueue_batch
from ..sending.rendering import VARIABLES, TemplateError, validate_template

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Definition:
    carrier: CampaignKind
    body: str
    delay_minutes: int = 0
    conditions: Mapping[str, int] = field(default_factory=dict)
    variables: tuple[str, ...] = VARIABLES
    listed: bool = True


DEFINITIONS: dict[AutomationKind, Definition] = {
    AutomationKind.WELCOME: Definition(
        CampaignKind.AUTOMATION, "Welcome to {{shop_name}}, {{first_name}}! Thanks for subscribing."
    ),
    AutomationKind.ABANDONED_CHECKOUT: Definition(
        CampaignKind.AUTOMATION,
        "{{first_name}}, you left something in your cart at {{shop_name}}: {{checkout_url}}",
        delay_minutes=120,  # "no order within N hours": the reminder waits this long
        variables=(*VARIABLES, "checkout_url"),
    ),
    AutomationKind.ORDER_CONFIRMATION: Definition(
        CampaignKind.TRANSACTIONAL,
        "{{shop_name}}: thanks for your order {{order_number}}! We'll text you when it ships.",
        variables=(*VARIABLES, "order_number"),
    ),
    AutomationKind.SHIPPING_UPDATE: Definition(
        CampaignKind.TRANSACTIONAL,
        "{{shop_name}}: order {{order_number}} is on its way. Track it: {{tracking_url}}",
        variables=(*VARIABLES, "order_number", "tracking_url"),
    ),
    AutomationKind.BIRTHDAY: Definition(
        CampaignKind.AUTOMATION,
        "Happy birthday, {{first_name}}! Something nice is waiting for you at {{shop_name}}.",
        conditions={"hour": 10},  # shop-local hour of the daily send
    ),
    AutomationKind.BACK_IN_STOCK: Definition(
        CampaignKind.AUTOMATION,
        "{{product_title}} is back in stock at {{shop_name}}: {{product_url}}",
        variables=(*VARIABLES, "product_title", "product_url"),
    ),
    AutomationKind.WIN_BACK: Definition(
        CampaignKind.AUTOMATION,
        "We miss you at {{shop_name}}, {{first_name}}! Come back and see what's new.",
        conditions={"days": 90, "hour": 10},  # no order in this many days; shop-local hour
    ),
    AutomationKind.INBOX_REPLY: Definition(CampaignKind.CONVERSATION, "{{shop_name}}", listed=False),
}
LISTED = tuple(kind for kind, definition in DEFINITIONS.items() if definition.listed)
CONDITION_LIMITS = {"hour": (0, 23), "days": (1, 3650)}
MAX_DELAY_MINUTES = 60 * 24 * 30
WIN_BACK_WINDOW = timedelta(days=7)  # a lapse older than this when enabled is not chased
# Consent given by the shopper (or their merchant on their behalf) welcomes them; an import of
# an existing list does not text everyone on it.
WELCOMED_SOURCES = frozenset(
    {
        ConsentSource.PROXY_FORM,
        ConsentSource.CONFIRMATION_LINK,
        ConsentSource.KEYWORD,
        ConsentSource.SHOPIFY,
        ConsentSource.ADMIN,
    }
)


# --- configuration ---------------------------------------------------------------------------


def ensure_automations(shop: Shop) -> list[Automation]:
    """Every listed automation of the shop, created disabled with its default text on first use."""
    existing = {a.kind: a for a in db.session.scalars(select(Automation).where(Automation.shop_id == shop.id))}
    missing = [kind for kind in LISTED if kind not in existing]
    for kind in missing:
        _create_automation(shop, kind, enabled=False)
    if missing:
        db.session.commit()
    rows = db.session.scalars(select(Automation).where(Automation.shop_id == shop.id, Automation.kind.in_(LISTED)))
    return sorted(rows, key=lambda a: LISTED.index(a.kind))


def _create_automation(shop: Shop, kind: AutomationKind, *, enabled: bool) -> None:
    """The shop's `kind` automation with its defaults, unless it exists (concurrent-safe)."""
    definition = DEFINITIONS[kind]
    now = utcnow()
    insert_or_nothing(
        Automation.__table__,
        {
            "shop_id": shop.id,
            "kind": kind.value,
            "enabled": enabled,
            "body": definition.body,
            "delay_minutes": definition.delay_minutes,
            "conditions": dict(definition.conditions),
            "created_at": now,
            "updated_at": now,
        },
        conflict=("shop_id", "kind"),
        returning="id",
    )


def get_automation(*, shop: Shop, automation_id: int) -> Automation:
    automation = db.session.scalar(
        select(Automation).where(
            Automation.id == automation_id, Automation.shop_id == shop.id, Automation.kind.in_(LISTED)
        )
    )
    if automation is None:
        raise NotFound("No such automation.", code="automation_not_found")
    return automation


def _invalid(name: str, message: str) -> ValidationFailed:
    return ValidationFailed(details={"fields": {name: [message]}})


def update_automation(*, shop: Shop, automation_id: int, data: Mapping[str, Any]) -> Automation:
    automation = get_automation(shop=shop, automation_id=automation_id)
    definition = DEFINITIONS[automation.kind]
    if data.get("template_id") is not None:
        template = referenced_template(shop=shop, template_id=data["template_id"])
        automation.template_id, automation.body = template.id, template.body
    if data.get("body") is not None:
        automation.body = data["body"]
    try:
        validate_template(automation.body, definition.variables)
    except TemplateError as exc:
        raise _invalid("body", exc.message) from None
    if "delay_minutes" in data:
        automation.delay_minutes = data["delay_minutes"]
    if data.get("conditions") is not None:
        automation.conditions = _conditions(definition, data["conditions"])
    if "enabled" in data:
        _set_enabled(automation, bool(data["enabled"]))
    if automation.campaign_id is not None:
        carrier = db.session.get(Campaign, automation.campaign_id)
        if carrier is not None:
            carrier.body = automation.body
    db.session.commit()
    log.info("automation_updated", shop_id=shop.id, automation_id=automation.id, enabled=automation.enabled)
    return automation


def _conditions(definition: Definition, raw: Mapping[str, Any]) -> dict[str, int]:
    unknown = set(raw) - set(definition.conditions)
    if unknown:
        allowed = ", ".join(sorted(definition.conditions)) or "none"
        raise _invalid("conditions", f"Unknown condition(s) {', '.join(sorted(unknown))}; allowed: {allowed}.")
    result = dict(definition.conditions)
    for name, value in raw.items():
        low, high = CONDITION_LIMITS[name]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise _invalid("conditions", f"{name} must be a whole number from {low} to {high}.")
        result[name] = value
    return result


def stop_all_automations(*, shop: Shop) -> None:
    """An uninstalled shop: every automation off (a reinstall starts with them off, as new)."""
    for automation in db.session.scalars(select(Automation).where(Automation.shop_id == shop.id)):
        _set_enabled(automation, False)
    db.session.flush()


def _set_enabled(automation: Automation, enabled: bool) -> None:
    """Turning an automation off stops it: pending runs and queued messages are cancelled."""
    if enabled:
        carrier_for(automation)
    elif automation.enabled:
        # The automation row first: a batch whose call then proves nothing was sent reads it
        # under a share lock before giving its rows back (services/sending.py), so it either
        # waits for this transaction and cancels them itself, or the cancel below finds them.
        automation.enabled = False
        db.session.flush()
        db.session.execute(
            update(AutomationRun)
            .where(AutomationRun.automation_id == automation.id, AutomationRun.state == RunState.PENDING)
            .values(state=RunState.CANCELLED, cancel_reason="automation_disabled")
        )
        if automation.campaign_id is not None:  # what a campaign's cancel cancels, no more
            cancel_waiting_rows(automation.campaign_id, skip_reason="automation_disabled")
    automation.enabled = enabled


def carrier_for(automation: Automation) -> Campaign:
    """The automation's hidden campaign, created once (the automation row is locked meanwhile)."""
    if automation.campaign_id is not None:
        campaign = db.session.get(Campaign, automation.campaign_id)
        if campaign is not None:
            return campaign
    db.session.execute(select(Automation.id).where(Automation.id == automation.id).with_for_update())
    db.session.refresh(automation)
    if automation.campaign_id is not None and (campaign := db.session.get(Campaign, automation.campaign_id)):
        return campaign
    now = utcnow()
    campaign = Campaign(
        shop_id=automation.shop_id,
        name=f"Automation: {automation.kind.value}",
        kind=DEFINITIONS[automation.kind].carrier,
        body=automation.body,
        state=CampaignState.SENDING,
        audience={},
        launched_at=now,
    )
    db.session.add(campaign)
    db.session.flush()
    automation.campaign_id = campaign.id
    return campaign


def list_runs(*, shop: Shop, automation_id: int, limit: int, cursor: str | None) -> tuple[list[Any], str | None]:
    automation = get_automation(shop=shop, automation_id=automation_id)
    query = select(AutomationRun).where(AutomationRun.automation_id == automation.id)
    return page(query, AutomationRun.id, limit=limit, cursor=cursor)


# --- triggers --------------------------------------------------------------------------------


def enabled_automation(shop_id: int, kind: AutomationKind) -> Automation | None:
    return db.session.scalar(
        select(Automation).where(Automation.shop_id == shop_id, Automation.kind == kind, Automation.enabled)
    )


def _sealed_context(shop_id: int, context: Mapping[str, Any] | None) -> str | None:
    if not context:
        return None
    aad = aad_for(table="automation_runs", column="context", shop_id=shop_id)
    return keyring().encrypt(json.dumps(dict(context), separators=(",", ":")), aad=aad)


def trigger(
    *,
    shop_id: int,
    kind: AutomationKind,
    contact_id: int,
    key: str,
    context: Mapping[str, Any] | None = None,
    at: datetime | None = None,
    automation: Automation | None = None,
    soon: bool = True,
) -> int | None:
    """Record a run of the shop's `kind` automation for the contact, once per `key`; the new
    run's id, or None when the automation is off or this trigger was seen before."""
    automation = automation or enabled_automation(shop_id, kind)
    if automation is None or not automation.enabled:
        return None
    now = utcnow()
    run_id = insert_or_nothing(
        AutomationRun.__table__,
        {
            "shop_id": shop_id,
            "automation_id": automation.id,
            "contact_id": contact_id,
            "trigger_key": key[:128],
            "state": RunState.PENDING.value,
            "due_at": (at or now) + timedelta(minutes=automation.delay_minutes),
            "context_ciphertext": _sealed_context(shop_id, context),
            "created_at": now,
        },
        conflict=("automation_id", "contact_id", "trigger_key"),
        returning="id",
    )
    if run_id is not None:
        log.info("automation_triggered", shop_id=shop_id, kind=kind.value, run_id=run_id)
        if soon and automation.delay_minutes == 0:
            db.session.info[DISPATCH_AFTER_COMMIT] = True  # enqueued once the run is committed
    return run_id


DISPATCH_AFTER_COMMIT = "automations_dispatch_after_commit"


@event.listens_for(Session, "after_commit")
def _dispatch_after_commit(session: Session) -> None:
    """A trigger's run is visible to a dispatcher only once committed: enqueue then (Redis only,
    no SQL, so it is safe in this hook)."""
    if session.info.pop(DISPATCH_AFTER_COMMIT, False):
        dispatch_soon()


@event.listens_for(Session, "after_rollback")
def _forget_dispatch(session: Session) -> None:
    session.info.pop(DISPATCH_AFTER_COMMIT, None)


def dispatch_soon() -> None:
    """A dispatch a second from now; one per second, however many triggers ask. The periodic
    tick is the safety net."""
    second = int(time.time())
    AUTOMATIONS_DISPATCH.delay(delay=timedelta(seconds=1), job_id=f"automations-dispatch-{second}")


def cancel_pending(*, shop_id: int, kinds: tuple[AutomationKind, ...], contact_id: int, reason: str) -> int:
    automation_ids = select(Automation.id).where(Automation.shop_id == shop_id, Automation.kind.in_(kinds))
    # Runs already turned into a message (waiting out quiet hours, or queued) are stopped too.
    dispatched = select(AutomationRun.id).where(
        AutomationRun.automation_id.in_(automation_ids.scalar_subquery()),
        AutomationRun.contact_id == contact_id,
        AutomationRun.state == RunState.QUEUED,
    )
    db.session.execute(
        update(Message)
        .where(
            Message.automation_run_id.in_(dispatched.scalar_subquery()),
            Message.state.in_(WAITING_MESSAGE_STATES),
        )
        .values(state=MessageState.CANCELLED, skip_reason=reason[:32]),
        execution_options={"synchronize_session": False},
    )
    result = db.session.execute(
        update(AutomationRun)
        .where(
            AutomationRun.automation_id.in_(automation_ids.scalar_subquery()),
            AutomationRun.contact_id == contact_id,
            AutomationRun.state == RunState.PENDING,
        )
        .values(state=RunState.CANCELLED, cancel_reason=reason),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount or 0)


@when_subscribed
def on_subscribed(contact: Contact, source: ConsentSource) -> None:
    """The welcome automation: once per contact, ever."""
    if source in WELCOMED_SOURCES:
        trigger(shop_id=contact.shop_id, kind=AutomationKind.WELCOME, contact_id=contact.id, key="welcome")


def on_checkout(*, shop: Shop, checkout: Checkout) -> None:
    if checkout.contact_id is None:
        return
    if checkout.completed_at is not None:
        cancel_pending(
            shop_id=shop.id,
            kinds=(AutomationKind.ABANDONED_CHECKOUT,),
            contact_id=checkout.contact_id,
            reason="checkout_completed",
        )
        return
    url = checkout.abandoned_checkout_url
    if url:
        trigger(
            shop_id=shop.id,
            kind=AutomationKind.ABANDONED_CHECKOUT,
            contact_id=checkout.contact_id,
            key=f"checkout:{checkout.token}",
            context={"checkout_url": url, "checkout_token": checkout.token},
        )


def on_order(*, shop: Shop, order: Order) -> None:
    """An order cancels the contact's pending cart reminders and win-back."""
    if order.contact_id is not None:
        cancel_pending(
            shop_id=shop.id,
            kinds=(AutomationKind.ABANDONED_CHECKOUT, AutomationKind.WIN_BACK),
            contact_id=order.contact_id,
            reason="order_placed",
        )


def on_order_paid(*, shop: Shop, contact: Contact, order_id: int, order_name: str | None) -> None:
    trigger(
        shop_id=shop.id,
        kind=AutomationKind.ORDER_CONFIRMATION,
        contact_id=contact.id,
        key=f"order:{order_id}",
        context={"order_number": order_name},
    )


def on_fulfillment(
    *, shop: Shop, contact: Contact, fulfillment_id: int, tracking: str, order_name: str | None, url: str | None
) -> None:
    """One text per fulfillment and tracking number: an update that changes nothing sends nothing."""
    trigger(
        shop_id=shop.id,
        kind=AutomationKind.SHIPPING_UPDATE,
        contact_id=contact.id,
        key=f"fulfillment:{fulfillment_id}:{tracking}",
        context={"order_number": order_name, "tracking_url": url},
    )


# --- dispatch --------------------------------------------------------------------------------


def _cancel_reason(automation: Automation, run: AutomationRun) -> str | None:
    """Why a due run should not send after all (checked when it falls due, not when triggered)."""
    if not automation.enabled:
        return "automation_disabled"
    shop = db.session.get(Shop, automation.shop_id)
    if shop is None or not shop.is_installed:
        return "shop_uninstalled"
    if automation.kind == AutomationKind.ABANDONED_CHECKOUT:
        token = run.trigger_key.removeprefix("checkout:")
        completed = db.session.scalar(
            select(Checkout.id).where(
                Checkout.shop_id == run.shop_id, Checkout.token == token, Checkout.completed_at.is_not(None)
            )
        )
        ordered = db.session.scalar(
            select(Order.id)
            .where(
                Order.shop_id == run.shop_id,
                or_(
                    Order.checkout_token == token,
                    and_(Order.contact_id == run.contact_id, Order.created_at >= run.created_at),
                ),
            )
            .limit(1)
        )
        if completed or ordered:
            return "order_placed"
    if automation.kind == AutomationKind.WIN_BACK:
        last = db.session.scalar(select(Contact.last_order_at).where(Contact.id == run.contact_id))
        if last is not None and last >= run.created_at:
            return "order_placed"
    return None


def dispatch_due(*, now: datetime | None = None, limit: int = 1000, run_ids: list[int] | None = None) -> dict[str, int]:
    """Due pending runs -> message rows of their carrier campaigns, and the batches enqueued.

    Runs are locked (`SKIP LOCKED`) and each message row is unique per run, so two dispatchers
    never create a second message for a run."""
    now = now or utcnow()
    query = select(AutomationRun).where(AutomationRun.state == RunState.PENDING, AutomationRun.due_at <= now)
    if run_ids is not None:
        query = query.where(AutomationRun.id.in_(run_ids))
    runs = list(
        db.session.scalars(
            query.order_by(AutomationRun.due_at, AutomationRun.id).limit(limit).with_for_update(skip_locked=True)
        )
    )
    if not runs:
        db.session.commit()
        return {"queued": 0, "cancelled": 0}
    automations = {
        a.id: a
        for a in db.session.scalars(select(Automation).where(Automation.id.in_({r.automation_id for r in runs})))
    }
    rows, cancelled = [], 0
    for run in runs:
        automation = automations[run.automation_id]
        reason = _cancel_reason(automation, run)
        if reason:
            run.state, run.cancel_reason = RunState.CANCELLED, reason
            cancelled += 1
            continue
        carrier = carrier_for(automation)
        rows.append(
            {
                "shop_id": run.shop_id,
                "campaign_id": carrier.id,
                "contact_id": run.contact_id,
                "automation_run_id": run.id,
                "state": MessageState.QUEUED.value,
                "attempts": 0,
                "created_at": now,
            }
        )
    inserted = insert_new(
        Message.__table__,
        rows,
        conflict=("automation_run_id",),
        conflict_where="automation_run_id IS NOT NULL",  # the unique index is partial
        returning=("id", "automation_run_id"),
    )
    message_of = {int(run_id): int(message_id) for message_id, run_id in inserted}
    spans: dict[int, list[int]] = defaultdict(list)
    for row in rows:
        run_id = row["automation_run_id"]
        if run_id in message_of:
            spans[row["campaign_id"]].append(message_of[run_id])
    db.session.execute(
        update(AutomationRun)
        .where(AutomationRun.id.in_([row["automation_run_id"] for row in rows]))
        .values(state=RunState.QUEUED),
        execution_options={"synchronize_session": False},
    )
    for run in runs:
        if run.id in message_of:
            run.message_id = message_of[run.id]
    db.session.commit()
    shop_of = {row["campaign_id"]: row["shop_id"] for row in rows}
    for campaign_id, ids in spans.items():
        enqueue_batch(campaign_id, min(ids), max(ids) + 1, shop_id=shop_of[campaign_id])
    summary = {"queued": len(message_of), "cancelled": cancelled}
    log.info("automations_dispatched", **summary)
    return summary


# --- daily automations -----------------------------------------------------------------------


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
        db.session.scalars(select(Automation).where(Automation.enabled, Automation.kind.in_(daily)))
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
    if any(created.values()):
        log.info("automation_daily_tick", **created)
    return created


def _stable_text(moment: Any) -> Any:
    """A timestamp as text that does not depend on the session's TimeZone or DateStyle."""
    if on_postgresql():
        return func.to_char(func.timezone("UTC", moment), 'YYYY-MM-DD"T"HH24:MI:SS')
    return db.func.cast(moment, db.String)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


# --- inbox replies ---------------------------------------------------------------------------


def inbox_automation(shop: Shop) -> Automation:
    """The shop's inbox-reply automation (always on) and its carrier campaign, made on first use."""
    _create_automation(shop, AutomationKind.INBOX_REPLY, enabled=True)
    automation = db.session.scalar(
        select(Automation).where(Automation.shop_id == shop.id, Automation.kind == AutomationKind.INBOX_REPLY)
    )
    assert automation is not None
    carrier_for(automation)
    return automation


def reply(*, shop: Shop, contact: Contact, text: str, key: str) -> tuple[AutomationRun, Message | None]:
    """The merchant's answer to a shopper, sent now through the send path (consent, quiet hours,
    credits). `key` makes a retried request send once. Returns the run and its message. Who may
    be answered and what a conversation's first reply adds: services/inbox_replies.py."""
    now = utcnow()
    check_may_reply(shop=shop, contact=contact, now=now)
    automation = inbox_automation(shop)
    assert automation.campaign_id is not None
    first = opens_conversation(contact=contact, campaign_id=automation.campaign_id, now=now)
    run_id = trigger(
        shop_id=shop.id,
        kind=AutomationKind.INBOX_REPLY,
        contact_id=contact.id,
        key=f"reply:{key}",
        context={"text": text, "footer": first},
        automation=automation,
        soon=False,
    )
    db.session.commit()
    if run_id is not None:
        log.info("inbox_reply", shop_id=shop.id, contact_id=contact.id, run_id=run_id)
        dispatch_due(run_ids=[run_id])
    run = db.session.scalar(
        select(AutomationRun).where(
            AutomationRun.automation_id == automation.id,
            AutomationRun.contact_id == contact.id,
            AutomationRun.trigger_key == f"reply:{key}"[:128],
        )
    )
    assert run is not None
    db.session.expire_all()
    message = db.session.scalar(select(Message).where(Message.automation_run_id == run.id))
    return run, message
