"""Models, one module per aggregate. Importing this package registers every table."""

from .shop import Shop
from .webhook_event import WebhookEvent, WebhookStatus

__all__ = ["Shop", "WebhookEvent", "WebhookStatus"]
