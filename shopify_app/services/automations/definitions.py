"""The automations there are, as data (carrier kind, default text, delay, conditions, the
variables a text may use), and the rows made from them: a shop's automation with its defaults,
and its hidden carrier campaign, whose send path every automated text goes through.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from ...bulk import insert_or_nothing
from ...extensions import db
from ...models import Automation, AutomationKind, Campaign, CampaignKind, CampaignState, ConsentSource, Shop
from ...models.automation import SINGLE_KIND
from ...models.types import utcnow
from ..sending.rendering import VARIABLES


@dataclass(frozen=True)
class Definition:
    carrier: CampaignKind
    body: str
    delay_minutes: int = 0
    conditions: Mapping[str, int] = field(default_factory=dict)
    variables: tuple[str, ...] = VARIABLES
    listed: bool = True


DEFINITIONS: dict[AutomationKind, Definition] = {
    AutomationKind.WELCOME: Definition(
        CampaignKind.AUTOMATION, "Welcome to {{shop_name}}, {{first_name}}! Thanks for subscribing."
    ),
    AutomationKind.ABANDONED_CHECKOUT: Definition(
        CampaignKind.AUTOMATION,
        "{{first_name}}, you left something in your cart at {{shop_name}}: {{checkout_url}}",
        delay_minutes=120,  # "no order within N hours": the reminder waits this long
        variables=(*VARIABLES, "checkout_url"),
    ),
    AutomationKind.ORDER_CONFIRMATION: Definition(
        CampaignKind.TRANSACTIONAL,
        "{{shop_name}}: thanks for your order {{order_number}}! We'll text you when it ships.",
        variables=(*VARIABLES, "order_number"),
    ),
    AutomationKind.SHIPPING_UPDATE: Definition(
        CampaignKind.TRANSACTIONAL,
        "{{shop_name}}: order {{order_number}} is on its way. Track it: {{tracking_url}}",
        variables=(*VARIABLES, "order_number", "tracking_url"),
    ),
    AutomationKind.BIRTHDAY: Definition(
        CampaignKind.AUTOMATION,
        "Happy birthday, {{first_name}}! Something nice is waiting for you at {{shop_name}}.",
        conditions={"hour": 10},  # shop-local hour of the daily send
    ),
    AutomationKind.BACK_IN_STOCK: Definition(
        CampaignKind.AUTOMATION,
        "{{product_title}} is back in stock at {{shop_name}}: {{product_url}}",
        variables=(*VARIABLES, "product_title", "product_url"),
    ),
    AutomationKind.WIN_BACK: Definition(
        CampaignKind.AUTOMATION,
        "We miss you at {{shop_name}}, {{first_name}}! Come back and see what's new.",
        conditions={"days": 90, "hour": 10},  # no order in this many days; shop-local hour
    ),
    AutomationKind.INBOX_REPLY: Definition(CampaignKind.CONVERSATION, "{{shop_name}}", listed=False),
    # The app's own texts (services/automations/notices.py): each run carries its whole text.
    AutomationKind.KEYWORD_REPLY: Definition(CampaignKind.KEYWORD_REPLY, "{{shop_name}}", listed=False),
    AutomationKind.OPT_IN: Definition(CampaignKind.CONFIRMATION, "{{shop_name}}", listed=False),
    # A flow's send step (services/flows/): its text is the step's, set when the step is saved.
    AutomationKind.FLOW_STEP: Definition(CampaignKind.AUTOMATION, "{{shop_name}}", listed=False),
    # A merchant's Shopify Flow "Send SMS" action (services/shopify_flow/): each run carries its
    # text, sent as marketing (consent, quiet hours, the cap, the footer).
    AutomationKind.SHOPIFY_FLOW: Definition(CampaignKind.AUTOMATION, "{{shop_name}}", listed=False),
}
LISTED = tuple(kind for kind, definition in DEFINITIONS.items() if definition.listed)
CONDITION_LIMITS = {"hour": (0, 23), "days": (1, 3650)}
MAX_DELAY_MINUTES = 60 * 24 * 30
WIN_BACK_WINDOW = timedelta(days=7)  # a lapse older than this when enabled is not chased
# Consent given by the shopper (or their merchant on their behalf) welcomes them; an import of
# an existing list does not text everyone on it.
WELCOMED_SOURCES = frozenset(
    {
        ConsentSource.PROXY_FORM,
        ConsentSource.CONFIRMATION_LINK,
        ConsentSource.KEYWORD,
        ConsentSource.SHOPIFY,
        ConsentSource.ADMIN,
    }
)


def create_automation(shop: Shop, kind: AutomationKind, *, enabled: bool) -> None:
    """The shop's `kind` automation with its defaults, unless it exists (concurrent-safe)."""
    definition = DEFINITIONS[kind]
    now = utcnow()
    insert_or_nothing(
        Automation.__table__,
        {
            "shop_id": shop.id,
            "kind": kind.value,
            "enabled": enabled,
            "body": definition.body,
            "delay_minutes": definition.delay_minutes,
            "conditions": dict(definition.conditions),
            "created_at": now,
            "updated_at": now,
        },
        conflict=("shop_id", "kind"),
        conflict_where=SINGLE_KIND,
        returning="id",
    )


def carrier_for(automation: Automation) -> Campaign:
    """The automation's hidden campaign, created once (the automation row is locked meanwhile)."""
    if automation.campaign_id is not None:
        campaign = db.session.get(Campaign, automation.campaign_id)
        if campaign is not None:
            return campaign
    db.session.execute(select(Automation.id).where(Automation.id == automation.id).with_for_update())
    db.session.refresh(automation)
    if automation.campaign_id is not None and (campaign := db.session.get(Campaign, automation.campaign_id)):
        return campaign
    now = utcnow()
    campaign = Campaign(
        shop_id=automation.shop_id,
        name=f"Automation: {automation.kind.value}",
        kind=DEFINITIONS[automation.kind].carrier,
        body=automation.body,
        state=CampaignState.SENDING,
        audience={},
        launched_at=now,
    )
    db.session.add(campaign)
    db.session.flush()
    automation.campaign_id = campaign.id
    return campaign
