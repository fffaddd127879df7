"""Shopify Flow: our triggers on their way to Flow, and the actions Flow asked of us
(services/shopify_flow/)."""

from __future__ import annotations

from shopify_app.services.shopify_flow import actions, triggers

from . import job


@job("default")
def send_trigger(shop_id: int, handle: str, contact_id: int, click_id: int | None, source: str | None) -> str:
    """One `flowTriggerReceive`; throttling, outages and userErrors raise (RQ retries, then parks it)."""
    return triggers.send_trigger(
        shop_id=shop_id, handle=handle, contact_id=contact_id, click_id=click_id, source=source
    )


@job("default")
def run_action(action_id: int) -> str:
    """Do one recorded Flow action run; a re-run after a crash does nothing twice."""
    return actions.run_action(action_id=action_id)
