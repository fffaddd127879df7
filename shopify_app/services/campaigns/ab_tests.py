"""A/B tests of broadcast campaigns: the settings (while the campaign is a draft or scheduled),
the decision, and the report.

A test has 2-4 variants: A is the campaign's own body, B-D are `campaign_variants`. The launch
splits the audience (ab_split.py): `test_share` percent get the variants evenly, the rest wait
`deferred` with no time. The decision sends the winner's body to the rest, exactly once: the
campaign's row lock orders deciders, and the conditional UPDATE (`decided_at IS NULL`) lets
one win even without it. Automatic tests are decided by the periodic `decide_due` when
`decide_at` (launch + wait) has passed; manual ones (and automatic ones, early) when the
merchant picks (`pick_winner`). A cancel during the wait cancels the held rows like any
waiting row and the campaign's hold is released as usual (campaigns.cancel).

Local-time sending: not combined with a test (422 `ab_test_incompatible` on the setting): both
decide when rows are sent, and the held rows would be released at one moment for everyone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import and_, delete, select, update

from ...errors import Conflict, NotFound, ValidationFailed
from ...extensions import db
from ...models import (
    VARIANT_LABELS,
    AbDecision,
    AbMetric,
    AbTest,
    Campaign,
    CampaignState,
    CampaignVariant,
    Message,
    MessageState,
    Shop,
)
from ...models.types import utcnow
from ..sending.rendering import TemplateError, validate_template
from ..sending.state import move
from . import ab_stats, report_cache
from .ab_figures import report_currency, variant_figures
from .ab_split import test_of
from .audience import EDITABLE
from .campaigns import enqueue_batches
from .queries import get_campaign, locked_campaign
from .variants import variant_bodies

log = structlog.get_logger(__name__)

# Campaign settings an A/B test cannot be combined with (truthy on the campaign: a 422). Named
# here so a feature that adds one (e.g. local-time sending) lists its attribute once.
INCOMPATIBLE_SETTINGS: tuple[str, ...] = ("local_send_time",)  # local_time.py refuses the other way
# The states whose test may still be decided: a cancelled campaign's test is abandoned.
DECIDABLE = (CampaignState.SENDING, CampaignState.PAUSED, CampaignState.COMPLETED)


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(details={"fields": {field: [message]}})


def _test_or_404(campaign: Campaign) -> AbTest:
    test = test_of(campaign.id)
    if test is None:
        raise NotFound("This campaign has no A/B test.", code="ab_test_not_found")
    return test


def _editable(campaign: Campaign) -> None:
    if campaign.state not in EDITABLE:
        raise Conflict(
            "An A/B test can only be changed before the campaign is launched.",
            code="invalid_state",
            details={"state": campaign.state.value},
        )


def configure(*, shop: Shop, campaign_id: int, data: Mapping[str, Any]) -> AbTest:
    """Create or replace the campaign's test (draft or scheduled only). `data["variants"]`: the
    2-4 bodies in label order; the first becomes the campaign's own body (variant A)."""
    campaign = get_campaign(shop=shop, campaign_id=campaign_id, lock=True)
    _editable(campaign)
    for setting in INCOMPATIBLE_SETTINGS:
        if getattr(campaign, setting, None):
            raise ValidationFailed(
                "An A/B test cannot be combined with this campaign's sending setting.",
                code="ab_test_incompatible",
                details={"fields": {setting: ["Turn this off to A/B test the campaign."]}},
            )
    bodies = [variant["body"] for variant in data["variants"]]
    for index, body in enumerate(bodies):
        try:
            validate_template(body)
        except TemplateError as exc:
            raise _invalid(f"variants.{index}.body", exc.message) from None
    campaign.body = bodies[0]
    db.session.execute(delete(CampaignVariant).where(CampaignVariant.campaign_id == campaign.id))
    db.session.add_all(
        CampaignVariant(shop_id=shop.id, campaign_id=campaign.id, label=label, body=body)
        for label, body in zip(VARIANT_LABELS[1:], bodies[1:], strict=False)
    )
    test = test_of(campaign.id) or AbTest(shop_id=shop.id, campaign_id=campaign.id)
    test.test_share, test.wait_hours = data["test_share"], data["wait_hours"]
    test.metric, test.decision = AbMetric(data["metric"]), AbDecision(data["decision"])
    db.session.add(test)
    db.session.commit()
    return test


def remove(*, shop: Shop, campaign_id: int) -> None:
    """The campaign is no longer A/B-tested (draft or scheduled only); its body A stays."""
    campaign = get_campaign(shop=shop, campaign_id=campaign_id, lock=True)
    _editable(campaign)
    test = _test_or_404(campaign)
    db.session.execute(delete(CampaignVariant).where(CampaignVariant.campaign_id == campaign.id))
    db.session.delete(test)
    db.session.commit()


