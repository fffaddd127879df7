"""A flow's report: per send step and for the whole flow, what was sent, delivered, clicked and
bought (attributed orders and their revenue), and per step how many runs took it and how
(yes / no at a condition, exits and skips by reason); for the flow, its runs by state.

The message figures follow the campaign report's definitions (campaigns/reports.py): a send
step's texts are its automations' carrier campaigns' messages, so "sent" is a message the
provider accepted, clicks count every click, orders are the attributions to those campaigns.
A step's history spans its versions: every automation the step has had (same step id, any
text) counts. A flow made from an automation counts that automation as its "send" step.

Every figure is one grouped query over all the flow's campaigns or runs, never one per run or
per step. The message figures are cached with the campaign reports (report_cache.py: a send,
delivery report, click or order invalidates them); the run counts are read live.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import distinct, func, or_, select

from ...bulk import on_postgresql
from ...extensions import db
from ...models import (
    Attribution,
    Automation,
    AutomationRun,
    Click,
    Flow,
    FlowEngine,
    FlowRun,
    FlowRunState,
    FlowRunStep,
    Message,
    MessageStat,
    MessageState,
    RunState,
    Shop,
)
from ..campaigns import report_cache
from .definition import walk
from .legacy import one_step
from .versions import current_steps, get_flow

LEGACY_SEND_STEP = one_step("-", 0)[0]["id"]  # the step id of an automation's one-step flow
# An automation run's state as a flow run's, and as its send step's outcome.
AUTOMATION_RUN_STATES = {
    RunState.PENDING: (FlowRunState.ACTIVE, "waiting"),
    RunState.QUEUED: (FlowRunState.COMPLETED, "sent"),
    RunState.CANCELLED: (FlowRunState.EXITED, "skipped"),
}


def _campaigns(flow: Flow) -> dict[int, str]:
    """Carrier campaign id -> the step id whose texts it carries (all versions' automations)."""
    rows = db.session.execute(
        select(Automation.id, Automation.campaign_id, Automation.flow_step).where(
            Automation.shop_id == flow.shop_id,
            or_(Automation.flow_id == flow.id, Automation.id == flow.automation_id),
            Automation.campaign_id.is_not(None),
        )
    ).all()
    out = {}
    for automation_id, campaign_id, flow_step in rows:
        out[int(campaign_id)] = LEGACY_SEND_STEP if automation_id == flow.automation_id else str(flow_step)
    return out


def _message_states(campaign_ids: list[int]) -> list[tuple[int, str, int, int]]:
    """(campaign, state, messages, accepted) rows: the trigger-kept deltas on PostgreSQL."""
    if on_postgresql():
        query = (
            select(
                MessageStat.campaign_id,
                MessageStat.state,
                func.sum(MessageStat.messages),
                func.sum(MessageStat.accepted),
            )
            .where(MessageStat.campaign_id.in_(campaign_ids))
            .group_by(MessageStat.campaign_id, MessageStat.state)
        )
    else:
        query = (
            select(Message.campaign_id, Message.state, func.count(), func.count(Message.sent_at))
            .where(Message.campaign_id.in_(campaign_ids))
            .group_by(Message.campaign_id, Message.state)
        )
    return [(int(c), MessageState(s).value, int(n or 0), int(a or 0)) for c, s, n, a in db.session.execute(query)]


def message_figures(shop_id: int, campaign_ids: list[int]) -> dict[str, dict[str, Any]]:
    """Per campaign id (as a string, JSON-safe for the cache): sent, delivered, clicks,
    unique_clicks, orders and revenue per currency (strings: exact decimals)."""
    figures: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"sent": 0, "delivered": 0, "clicks": 0, "unique_clicks": 0, "orders": 0, "revenue": {}}
    )
    if not campaign_ids:
        return {}
    for campaign_id, state, messages, accepted in _message_states(campaign_ids):
        row = figures[str(campaign_id)]
        row["sent"] += accepted
        if state == MessageState.DELIVERED.value:
            row["delivered"] += messages
    clicks = db.session.execute(
        select(Click.campaign_id, func.count(), func.count(distinct(Click.message_id)))
        .where(Click.shop_id == shop_id, Click.campaign_id.in_(campaign_ids))
        .group_by(Click.campaign_id)
    )
    for campaign_id, count, unique in clicks:
        figures[str(campaign_id)].update(clicks=int(count), unique_clicks=int(unique))
    orders = db.session.execute(
        select(
            Attribution.campaign_id,
            Attribution.currency,
            func.count(),
            func.coalesce(func.sum(Attribution.amount), 0),
        )
        .where(Attribution.shop_id == shop_id, Attribution.campaign_id.in_(campaign_ids))
        .group_by(Attribution.campaign_id, Attribution.currency)
    )
    for campaign_id, currency, count, amount in orders:
        row = figures[str(campaign_id)]
        row["orders"] += int(count)
        row["revenue"][currency or "unknown"] = str(Decimal(str(amount)))
    return dict(figures)


def _cached_figures(shop_id: int, flow_id: int, campaign_ids: list[int]) -> dict[str, dict[str, Any]]:
    digest = hashlib.sha256(",".join(map(str, sorted(campaign_ids))).encode()).hexdigest()[:16]
    figures, _hit = report_cache.cached(
        shop_id, f"flow:{flow_id}:{digest}", lambda: message_figures(shop_id, campaign_ids)
    )
    return figures


