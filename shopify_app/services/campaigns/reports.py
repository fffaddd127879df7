"""Campaign and period reports: what was sent and delivered, clicked, bought, and what it cost.

Definitions (one place, used by the JSON and the CSV):
- sent: messages the provider accepted (`sent_at` set), whatever happened after;
- delivered / failed: their final state (failed includes provider rejections);
- delivery_rate = delivered / sent; clicks: every click on the campaign's links;
  unique_clicks: messages with at least one click; ctr = unique_clicks / sent;
- orders / revenue: attributed orders (services/attribution.py), revenue per currency;
- opt_outs: unsubscribes by contacts of the campaign after their message was sent (within 7
  days of the launch for a campaign);
- credits_spent: credits of sent messages minus refunds; credits_per_order = credits_spent / orders;
- subscribers_gained (period summary only): contacts with a subscription in the period, each once.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, distinct, func, select, text

from ...bulk import on_postgresql
from ...extensions import db
from ...models import (
    Attribution,
    Click,
    ConsentEvent,
    ConsentState,
    CreditLedger,
    LedgerKind,
    Message,
    MessageStat,
    MessageState,
    Shop,
)
from ..contacts.spreadsheet import safe_cell
from .queries import get_campaign

OPT_OUT_WINDOW = timedelta(days=7)
SUMMARY_DAYS = 30  # the period summary's default: the last 30 UTC days, today included


def _ratio(numerator: int | Decimal, denominator: int) -> float | None:
    return round(float(numerator) / denominator, 4) if denominator else None


def _figures(
    *,
    by_state: Mapping[str, tuple[int, int, int]],
    clicks: int,
    unique_clicks: int,
    orders: list[tuple[str | None, int, Decimal]],
    opt_outs: int,
    refunds: int,
) -> dict[str, Any]:
    sent = sum(accepted for _count, accepted, _credits in by_state.values())
    delivered = by_state.get(MessageState.DELIVERED.value, (0, 0, 0))[0]
    failed = by_state.get(MessageState.FAILED.value, (0, 0, 0))[0]
    order_count = sum(count for _currency, count, _amount in orders)
    credits_spent = sum(credits for _count, _accepted, credits in by_state.values()) - refunds
    return {
        "messages": sum(count for count, _accepted, _credits in by_state.values()),
        "sent": sent,
        "delivered": delivered,
        "failed": failed,
        "delivery_rate": _ratio(delivered, sent),
        "clicks": clicks,
        "unique_clicks": unique_clicks,
        "ctr": _ratio(unique_clicks, sent),
        "orders": order_count,
        "revenue": {currency or "unknown": str(amount) for currency, _count, amount in orders},
        "opt_outs": opt_outs,
        "credits_spent": credits_spent,
        "credits_per_order": _ratio(credits_spent, order_count),
    }


def _counted(*conditions: Any) -> dict[str, tuple[int, int, int]]:
    """`_by_state` from the trigger-kept deltas (PostgreSQL): a few rows, not the messages."""
    rows = db.session.execute(
        select(
            MessageStat.state,
            func.sum(MessageStat.messages),
            func.sum(MessageStat.accepted),
            func.sum(MessageStat.credits),
        )
        .where(*conditions)
        .group_by(MessageStat.state)
    ).all()
    return {MessageState(state).value: (int(n), int(a), int(c)) for state, n, a, c in rows if n or a or c}


def _by_state(*conditions: Any) -> dict[str, tuple[int, int, int]]:
    """Per state: (messages, accepted by the provider, credits of those accepted)."""
    accepted = Message.sent_at.is_not(None)
    rows = db.session.execute(
        select(
            Message.state,
            func.count(),
            func.count(Message.sent_at),
            func.coalesce(func.sum(Message.credits).filter(accepted), 0),
        )
        .where(*conditions)
        .group_by(Message.state)
    ).all()
    return {MessageState(state).value: (int(n), int(a), int(c or 0)) for state, n, a, c in rows}


def _orders(*conditions: Any) -> list[tuple[str | None, int, Decimal]]:
    rows = db.session.execute(
        select(Attribution.currency, func.count(), func.coalesce(func.sum(Attribution.amount), 0))
        .where(*conditions)
        .group_by(Attribution.currency)
    ).all()
    return [(currency, int(count), Decimal(str(amount))) for currency, count, amount in rows]


def _refunds(*conditions: Any) -> int:
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(CreditLedger.amount), 0)).where(
                CreditLedger.kind == LedgerKind.REFUND, *conditions
            )
        )
        or 0
    )


def campaign_report(*, shop: Shop, campaign_id: int) -> dict[str, Any]:
    campaign = get_campaign(shop=shop, campaign_id=campaign_id)
    clicks, unique_clicks = db.session.execute(
        select(func.count(), func.count(distinct(Click.message_id))).where(
            Click.campaign_id == campaign.id, Click.shop_id == shop.id
        )
    ).one()
    opt_outs = 0
    if campaign.launched_at is not None:
        # From the (few) unsubscribe events since the launch to this campaign's message rows,
        # through the (campaign_id, contact_id) unique index: no scan of the campaign's messages.
        opt_outs = int(
            db.session.scalar(
                select(func.count(distinct(ConsentEvent.contact_id)))
                .join(
                    Message,
                    and_(Message.contact_id == ConsentEvent.contact_id, Message.campaign_id == campaign.id),
                )
                .where(
                    ConsentEvent.shop_id == shop.id,
                    ConsentEvent.state == ConsentState.UNSUBSCRIBED,
                    ConsentEvent.occurred_at >= campaign.launched_at,
                    ConsentEvent.occurred_at < campaign.launched_at + OPT_OUT_WINDOW,
                    ConsentEvent.occurred_at >= Message.sent_at,
                )
            )
            or 0
        )
    by_state = (
        _counted(MessageStat.campaign_id == campaign.id)
        if on_postgresql()
        else _by_state(Message.campaign_id == campaign.id)
    )
    figures = _figures(
        by_state=by_state,
        clicks=int(clicks),
        unique_clicks=int(unique_clicks),
        orders=_orders(Attribution.campaign_id == campaign.id, Attribution.shop_id == shop.id),
        opt_outs=opt_outs,
        refunds=_refunds(CreditLedger.campaign_id == campaign.id),
    )
    return {"campaign_id": campaign.id, "name": campaign.name, "state": campaign.state.value, **figures}


def summary_report(*, shop: Shop, first: date, last: date) -> dict[str, Any]:
    """Everything the shop sent (campaigns and automations) on the UTC days first..last."""
    start = datetime.combine(first, time.min, tzinfo=UTC)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC)
    if on_postgresql():
        by_state = _counted(MessageStat.shop_id == shop.id, MessageStat.day >= first, MessageStat.day <= last)
    else:
        by_state = _by_state(Message.shop_id == shop.id, Message.sent_at >= start, Message.sent_at < end)
    clicks, unique_clicks = db.session.execute(
        select(func.count(), func.count(distinct(Click.message_id))).where(
            Click.shop_id == shop.id, Click.clicked_at >= start, Click.clicked_at < end
        )
    ).one()
    opt_outs = db.session.scalar(
        select(func.count()).where(
            ConsentEvent.shop_id == shop.id,
            ConsentEvent.state == ConsentState.UNSUBSCRIBED,
            ConsentEvent.occurred_at >= start,
            ConsentEvent.occurred_at < end,
        )
    )
    figures = _figures(
        by_state=by_state,
        clicks=int(clicks),
        unique_clicks=int(unique_clicks),
        orders=_orders(
            Attribution.shop_id == shop.id, Attribution.attributed_at >= start, Attribution.attributed_at < end
        ),
        opt_outs=int(opt_outs or 0),
        refunds=_refunds(
            CreditLedger.shop_id == shop.id, CreditLedger.created_at >= start, CreditLedger.created_at < end
        ),
    )
    # Contacts who subscribed in the period (a first sign-up or a return after a STOP), each once.
    gained = db.session.scalar(
        select(func.count(distinct(ConsentEvent.contact_id))).where(
            ConsentEvent.shop_id == shop.id,
            ConsentEvent.state == ConsentState.SUBSCRIBED,
            ConsentEvent.occurred_at >= start,
            ConsentEvent.occurred_at < end,
        )
    )
    return {"from": first.isoformat(), "to": last.isoformat(), **figures, "subscribers_gained": int(gained or 0)}


CSV_COLUMNS = (
    "messages",
    "sent",
    "delivered",
    "failed",
    "delivery_rate",
    "clicks",
    "unique_clicks",
    "ctr",
    "orders",
    "revenue",
    "opt_outs",
    "credits_spent",
    "credits_per_order",
)


def as_csv(report: Mapping[str, Any], *, leading: tuple[str, ...], trailing: tuple[str, ...] = ()) -> str:
    """One header row and one data row; revenue as `USD 12.00; EUR 3.00`."""
    out = io.StringIO()
    writer = csv.writer(out)
    columns = (*leading, *CSV_COLUMNS, *trailing)
    writer.writerow(columns)
    row = []
    for column in columns:
        value = report.get(column)
        if column == "revenue":
            value = "; ".join(f"{currency} {amount}" for currency, amount in sorted(value.items()))
        elif isinstance(value, datetime):
            value = value.isoformat()
        row.append("" if value is None else safe_cell(value))  # a campaign name is merchant text
    writer.writerow(row)
    return out.getvalue()


def compact_stats() -> int:
    """Periodic (PostgreSQL): fold the deltas into one row per (campaign, shop, day, state), in one
    statement, so concurrent trigger inserts (ids above the cut) are never lost. Returns rows folded."""
    if not on_postgresql():
        return 0
    cut = db.session.scalar(select(func.max(MessageStat.id)))
    if cut is None:
        return 0
    folded = db.session.execute(
        text(
            """
            WITH moved AS (DELETE FROM message_stats WHERE id <= :cut RETURNING *)
            INSERT INTO message_stats (campaign_id, shop_id, day, state, messages, accepted, credits)
            SELECT campaign_id, shop_id, day, state, sum(messages), sum(accepted), sum(credits)
            FROM moved GROUP BY campaign_id, shop_id, day, state
            HAVING sum(messages) <> 0 OR sum(accepted) <> 0 OR sum(credits) <> 0
            """
        ),
        {"cut": cut},
    ).rowcount
    db.session.commit()
    return int(folded or 0)
