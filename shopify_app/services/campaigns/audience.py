"""Who a campaign reaches and what it would cost: its audience, the estimate a launch holds
credits for, and the unsubscribe link every text carries (its length counts in the estimate).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, exists, func, select

from ...errors import Conflict
from ...extensions import db
from ...models import Campaign, CampaignState, ConsentState, Contact, Segment, Shop, Suppression
from ...security.link_tokens import link_url, make_link_token
from ..billing.plans import credits_per_segment
from ..media import mms
from ..sending import links
from ..sending.templating import estimate_segments, longest_values
from .segments import audience_query, segment_filters
from .variants import every_body

EDITABLE = (CampaignState.DRAFT, CampaignState.SCHEDULED)
DISCOUNT_CODE_MAX = 24  # a unique code: 9-character prefix, '-', 8 + 6 hex digits


def audience(*, shop: Shop, campaign: Campaign) -> Select[tuple[int]]:
    """Subscribed contacts of the campaign's segment (all subscribed when none), minus suppressed."""
    filters = campaign.audience if campaign.state not in EDITABLE else current_filters(campaign)
    query = audience_query(shop_id=shop.id, filters=filters)
    return query.where(
        Contact.consent_state == ConsentState.SUBSCRIBED,
        ~exists().where(Suppression.shop_id == shop.id, Suppression.phone_hash == Contact.phone_hash),
    )


def current_filters(campaign: Campaign) -> dict[str, Any]:
    """The filters of the campaign's segment now; `{}` (every subscriber) only when it has none.
    A segment that has gone is a 409, never everyone (segments.delete_segment refuses while a
    campaign uses it; this is the wall behind that rule)."""
    if campaign.segment_id is None:
        return {}
    segment = db.session.scalar(
        select(Segment).where(Segment.id == campaign.segment_id, Segment.shop_id == campaign.shop_id)
    )
    if segment is None:
        raise Conflict(
            "This campaign's segment no longer exists: choose another audience.",
            code="segment_missing",
            details={"segment_id": campaign.segment_id},
        )
    return segment_filters(segment)


def estimate(*, shop: Shop, campaign: Campaign) -> dict[str, Any]:
    """Recipients, segments per message (an upper bound) and the credits a launch would hold."""
    # One pass over the audience, per destination country: how many, and the longest names
    # (credits per segment depend on the country, services/plans.py). The audience's own query
    # with other columns: joining it back to contacts scanned a million rows twice.
    per_country = db.session.execute(
        audience(shop=shop, campaign=campaign)
        .with_only_columns(
            Contact.country_code,
            func.count(),
            func.coalesce(func.max(Contact.first_name_len), 0),
            func.coalesce(func.max(Contact.last_name_len), 0),
            func.coalesce(func.max(func.cast(Contact.names_ucs2, db.Integer)), 0),
        )
        .group_by(Contact.country_code)
    ).all()
    counts = {country: int(count) for country, count, *_ in per_country}
    recipients = sum(counts.values())
    first_len = max((int(row[2]) for row in per_country), default=0)
    last_len = max((int(row[3]) for row in per_country), default=0)
    any_ucs2 = any(int(row[4]) for row in per_country)
    sample_url = unsubscribe_url(shop=shop, contact_id=10**12)
    values = longest_values(
        first_name=first_len,
        last_name=last_len,
        shop_name=shop.name or shop.domain,
        discount_code=DISCOUNT_CODE_MAX,
        unsubscribe_url=len(sample_url),
        ucs2_variables=frozenset({"first_name", "last_name"}) if any_ucs2 else frozenset(),
    )
    # A short link may be longer than the URL; an SMS recipient of an image campaign gets its
    # link; an A/B test's longest variant sets the hold.
    image = mms.attachment(campaign)
    shop_name = shop.name or shop.domain
    info = max(
        (
            estimate_segments(
                links.estimation_body(mms.sms_body(body, image), shop=shop), shop_name=shop_name, longest=values
            )
            for body in every_body(campaign)
        ),
        key=lambda estimated: estimated.segments,
    )
    by_mms = {country: image is not None and mms.carries_mms(country) for country in counts}
    each = {country: mms.message_cost(info.segments, country, mms=by_mms[country]) for country in counts}
    by_country = {country: each[country] * count for country, count in counts.items()}
    mms_recipients = sum(count for country, count in counts.items() if by_mms[country])
    return {
        "recipients": recipients,
        "encoding": info.encoding,
        "segments_per_message": info.segments,
        # The most a message can cost (an upper bound): what an unsettled message keeps held.
        "credits_per_message": max(each.values(), default=info.segments * credits_per_segment("US")),
        "credits_by_country": {country or "unknown": credits for country, credits in by_country.items()},
        "credits": sum(by_country.values()),
        "mms_recipients": mms_recipients,  # an image campaign's US/CA recipients; the rest get SMS + link
        "sms_recipients": recipients - mms_recipients,
    }


def unsubscribe_url(*, shop: Shop, contact_id: int) -> str:
    token = make_link_token("unsubscribe", contact_id=contact_id, shop_id=shop.id)
    return link_url("unsubscribe", token, shop_domain=shop.domain)
