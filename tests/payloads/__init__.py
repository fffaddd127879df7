"""Webhook payloads for the tests: the app's samples (`shopify_app/devtools/webhook_samples.py`),
about shop alpha."""

from __future__ import annotations

import copy
from typing import Any

from shopify_app.devtools.webhook_samples import BY_TOPIC as SAMPLES
from shopify_app.devtools.webhook_samples import sample

SHOP = "alpha.myshopify.com"

BY_TOPIC: dict[str, dict[str, Any]] = {topic: sample(topic, shop_domain=SHOP) for topic in SAMPLES}
CUSTOMER = BY_TOPIC["customers/update"]
ORDER = BY_TOPIC["orders/create"]


def payload(topic: str, **changes: Any) -> dict[str, Any]:
    """A deep copy of the topic's example, with top-level `changes` applied."""
    data = copy.deepcopy(BY_TOPIC[topic])
    data.update(changes)
    return data
