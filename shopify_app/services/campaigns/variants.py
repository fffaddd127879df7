"""The bodies of an A/B-tested campaign, by variant label: A is the campaign's own body, B-D
its `campaign_variants` rows (models/ab_test.py). Read by the estimate (the longest body sets
the launch's hold), the send path (each message gets its variant's body) and the A/B test
service; it imports none of them."""

from __future__ import annotations

from sqlalchemy import select

from ...extensions import db
from ...models import Campaign, CampaignVariant


def variant_bodies(campaign: Campaign) -> dict[str, str]:
    """{label: body} of every variant; {} for a campaign that is not A/B-tested."""
    rows = db.session.execute(
        select(CampaignVariant.label, CampaignVariant.body)
        .where(CampaignVariant.campaign_id == campaign.id, CampaignVariant.shop_id == campaign.shop_id)
        .order_by(CampaignVariant.label)
    ).all()
    if not rows:
        return {}
    return {"A": campaign.body, **dict(rows)}


def every_body(campaign: Campaign) -> list[str]:
    """The campaign's body and those of its other variants: what any of its texts may say."""
    return list(variant_bodies(campaign).values()) or [campaign.body]