def pick_winner(*, shop: Shop, campaign_id: int, variant: str, actor: str) -> AbTest:
    """The merchant sends `variant` to the rest (either decision mode, once the campaign was
    launched); 409 `ab_test_decided` when the test was already decided."""
    campaign = get_campaign(shop=shop, campaign_id=campaign_id)
    test = _test_or_404(campaign)
    if variant not in variant_bodies(campaign):
        raise _invalid("variant", "This campaign has no such variant.")
    if campaign.launched_at is None or campaign.state not in DECIDABLE:
        raise Conflict(
            "A winner can only be picked for a launched campaign that was not cancelled.",
            code="invalid_state",
            details={"state": campaign.state.value},
        )
    if decide(campaign_id=campaign.id, winner=variant, decided_by=actor) is None:
        db.session.refresh(test)
        raise Conflict(
            "This A/B test was already decided.",
            code="ab_test_decided",
            details={"winner": test.winner, "decided_by": test.decided_by},
        )
    db.session.refresh(test)
    return test


def decide_due(*, now: datetime | None = None) -> int:
    """Periodic (cross-shop): decide every automatic test whose wait has ended. Idempotent: a
    second run, or a second scheduler, finds them decided. Returns the tests decided."""
    now = now or utcnow()
    due = db.session.scalars(
        select(AbTest.campaign_id)
        .where(AbTest.decided_at.is_(None), AbTest.decide_at <= now, AbTest.decision == AbDecision.AUTO)
        .order_by(AbTest.decide_at)
        .limit(100)
    ).all()
    decided = 0
    for campaign_id in due:
        try:
            decided += decide(campaign_id=campaign_id, decided_by="auto", now=now) is not None
        except Exception:  # one campaign's problem must not keep the others' rests waiting
            db.session.rollback()
            log.exception("ab_test_decision_failed", campaign_id=campaign_id)
    return decided


def decide(*, campaign_id: int, decided_by: str, winner: str | None = None, now: datetime | None = None) -> str | None:
    """Decide the campaign's test once: the winner (given, or the leader on the test's metric),
    the figures it was decided on, and the rest released with the winner's body; committed,
    then the rest's batches enqueued. None when there was nothing to decide (decided already,
    cancelled, never launched)."""
    now = now or utcnow()
    campaign = locked_campaign(select(Campaign).where(Campaign.id == campaign_id), campaign_id)
    test = test_of(campaign_id) if campaign is not None else None
    if campaign is None or test is None or campaign.state not in DECIDABLE or campaign.launched_at is None:
        db.session.rollback()
        return None
    results = _analysis(campaign, test)
    chosen = winner or results["leader"]
    won = db.session.execute(
        update(AbTest)
        .where(AbTest.id == test.id, AbTest.decided_at.is_(None))
        .values(decided_at=now, winner=chosen, decided_by=decided_by, results=results, updated_at=now),
        execution_options={"synchronize_session": False},
    ).rowcount
    if not won:
        db.session.rollback()
        return None
    held = Message.campaign_id == campaign.id, Message.variant.is_(None), Message.defer_until.is_(None)
    released = move(None, to=MessageState.QUEUED, priors=(MessageState.DEFERRED,), extra=and_(*held), variant=chosen)
    db.session.commit()
    log.info("ab_test_decided", campaign_id=campaign.id, winner=chosen, decided_by=decided_by, released=released)
    if campaign.state == CampaignState.SENDING and released:  # a paused campaign's resume enqueues them
        enqueue_batches(campaign=campaign, only_open=True)
    report_cache.invalidate(campaign.shop_id)
    return chosen


def _analysis(campaign: Campaign, test: AbTest) -> dict[str, Any]:
    """The live figures of the test's variants and their statistics (ab_stats.py)."""
    bodies = variant_bodies(campaign)
    labels = list(bodies) or ["A"]
    currency = report_currency(campaign)
    analysis = ab_stats.analyse(variant_figures(campaign, labels, currency), test.metric)
    return {"currency": currency, **analysis}


def report(*, shop: Shop, campaign_id: int) -> dict[str, Any]:
    """The test's settings, its status, and per variant the figures with their significance:
    live until the decision, then those it was decided on."""
    campaign = get_campaign(shop=shop, campaign_id=campaign_id)
    test = _test_or_404(campaign)
    bodies = variant_bodies(campaign)
    analysis = dict(test.results) if test.results else _analysis(campaign, test)
    analysis["variants"] = [{**row, "body": bodies.get(row["label"], "")} for row in analysis["variants"]]
    return {
        "campaign_id": campaign.id,
        "status": _status(campaign, test),
        "test_share": test.test_share,
        "metric": test.metric.value,
        "wait_hours": test.wait_hours,
        "decision": test.decision.value,
        "decide_at": test.decide_at,
        "decided_at": test.decided_at,
        "winner": test.winner,
        "decided_by": test.decided_by,
        "test_recipients": test.test_recipients,
        "held_recipients": test.held_recipients,
        **analysis,
    }


def _status(campaign: Campaign, test: AbTest) -> str:
    if test.decided_at is not None:
        return "decided"
    if campaign.launched_at is None:
        return "draft"
    if campaign.state not in DECIDABLE:
        return "abandoned"  # cancelled (or failed) before a winner: the rest were never sent
    if test.decision == AbDecision.MANUAL and test.decide_at is not None and test.decide_at <= utcnow():
        return "awaiting_pick"
    return "testing"
