"""The low-balance email to the shop's contact address, through `SMTP_URL`.

One email per alert row: the job (jobs/spend.py) takes the alert's id, and a sent email is
recorded on the row (`emailed_at`), so a job run twice sends once. A failure of the SMTP server
raises, and RQ retries the job; an answer lost after the server took the message may send it
twice, the one duplicate SMTP allows. No SMTP_URL, or no contact address: nothing is sent and
the row says why (`email_skipped`); the log names the shop's id, never its address.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import structlog

from ...config import current_config
from ...extensions import db
from ...models import Shop, SpendAlert, SpendAlertKind
from ...models.types import utcnow

log = structlog.get_logger(__name__)

SMTP_TIMEOUT_SECONDS = 20


def email_alert(*, alert_id: int) -> str:
    """Email the alert once; "sent", "done" (sent or skipped before) or the skip reason."""
    alert = db.session.get(SpendAlert, alert_id)
    if alert is None or alert.kind != SpendAlertKind.LOW_BALANCE:
        return "no_alert"
    if alert.emailed_at is not None or alert.email_skipped is not None:
        return "done"
    shop = db.session.get(Shop, alert.shop_id)
    config = current_config()
    address = shop.email if shop is not None else None
    if not config.get("SMTP") or shop is None or not address:
        alert.email_skipped = "no_contact_address" if config.get("SMTP") else "smtp_not_configured"
        db.session.commit()
        log.info("spend_alert_email_skipped", shop_id=alert.shop_id, alert_id=alert.id, reason=alert.email_skipped)
        return alert.email_skipped
    send(config["SMTP"], low_balance_message(shop=shop, alert=alert, sender=config["SMTP_FROM"], to=address))
    alert.emailed_at = utcnow()
    db.session.commit()
    log.info("spend_alert_emailed", shop_id=shop.id, alert_id=alert.id)
    return "sent"


def low_balance_message(*, shop: Shop, alert: SpendAlert, sender: str, to: str) -> EmailMessage:
    """The text: the shop's name, the balance and the threshold, where to act. Nothing else."""
    name = shop.name or shop.domain
    billing = f"https://admin.shopify.com/store/{shop.domain.removesuffix('.myshopify.com')}/apps/"
    billing += f"{current_config()['SHOPIFY_API_KEY']}/billing"
    message = EmailMessage()
    message["Subject"] = f"SMS Blossom: {name} has {alert.balance:,} SMS credits left"
    message["From"] = sender
    message["To"] = to
    message["Message-ID"] = make_msgid(idstring=f"spend-alert-{alert.id}")
    message.set_content(
        f"Your SMS credit balance for {name} is {alert.balance:,} credits, below the alert "
        f"threshold of {alert.threshold:,} you set.\n\n"
        "When the credits run out, campaigns cannot launch and automation texts are skipped.\n"
        f"Buy credits or turn on auto-recharge in SMS Blossom's billing page:\n{billing}\n\n"
        "You get this email once each time the balance falls below the threshold; change the "
        "threshold or turn the alert off on the same page.\n"
    )
    return message


def send(smtp: dict[str, Any], message: EmailMessage) -> None:
    """Deliver through the configured server; smtplib's and the socket's errors propagate."""
    scheme, host, port = smtp["scheme"], smtp["host"], smtp["port"]
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if scheme == "smtps":
        client = smtplib.SMTP_SSL(host, port, timeout=SMTP_TIMEOUT_SECONDS, context=context)
    else:
        client = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT_SECONDS)
    with client:
        if scheme == "smtp+starttls":
            client.starttls(context=context)
        if smtp["username"]:
            client.login(smtp["username"], smtp["password"] or "")
        client.send_message(message)
