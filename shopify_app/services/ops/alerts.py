"""Operator alerts to `ALERT_WEBHOOK_URL` (Slack-compatible `{"text": ...}`), one per cool-down.

Each alert has a key (`circuit:mitto`, `failed_jobs:webhooks`, `campaign_failed:42`); a Redis
`SET NX EX` per key lets the first process that sees a problem send it, and everyone else stay
quiet until `ALERT_COOLDOWN_SECONDS` pass: an outage is one message, not thousands. Texts carry
ids and counts, never shop or shopper data.
"""

from __future__ import annotations

import requests
import structlog
from rq.registry import FailedJobRegistry

from ...config import current_config
from ...extensions import redis_ext

log = structlog.get_logger(__name__)

KEY = "sms_blossom:alert:{key}"


def alert(key: str, text: str) -> bool:
    """Send `text` unless an alert with `key` went out within the cool-down; True when sent."""
    config = current_config()
    url = config.get("ALERT_WEBHOOK_URL")
    if not url:
        return False
    cooldown = int(config["ALERT_COOLDOWN_SECONDS"])
    if not redis_ext.client().set(KEY.format(key=key), "1", nx=True, ex=cooldown):
        return False
    try:
        response = requests.post(url, json={"text": f"SMS Blossom: {text}"}, timeout=(2, 5))
        response.raise_for_status()
    except requests.RequestException as exc:  # an alert must never break what raised it
        log.warning("alert_failed", key=key, error=type(exc).__name__)
        return False
    log.info("alert_sent", key=key)
    return True


def circuit_opened(name: str) -> None:
    alert(f"circuit:{name}", f"the {name} circuit breaker opened: sending is paused until the provider answers again.")


def campaign_failed(campaign_id: int, reason: str) -> None:
    alert(f"campaign_failed:{campaign_id}", f"campaign {campaign_id} failed ({reason}).")


def check_failed_jobs() -> dict[str, int]:
    """Periodic: alert for each queue whose parked failures reach `ALERT_FAILED_JOBS_THRESHOLD`."""
    threshold = int(current_config()["ALERT_FAILED_JOBS_THRESHOLD"])
    counts = {}
    for queue in redis_ext.queues():
        counts[queue.name] = FailedJobRegistry(queue=queue).count
        if counts[queue.name] >= threshold:
            alert(
                f"failed_jobs:{queue.name}",
                f"{counts[queue.name]} failed jobs parked on the {queue.name} queue (`flask jobs failed`).",
            )
    return counts
