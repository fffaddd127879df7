"""What an image changes in a campaign: who gets an MMS, who an SMS with a link, and the price.

US and Canadian recipients (`plans.MMS_CREDITS`) get an MMS carrying the image's public URL,
priced per message; everyone else, and everyone while `MMS_ENABLED` is 0, gets the campaign's
text with the image's URL on a line of its own, shortened like any link (services/sending/
links.py) and priced per segment: the estimate counts that link's length too. One function per
decision, used by the estimate, the launch's holds and the batch alike, so they agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...config import current_config
from ...models import Campaign
from ..billing.plans import message_credits, message_credits_sql, mms_credits
from .media import media_url, referenced_media


@dataclass(frozen=True)
class Attachment:
    """A campaign's image as its messages carry it."""

    url: str  # the public HTTPS URL the provider fetches
    mms: bool = True  # `MMS_ENABLED`, read once per batch rather than once per recipient

    def message(self, body: str, country_code: str | None) -> tuple[str, str | None]:
        """(body, media URL) for one recipient: the image itself where MMS is carried, else
        the body with the image's link appended (None: an SMS)."""
        if self.mms and mms_credits(country_code) is not None:
            return body, self.url
        return sms_body(body, self), None


def mms_enabled() -> bool:
    return bool(current_config().get("MMS_ENABLED", 1))


def carries_mms(country_code: str | None) -> bool:
    return mms_enabled() and mms_credits(country_code) is not None


def attachment(campaign: Campaign) -> Attachment | None:
    """The campaign's image (None: a plain SMS campaign, or its image was deleted)."""
    if campaign.media_id is None:
        return None
    media = referenced_media(shop_id=campaign.shop_id, media_id=campaign.media_id)
    return None if media is None else Attachment(media_url(media), mms_enabled())


def sms_body(body: str, image: Attachment | None) -> str:
    """The body an SMS recipient of an image campaign gets: the image's link on its own line."""
    return body if image is None else f"{body}\n{image.url}"


def message_cost(segments: int, country_code: str | None, *, mms: bool) -> int:
    """Credits for one message: the MMS price when it is an MMS, else its segments."""
    price = mms_credits(country_code) if mms else None
    return price if price is not None else message_credits(segments, country_code)


def share_sql(segments: int, country_code: Any, image: Attachment | None) -> Any:
    """Each launched row's share of the hold, as SQL over its country (see `message_cost`)."""
    return message_credits_sql(segments, country_code, mms=image is not None and mms_enabled())
