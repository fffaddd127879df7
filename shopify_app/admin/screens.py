"""The admin's screens as data: path, page title, navigation label and ES module."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Screen:
    endpoint: str
    path: str
    title: str
    module: str  # static/<module>.js
    nav: str | None = None  # the label in the admin's app navigation; None: reached from a screen

    @property
    def template(self) -> str:
        return f"admin/{self.module}.html"


SCREENS: tuple[Screen, ...] = (
    Screen("home", "/", "Home", "home"),
    Screen("subscribers", "/subscribers", "Subscribers", "subscribers", nav="Subscribers"),
    Screen("subscriber", "/subscribers/<int:contact_id>", "Subscriber", "subscriber"),
    Screen("segments", "/segments", "Segments", "segments", nav="Segments"),
    Screen("campaigns", "/campaigns", "Campaigns", "campaigns", nav="Campaigns"),
    Screen("campaign_new", "/campaigns/new", "New campaign", "composer"),
    Screen("campaign_edit", "/campaigns/<int:campaign_id>/edit", "Edit campaign", "composer"),
    Screen("campaign", "/campaigns/<int:campaign_id>", "Campaign", "campaign"),
    Screen("flows", "/flows", "Flows", "flows", nav="Flows"),
    Screen("flow", "/flows/<int:flow_id>", "Flow", "flow"),
    Screen("flow_run", "/flows/<int:flow_id>/runs/<int:run_id>", "Flow run", "flow_run"),
    # The pre-flow automations are one-step flows now (Flows lists them); their own screen stays
    # reachable from the Flows page for the per-kind settings (conditions) the editor lacks.
    Screen("automations", "/automations", "Automations", "automations"),
    Screen("inbox", "/inbox", "Inbox", "inbox", nav="Inbox"),
    Screen("billing", "/billing", "Billing", "billing", nav="Billing"),
    Screen("settings", "/settings", "Settings", "settings", nav="Settings"),
)
