"""Models, one module per aggregate. Importing this package registers every table."""

from .commerce import Checkout, Order
from .contact import ConsentEvent, ConsentSource, ConsentState, Contact, ContactTag, Suppression
from .contact_import import ContactTransfer, TransferChunk, TransferKind, TransferStatus
from .privacy import AuditLog, PrivacyRequest, PrivacyRequestKind
from .segment import Segment
from .shop import Shop
from .webhook_event import WebhookEvent, WebhookStatus

__all__ = [
    "AuditLog",
    "Checkout",
    "ConsentEvent",
    "ConsentSource",
    "ConsentState",
    "Contact",
    "ContactTag",
    "ContactTransfer",
    "Order",
    "PrivacyRequest",
    "PrivacyRequestKind",
    "Segment",
    "Shop",
    "Suppression",
    "TransferChunk",
    "TransferKind",
    "TransferStatus",
    "WebhookEvent",
    "WebhookStatus",
]
