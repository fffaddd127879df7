"""The embedded admin API: every route behind a verified session token, shop from its `dest`.

`bp` and the checks every route goes through are blueprint.py; each module here registers its
routes on it, and importing this package imports them all.
"""

from __future__ import annotations

from . import (  # noqa: F401  (routes register on bp)
    automations,
    billing,
    campaign_cohorts,
    campaigns,
    contacts,
    discounts,
    home,
    inbox,
    privacy,
    reports,
    segments,
    senders,
    settings,
    signup_links,
    transfers,
)
from .blueprint import AUDITED_METHODS, NOT_AUDITED, bp

__all__ = ["AUDITED_METHODS", "NOT_AUDITED", "bp"]
