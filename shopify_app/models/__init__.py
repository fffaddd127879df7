"""Models, one module per aggregate. Importing this package registers every table."""

from .automation import (
    Automation,
    AutomationKind,
    AutomationRun,
    BackInStockRequest,
    RunState,
    StockLevel,
    StockRequestState,
)
from .campaign import (
    OPEN_MESSAGE_STATES,
    Campaign,
    CampaignKind,
    CampaignState,
    CreditLedger,
    LedgerKind,
    Message,
    MessageState,
    Template,
)
from .commerce import Checkout, Order
from .contact import ConsentEvent, ConsentSource, ConsentState, Contact, ContactTag, Suppression
from .contact_import import ContactTransfer, TransferChunk, TransferKind, TransferStatus
from .delivery import DeliveryEvent, DeliveryOutcome
from .inbound import InboundMessage
from .privacy import AuditLog, PrivacyRequest, PrivacyRequestKind
from .segment import Segment
from .shop import Shop
from .webhook_event import WebhookEvent, WebhookStatus

__all__ = [
    "OPEN_MESSAGE_STATES",
    "AuditLog",
    "Automation",
    "AutomationKind",
    "AutomationRun",
    "BackInStockRequest",
    "Campaign",
    "CampaignKind",
    "CampaignState",
    "Checkout",
    "ConsentEvent",
    "ConsentSource",
    "ConsentState",
    "Contact",
    "ContactTag",
    "ContactTransfer",
    "CreditLedger",
    "DeliveryEvent",
    "DeliveryOutcome",
    "InboundMessage",
    "LedgerKind",
    "Message",
    "MessageState",
    "Order",
    "PrivacyRequest",
    "PrivacyRequestKind",
    "RunState",
    "Segment",
    "Shop",
    "StockLevel",
    "StockRequestState",
    "Suppression",
    "Template",
    "TransferChunk",
    "TransferKind",
    "TransferStatus",
    "WebhookEvent",
    "WebhookStatus",
]
