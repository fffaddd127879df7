"""When the storefront metafields (storefront_metafields.py) are rewritten: the job enqueued
after a change that touches what the theme blocks show, and at install.

Apart from the writing itself so that install (auth.py) can schedule it without importing what
the writing builds on (auth itself, the sign-up rules).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta

from sqlalchemy import event
from sqlalchemy.orm import Session

from ...extensions import db, redis_ext
from ...job_names import SYNC_METAFIELDS
from ...models import Shop

_AFTER_COMMIT_KEY = "storefront_metafields_after_commit"
# The settings whose change changes what a block shows (the shop's name comes with shop/update).
STOREFRONT_SETTINGS = frozenset(
    {
        "join_headline",
        "join_incentive",
        "join_button_color",
        "join_button_text_color",
        "signup_frequency_text",
        "signup_countries",
        "default_country",
    }
)


def schedule_sync(shop: Shop, *, changed: Collection[str] | None = None) -> None:
    """Enqueue the write (when `changed`, the setting names changed, touches the blocks).
    Without Redis the queue would run the job inside this request: a delay hands it to the
    scheduler instead, so the merchant never waits on Shopify."""
    if changed is not None and not STOREFRONT_SETTINGS.intersection(changed):
        return
    _enqueue_sync(shop.id)


def _enqueue_sync(shop_id: int) -> None:
    delay = None if redis_ext.queue("default").is_async else timedelta(seconds=1)
    SYNC_METAFIELDS.delay(shop_id, delay=delay, scope=shop_id)


def schedule_sync_after_commit(shop: Shop) -> None:
    """For a change still in its transaction (shop/update renames the shop): the job is
    enqueued once the change is committed, so it never reads the old name."""
    db.session.info.setdefault(_AFTER_COMMIT_KEY, set()).add(shop.id)


@event.listens_for(Session, "after_commit")
def _sync_after_commit(session: Session) -> None:
    for shop_id in sorted(session.info.pop(_AFTER_COMMIT_KEY, ())):
        _enqueue_sync(shop_id)


@event.listens_for(Session, "after_rollback")
def _forget_sync(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT_KEY, None)
