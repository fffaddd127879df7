"""/api/campaigns/<id>/cohorts: a local-time campaign's cohorts and how far each has gone."""

from __future__ import annotations

from flask import Response, g, jsonify

from ...models.types import utcnow
from ...schemas.campaign_cohorts import CohortListSchema
from ...services.campaigns import campaigns, local_time
from .blueprint import bp


@bp.get("/campaigns/<int:campaign_id>/cohorts")
def list_cohorts(campaign_id: int) -> Response:
    """One entry per start instant (the zones whose local send time falls at it), with its
    state and its messages per outcome; empty before the launch and for a campaign sent at
    one time for everyone."""
    campaign = campaigns.get_campaign(shop=g.shop, campaign_id=campaign_id)
    items = local_time.cohort_figures(campaign=campaign, now=utcnow())
    return jsonify(
        CohortListSchema().dump(
            {"local_send_time": campaign.local_send_time, "local_send_date": campaign.local_send_date, "items": items}
        )
    )
