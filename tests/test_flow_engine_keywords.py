"""Flows and the shopper's own texts (Mitto inbound): joining by the keyword starts the "joined"
flows, and STOP ends a run in progress at its next step; an uninstalled shop's runs end too."""

from __future__ import annotations

from sqlalchemy import select

from shopify_app.extensions import db
from shopify_app.models import Shop
from shopify_app.models.types import utcnow
from shopify_app.services.flows import engine

from .test_flow_engine import WELCOME_SERIES, flow_runs, later, make_flow, taken
from .test_inbound import inbox, replies, subscribe, text  # noqa: F401 (inbox is a fixture)

JOINED = [
    {"id": "hello", "type": "send", "body": "Thanks for joining {{shop_name}} by text."},
    {"id": "hour", "type": "wait", "minutes": 60},
    {"id": "tips", "type": "send", "body": "Tips from {{shop_name}}."},
]


def shop() -> Shop:
    return db.session.scalars(select(Shop)).one()


def test_joining_by_keyword_starts_the_joined_flow_and_stop_ends_it(inbox):  # noqa: F811
    app, _api = inbox
    flow = make_flow(shop(), "joined", JOINED, trigger_config={"sources": ["keyword"]})
    text(app, "join")
    assert flow_runs(flow.id) == []  # pending: not joined until confirmed
    text(app, "y")
    [run] = flow_runs(flow.id)
    assert (run.trigger_key, run.step_id) == ("joined", "tips")
    assert [step[:2] for step in taken(run.id)] == [("hello", "sent"), ("hour", "waited")]
    text(app, "STOP")
    engine.advance_due(now=later(minutes=61))
    [run] = flow_runs(flow.id)
    assert (run.state.value, run.exit_reason) == ("exited", "opted_out")
    assert taken(run.id)[-1] == ("tips", "exited", {"reason": "opted_out"})
    assert not any("Tips from" in reply for reply in replies())


def test_an_uninstalled_shops_runs_end_at_their_next_step(inbox):  # noqa: F811
    app, api = inbox
    flow = make_flow(shop(), "welcome", WELCOME_SERIES)
    subscribe(api)
    text(app, "hello")  # settles the jobs: the first step is taken
    assert flow_runs(flow.id)[0].step_id == "tips"
    shop().uninstalled_at = utcnow()
    db.session.commit()
    engine.advance_due(now=later(minutes=61))
    [run] = flow_runs(flow.id)
    assert (run.state.value, run.exit_reason) == ("exited", "shop_uninstalled")
