"""Flow templates: the common flows as data, for the editor's "start from a template".

A template is what POST /api/flows would take (trigger, settings, steps), plus a key, a name and
a description. Creating a flow from one copies it into an ordinary flow, off, so the merchant
reads and edits the texts before turning it on; the flow keeps the template's key only to say
where it came from. Every template passes definition.check_steps (tests/test_flows_api.py).

The texts are short, name the shop (a shopper must know who is texting) and do not shout;
marketing texts get the opt-out footer from the send path, so none is written here.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ...errors import ValidationFailed

HOUR = 60
DAY = 24 * HOUR
NOT_ORDERED = {"kind": "ordered"}

TEMPLATES: tuple[dict[str, Any], ...] = (
    {
        "key": "abandoned_checkout_series",
        "name": "Abandoned checkout series",
        "description": "A reminder an hour after a checkout is left, then a discount a day later if still no order.",
        "trigger": "abandoned_checkout",
        "trigger_config": {},
        "reentry": {"mode": "per_trigger"},
        "exit_on_order": True,
        "steps": [
            {"id": "wait-1h", "type": "wait", "minutes": HOUR},
            {
                "id": "reminder",
                "type": "send",
                "body": "{{shop_name}}: you left something in your cart. Pick up where you left off: {{checkout_url}}",
            },
            {"id": "wait-1d", "type": "wait", "minutes": DAY},
            {
                "id": "ordered",
                "type": "condition",
                "if": NOT_ORDERED,
                "yes": [],
                "no": [
                    {
                        "id": "discount",
                        "type": "send",
                        "body": "{{shop_name}}: still thinking it over? Use {{discount_code}} at checkout: "
                        "{{checkout_url}}",
                    }
                ],
            },
        ],
    },
    {
        "key": "welcome_series",
        "name": "Welcome series",
        "description": "A welcome when someone subscribes, then a nudge to the best sellers two days later "
        "if they have not ordered.",
        "trigger": "welcome",
        "trigger_config": {},
        "reentry": {"mode": "once"},
        "exit_on_order": False,
        "steps": [
            {
                "id": "welcome",
                "type": "send",
                "body": "Welcome to {{shop_name}}, {{first_name}}! Thanks for signing up for our texts.",
            },
            {"id": "wait-2d", "type": "wait", "minutes": 2 * DAY},
            {
                "id": "ordered",
                "type": "condition",
                "if": NOT_ORDERED,
                "yes": [],
                "no": [
                    {
                        "id": "best-sellers",
                        "type": "send",
                        "body": "{{shop_name}}: not sure where to start? Our best sellers are a good place to look.",
                    }
                ],
            },
        ],
    },
    {
        "key": "win_back",
        "name": "Win-back",
        "description": "A text to customers who have not ordered for a while, and a last chance a week later "
        "if they neither ordered nor clicked.",
        "trigger": "win_back",
        "trigger_config": {"days": 90},
        "reentry": {"mode": "cooldown", "days": 90},
        "exit_on_order": True,
        "steps": [
            {
                "id": "miss-you",
                "type": "send",
                "body": "We miss you at {{shop_name}}, {{first_name}}. Come and see what's new.",
            },
            {"id": "wait-7d", "type": "wait", "minutes": 7 * DAY},
            {
                "id": "ordered",
                "type": "condition",
                "if": NOT_ORDERED,
                "yes": [],
                "no": [
                    {
                        "id": "clicked",
                        "type": "condition",
                        "if": {"kind": "clicked"},
                        "yes": [],
                        "no": [
                            {
                                "id": "last-chance",
                                "type": "send",
                                "body": "{{shop_name}}: a last thank-you for being a customer. "
                                "Use {{discount_code}} on your next order.",
                            }
                        ],
                    }
                ],
            },
        ],
    },
    {
        "key": "browse_abandonment",
        "name": "Browse abandonment",
        "description": "A text about the product a subscriber looked at and did not buy within an hour.",
        "trigger": "browsed_product",
        "trigger_config": {"window_minutes": 60},
        "reentry": {"mode": "cooldown", "days": 7},
        "exit_on_order": True,
        "steps": [
            {
                "id": "product",
                "type": "send",
                "body": "{{shop_name}}: still interested in {{product_title}}? Take another look: {{product_url}}",
            }
        ],
    },
    {
        "key": "post_purchase",
        "name": "Post-purchase follow-up",
        "description": "Two weeks after an order is paid, ask for a review and suggest what to try next.",
        "trigger": "order_confirmation",
        "trigger_config": {},
        "reentry": {"mode": "per_trigger"},
        "exit_on_order": False,
        "steps": [
            {"id": "wait-14d", "type": "wait", "minutes": 14 * DAY},
            {
                "id": "review",
                "type": "send",
                "body": "{{shop_name}}: how is your order {{order_number}}? We'd love a review, "
                "and there's more to discover in the shop.",
            },
        ],
    },
    {
        "key": "vip_tag",
        "name": "VIP welcome",
        "description": "A thank-you when a customer is tagged VIP.",
        "trigger": "tag_added",
        "trigger_config": {"tag": "VIP"},
        "reentry": {"mode": "once"},
        "exit_on_order": False,
        "steps": [
            {
                "id": "vip",
                "type": "send",
                "body": "{{shop_name}}: thank you, {{first_name}}. You're now one of our VIP customers.",
            }
        ],
    },
)
BY_KEY = {template["key"]: template for template in TEMPLATES}


def all_templates() -> list[dict[str, Any]]:
    return copy.deepcopy(list(TEMPLATES))


def create_data(key: str, name: str | None = None) -> dict[str, Any]:
    """What versions.create_flow takes for the template `key` (a fresh copy), or a 422."""
    template: Mapping[str, Any] | None = BY_KEY.get(key)
    if template is None:
        raise ValidationFailed(details={"fields": {"template": [f"One of {', '.join(BY_KEY)}."]}})
    data = copy.deepcopy(dict(template))
    data["template"] = data.pop("key")
    data.pop("description")
    data["name"] = name or data["name"]
    return data
