"""A shop's spend settings as stored, and the per-cycle spend cap the ledger enforces.

What a cycle has committed is what it spent (debits less refunds since the cycle began) plus
what is held now (launch and message holds not yet charged or given back): a hold is spend
that may still happen, so two launches cannot together pass the cap by each seeing the other's
hold as free. Read with the shop row locked (`credits.lock_shop`), in the transaction that then
adds the hold, so the check and the hold are one step for every launch, batch and automation.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from ...errors import PaymentRequired
from ...extensions import db
from ...models import CreditLedger, LedgerKind, Shop, SpendControl
from ...models.types import utcnow
from ...schemas.spend import SpendSettingsSchema
from .cycles import current_cycle

_schema = SpendSettingsSchema()
HOLD_KINDS = (LedgerKind.RESERVE, LedgerKind.RESERVE_RELEASE, LedgerKind.RELEASE)
SPEND_KINDS = (LedgerKind.DEBIT, LedgerKind.REFUND)


class SpendCapReached(PaymentRequired):
    code = "spend_cap_reached"


def control_of(shop_id: int) -> SpendControl | None:
    return db.session.scalar(select(SpendControl).where(SpendControl.shop_id == shop_id))


def load_spend_settings(control: SpendControl | None) -> dict[str, Any]:
    """The settings with defaults filled in (no threshold, no auto-recharge, no cap)."""
    return dict(_schema.load(dict(control.settings or {}) if control else {}))


def dump_spend_settings(settings: dict[str, Any]) -> dict[str, Any]:
    return dict(_schema.dump(_schema.load(settings)))


def balance_and_committed(shop: Shop) -> tuple[int, int]:
    """The balance and what this cycle has committed, in one pass over the shop's ledger (a
    batch's hold reads both; two sums would scan the rows twice)."""
    _cycle, start = current_cycle(shop, utcnow())
    total, spent, held = db.session.execute(
        select(
            func.coalesce(func.sum(CreditLedger.amount), 0),
            func.coalesce(
                func.sum(CreditLedger.amount).filter(
                    CreditLedger.kind.in_(SPEND_KINDS), CreditLedger.created_at >= start
                ),
                0,
            ),
            # Holds count whenever made (still held is still held); spend only this cycle's.
            func.coalesce(func.sum(CreditLedger.amount).filter(CreditLedger.kind.in_(HOLD_KINDS)), 0),
        ).where(CreditLedger.shop_id == shop.id)
    ).one()
    return int(total or 0), -int(spent or 0) - int(held or 0)


def committed_this_cycle(shop: Shop) -> int:
    return balance_and_committed(shop)[1]


def cap_of(shop_id: int) -> int | None:
    return load_spend_settings(control_of(shop_id))["spend_cap_per_cycle"]


def cap_room(shop: Shop, cap: int | None) -> int | None:
    """Credits the cap still allows this cycle (None: no cap). Call with the shop row locked."""
    if cap is None:
        return None
    return max(0, cap - committed_this_cycle(shop))


def check_launch(*, shop: Shop, amount: int) -> None:
    """402 `spend_cap_reached` with the figures when holding `amount` would pass the cap."""
    cap = cap_of(shop.id)
    if cap is None:
        return
    committed = committed_this_cycle(shop)
    if committed + amount > cap:
        raise SpendCapReached(
            "This would pass this cycle's spend cap. Raise the cap in Billing, or wait for the next cycle.",
            details={
                "required": amount,
                "spend_cap": cap,
                "committed_this_cycle": committed,
                "room": max(0, cap - committed),
            },
        )
