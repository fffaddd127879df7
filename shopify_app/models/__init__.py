"""Models, one module per aggregate. Importing this package registers every table."""

from .ab_test import VARIANT_LABELS, AbDecision, AbMetric, AbTest, CampaignVariant
from .automation import (
    Automation,
    AutomationKind,
    AutomationRun,
    BackInStockRequest,
    RunState,
    StockLevel,
    StockRequestState,
)
from .billing import AppSubscription, CreditPurchase, PurchaseStatus, UsageCharge
from .campaign import (
    OPEN_MESSAGE_STATES,
    WAITING_MESSAGE_STATES,
    Campaign,
    CampaignKind,
    CampaignState,
    CreditLedger,
    LedgerKind,
    Message,
    MessageStat,
    MessageState,
    SendAttempt,
    Template,
)
from .campaign_cohort import CampaignCohort
from .commerce import Checkout, Order
from .commerce_facts import BackfillStatus, ContactDiscountCode, ContactProduct, OrderBackfill, SeenProduct
from .contact import ConsentEvent, ConsentSource, ConsentState, Contact, ContactTag, Suppression
from .contact_import import ContactTransfer, ImportSeenNumber, TransferChunk, TransferKind, TransferStatus
from .delivery import DeliveryEvent, DeliveryOutcome
from .flow import Flow, FlowEngine, FlowRun, FlowRunState, FlowRunStep, FlowVersion
from .inbound import InboundMessage
from .marketing import Attribution, AttributionKind, Click, Discount, DiscountKind, DiscountValueType, ShortLink
from .media import Media
from .privacy import AuditLog, PrivacyRequest, PrivacyRequestKind
from .product_view import ProductView
from .segment import Segment
from .sender import SenderAssignment, SenderNumber
from .shop import Shop
from .shopify_flow import ShopifyFlowAction, ShopifyFlowActionState, ShopifyFlowTrigger
from .shopify_sync import OutboxStatus, ShopifyConsentSync, ShopifySyncState
from .spend import SpendAlert, SpendAlertKind, SpendControl
from .test_send import TestSend
from .webhook_event import WebhookEvent, WebhookStatus

__all__ = [
    "OPEN_MESSAGE_STATES",
    "VARIANT_LABELS",
    "WAITING_MESSAGE_STATES",
    "AbDecision",
    "AbMetric",
    "AbTest",
    "AppSubscription",
    "Attribution",
    "AttributionKind",
    "AuditLog",
    "Automation",
    "AutomationKind",
    "AutomationRun",
    "BackInStockRequest",
    "BackfillStatus",
    "Campaign",
    "CampaignCohort",
    "CampaignKind",
    "CampaignState",
    "CampaignVariant",
    "Checkout",
    "Click",
    "ConsentEvent",
    "ConsentSource",
    "ConsentState",
    "Contact",
    "ContactDiscountCode",
    "ContactProduct",
    "ContactTag",
    "ContactTransfer",
    "CreditLedger",
    "CreditPurchase",
    "DeliveryEvent",
    "DeliveryOutcome",
    "Discount",
    "DiscountKind",
    "DiscountValueType",
    "Flow",
    "FlowEngine",
    "FlowRun",
    "FlowRunState",
    "FlowRunStep",
    "FlowVersion",
    "ImportSeenNumber",
    "InboundMessage",
    "LedgerKind",
    "Media",
    "Message",
    "MessageStat",
    "MessageState",
    "Order",
    "OrderBackfill",
    "OutboxStatus",
    "PrivacyRequest",
    "PrivacyRequestKind",
    "ProductView",
    "PurchaseStatus",
    "RunState",
    "SeenProduct",
    "Segment",
    "SendAttempt",
    "SenderAssignment",
    "SenderNumber",
    "Shop",
    "ShopifyConsentSync",
    "ShopifyFlowAction",
    "ShopifyFlowActionState",
    "ShopifyFlowTrigger",
    "ShopifySyncState",
    "ShortLink",
    "SpendAlert",
    "SpendAlertKind",
    "SpendControl",
    "StockLevel",
    "StockRequestState",
    "Suppression",
    "Template",
    "TestSend",
    "TransferChunk",
    "TransferKind",
    "TransferStatus",
    "UsageCharge",
    "WebhookEvent",
    "WebhookStatus",
]
