"""Models, one module per aggregate. Importing this package registers every table."""

from .contact import ConsentEvent, ConsentSource, ConsentState, Contact, ContactTag, Suppression
from .contact_import import ContactTransfer, TransferChunk, TransferKind, TransferStatus
from .segment import Segment
from .shop import Shop
from .webhook_event import WebhookEvent, WebhookStatus

__all__ = [
    "ConsentEvent",
    "ConsentSource",
    "ConsentState",
    "Contact",
    "ContactTag",
    "ContactTransfer",
    "Segment",
    "Shop",
    "Suppression",
    "TransferChunk",
    "TransferKind",
    "TransferStatus",
    "WebhookEvent",
    "WebhookStatus",
]
