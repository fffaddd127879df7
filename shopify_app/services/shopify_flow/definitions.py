"""Our Shopify Flow extensions as the code knows them: the handles and payload keys the
extension TOML files under extensions/ declare (tests/test_shopify_flow_extensions.py holds the
two in step), and the variables a "Send SMS" action's message may use."""

from __future__ import annotations

from dataclasses import dataclass

SUBSCRIBER_JOINED = "subscriber-joined"
SUBSCRIBER_OPTED_OUT = "subscriber-opted-out"
CAMPAIGN_LINK_CLICKED = "campaign-link-clicked"

SEND_SMS = "send-sms"
ADD_SUBSCRIBER_TAG = "add-subscriber-tag"

# Payload keys (the TOML fields' `key`s). Flow names them in its editor; none carries PII.
SOURCE = "Source"
CAMPAIGN_NAME = "Campaign name"
LINK_URL = "Link URL"
CUSTOMER_ID = "customer_id"  # the customer_reference field's key in trigger payloads and action properties


@dataclass(frozen=True)
class TriggerDefinition:
    handle: str
    name: str  # the extension's `name`, as a legacy lifecycle callback may identify it
    fields: tuple[str, ...]  # the payload keys besides the customer reference
    needs_customer: bool = True  # a contact with no Shopify customer id sends nothing


TRIGGERS: dict[str, TriggerDefinition] = {
    definition.handle: definition
    for definition in (
        TriggerDefinition(SUBSCRIBER_JOINED, "SMS subscriber joined", (SOURCE,)),
        TriggerDefinition(SUBSCRIBER_OPTED_OUT, "SMS subscriber opted out", (SOURCE,)),
        TriggerDefinition(CAMPAIGN_LINK_CLICKED, "SMS campaign link clicked", (CAMPAIGN_NAME, LINK_URL)),
    )
}
ACTIONS = (SEND_SMS, ADD_SUBSCRIBER_TAG)

# What a Flow message may use of ours (Flow's own Liquid is rendered by Flow before it reaches us).
MESSAGE_VARIABLES = ("first_name", "last_name", "shop_name")


def trigger_for(definition_id: str) -> TriggerDefinition | None:
    """The trigger a lifecycle callback names: by handle (CLI extensions), or by name."""
    wanted = definition_id.strip().lower()
    return next(
        (item for item in TRIGGERS.values() if wanted in (item.handle, item.name.lower())),
        None,
    )
