"""The "tag added" trigger: a tag a contact did not have (from the API, a CSV import, a flow's
own tag step) starts the shop's enabled flows on that tag, once per (flow, contact, tag).

A flow that tags a contact may start another flow, which may tag again: each start is once
per (flow, contact, tag) key, so a chain of flows tagging one another ends after each flow has
run once per tag, however the flows are drawn.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from ...extensions import db
from ...models import Flow, FlowEngine
from .runs import start_flows


def tag_key(tag: str) -> str:
    return f"tag:{tag.casefold()}"


def tags_added(*, shop_id: int, added: Iterable[tuple[int, str]]) -> list[int]:
    """Start the tag flows for each (contact id, tag) newly added; one query when the shop has
    none (a CSV import of thousands of tagged rows costs nothing then)."""
    wanted = {
        str(config.get("tag") or "").casefold()
        for config in db.session.scalars(
            select(Flow.trigger_config).where(
                Flow.shop_id == shop_id, Flow.trigger == "tag_added", Flow.enabled, Flow.engine == FlowEngine.STEPS
            )
        )
    } - {""}
    started: list[int] = []
    if not wanted:
        return started
    for contact_id, tag in added:
        if tag.casefold() in wanted:
            started += start_flows(
                shop_id=shop_id, trigger="tag_added", contact_id=contact_id, key=tag_key(tag), context={"tag": tag}
            )
    return started