def _sum(rows: list[Mapping[str, Any]], currency: str | None) -> dict[str, Any]:
    """The figures of several campaigns added up; revenue in `currency` (the shop's, else the
    one most revenue came in), every currency in `revenue_by_currency`."""
    totals: dict[str, Any] = {"sent": 0, "delivered": 0, "clicks": 0, "unique_clicks": 0, "orders": 0}
    by_currency: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        for name in totals:
            totals[name] += int(row.get(name, 0))
        for code, amount in row.get("revenue", {}).items():
            by_currency[code] += Decimal(amount)
    if currency is None and by_currency:
        currency = max(by_currency, key=lambda code: by_currency[code])
    totals["currency"] = currency
    totals["revenue"] = float(by_currency.get(currency or "", Decimal(0)))
    totals["revenue_by_currency"] = {code: str(amount) for code, amount in sorted(by_currency.items())}
    return totals


def _run_counts(flow: Flow) -> tuple[dict[str, int], dict[str, int]]:
    """Runs by state, and ended runs by exit reason."""
    states = {state.value: 0 for state in FlowRunState}
    exits: dict[str, int] = {}
    rows = db.session.execute(
        select(FlowRun.state, FlowRun.exit_reason, func.count())
        .where(FlowRun.flow_id == flow.id, FlowRun.shop_id == flow.shop_id)
        .group_by(FlowRun.state, FlowRun.exit_reason)
    )
    for state, reason, count in rows:
        states[FlowRunState(state).value] += int(count)
        if reason:
            exits[reason] = exits.get(reason, 0) + int(count)
    return states, exits


def _step_counts(flow: Flow) -> dict[str, dict[str, Any]]:
    """Per step id: runs that took it, their outcomes, and the reasons recorded with them."""
    reason = FlowRunStep.detail["reason"].as_string()
    rows = db.session.execute(
        select(FlowRunStep.step_id, FlowRunStep.outcome, reason, func.count())
        .join(FlowRun, FlowRun.id == FlowRunStep.run_id)
        .where(FlowRun.flow_id == flow.id, FlowRunStep.shop_id == flow.shop_id)
        .group_by(FlowRunStep.step_id, FlowRunStep.outcome, reason)
    )
    counts: dict[str, dict[str, Any]] = defaultdict(lambda: {"entered": 0, "outcomes": {}, "reasons": {}})
    for step_id, outcome, why, count in rows:
        entry = counts[step_id]
        entry["entered"] += int(count)
        entry["outcomes"][outcome] = entry["outcomes"].get(outcome, 0) + int(count)
        if why:
            entry["reasons"][why] = entry["reasons"].get(why, 0) + int(count)
    return counts


def _automation_counts(flow: Flow) -> tuple[dict[str, int], dict[str, int], dict[str, dict[str, Any]]]:
    """A flow the automation still runs (engine "automation") has no flow runs: its automation's
    runs are its runs (pending: active, queued for sending: completed, cancelled: exited, by
    their cancel reason), and each of them entered its send step."""
    states = {state.value: 0 for state in FlowRunState}
    exits: dict[str, int] = {}
    send = {"entered": 0, "outcomes": {}, "reasons": {}}
    rows = db.session.execute(
        select(AutomationRun.state, AutomationRun.cancel_reason, func.count())
        .where(AutomationRun.automation_id == flow.automation_id, AutomationRun.shop_id == flow.shop_id)
        .group_by(AutomationRun.state, AutomationRun.cancel_reason)
    )
    for state, reason, count in rows:
        run_state, outcome = AUTOMATION_RUN_STATES[RunState(state)]
        states[run_state.value] += int(count)
        send["entered"] += int(count)
        send["outcomes"][outcome] = send["outcomes"].get(outcome, 0) + int(count)
        if run_state == FlowRunState.EXITED:
            exits[reason or "cancelled"] = exits.get(reason or "cancelled", 0) + int(count)
            send["reasons"][reason or "cancelled"] = send["reasons"].get(reason or "cancelled", 0) + int(count)
    return states, exits, {LEGACY_SEND_STEP: send}


def flow_report(*, shop: Shop, flow_id: int) -> dict[str, Any]:
    flow = get_flow(shop=shop, flow_id=flow_id)
    campaigns = _campaigns(flow)
    figures = _cached_figures(shop.id, flow.id, sorted(campaigns))
    per_step: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for campaign_id, step_id in campaigns.items():
        if str(campaign_id) in figures:
            per_step[step_id].append(figures[str(campaign_id)])
    if flow.engine == FlowEngine.AUTOMATION and flow.automation_id is not None:
        runs, exits, counts = _automation_counts(flow)
    else:
        runs, exits = _run_counts(flow)
        counts = _step_counts(flow)
    totals = _sum(list(figures.values()), shop.currency)
    steps = []
    for step in walk(current_steps(flow)):
        taken = counts.get(step["id"], {"entered": 0, "outcomes": {}, "reasons": {}})
        sums = _sum(per_step.get(step["id"], []), totals["currency"])
        steps.append({"step_id": step["id"], "type": step["type"], **taken, **sums})
    return {"flow_id": flow.id, "flow": {"runs": runs, "exits": exits, **totals}, "steps": steps}
