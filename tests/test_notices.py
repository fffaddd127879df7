"""The app's own texts (the answers to STOP/START/HELP/join, the double opt-in confirmation) go
the one way every text goes: a message row recorded first, then a batch (rate limits, the
circuit breaker, credits, the attempt record), our message id as the provider's reference;
through the loopback fake Mitto, on both backends."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

import shopify_app
from jobs.signup import send_double_opt_in as opt_in_job
from shopify_app.extensions import db
from shopify_app.models import Campaign, ConsentEvent, Contact, InboundMessage, Message, SendAttempt
from shopify_app.services.billing import credits
from shopify_app.services.contacts import inbound, signup
from shopify_app.services.sending.circuit import CircuitState
from shopify_app.services.sending.plan import breaker

from .conftest import ApiClient, install_shop, mitto_config, settle_jobs
from .test_jobs import drain_if_async

SECRET = "inbound-path-secret-0123456789abcdef01234567"
SHOP_NUMBER = "+14155559000"
SHOPPER = "+14155550101"


@pytest.fixture
def texting(make_app, fake_mitto):
    app = make_app(**mitto_config(fake_mitto, MITTO_WEBHOOK_SECRET=SECRET, MITTO_READ_TIMEOUT_SECONDS=1.0))
    with app.app_context():
        shop = install_shop("alpha.myshopify.com", number=SHOP_NUMBER)
        api = ApiClient(app.test_client(), shop.domain)
        assert api.patch("/api/settings", json={"sender_id": SHOP_NUMBER, "join_keyword": "JOIN"}).status_code == 200
        api.post("/api/contacts", json={"phone": SHOPPER, "consent_state": "subscribed", "consent_text": "ok"})
        yield app, shop


def text(app, body: str, *, strict: bool = True) -> None:
    response = app.test_client().post(
        f"/mitto/inbound/{SECRET}", json={"from": SHOPPER, "to": SHOP_NUMBER, "text": body}
    )
    assert response.status_code == 202
    settle_jobs(app, rounds=5 if not strict else 50, strict=strict)
    db.session.expire_all()


def messages() -> list[Message]:
    db.session.expire_all()
    return list(db.session.scalars(select(Message).order_by(Message.id)))


def kind_of(message: Message) -> str:
    campaign = db.session.get(Campaign, message.campaign_id)
    return campaign.kind.value


def test_a_stop_answer_is_a_message_row_sent_once_through_the_loop(texting, fake_mitto):
    app, _shop = texting
    text(app, "STOP")
    [message] = messages()
    assert (kind_of(message), message.state.value, message.contact_id) == ("keyword_reply", "sent", _contact().id)
    [received] = fake_mitto.received
    assert received["reference"] == str(message.id)  # the delivery report finds it by our id
    assert received["destination"] == SHOPPER
    assert received["text"] == (
        "Alpha: You are unsubscribed and will get no more messages. Reply START to rejoin."
    )  # as written: no footer, no second STOP line
    assert message.provider_message_id == received["messageId"]
    assert db.session.scalars(select(SendAttempt)).all() == []  # its attempt was recorded and closed
    inbound_id = db.session.scalar(select(InboundMessage.id))
    assert inbound.process(inbound_id=inbound_id) == "skipped"  # a replayed job: nothing new
    assert len(fake_mitto.received) == 1
    assert len(messages()) == 1


def test_with_the_breaker_open_a_keyword_answer_waits_then_goes_once(texting, fake_mitto):
    app, _shop = texting
    circuit = breaker()
    for _ in range(circuit.threshold):
        circuit.record_failure()
    assert circuit.status().state == CircuitState.OPEN
    text(app, "STOP", strict=False)
    assert _contact().consent_state.value == "unsubscribed"  # the STOP itself never waits
    assert fake_mitto.requests == 0  # Mitto is not hammered
    assert [m.state.value for m in messages()] == ["queued"]
    circuit.record_success()  # the cool-down passed and a probe succeeded
    settle_jobs(app)
    assert [m.state.value for m in messages()] == ["sent"]
    assert len(fake_mitto.received) == 1


def test_an_answer_to_stop_goes_without_credits_and_is_charged_with_them(texting, fake_mitto):
    app, shop = texting
    text(app, "HELP")  # a shop without credits: answered all the same (compliance first), free
    assert [(m.state.value, m.credits) for m in messages()] == [("sent", 0)]
    assert credits.balance(shop_id=shop.id) == 0
    credits.grant(shop_id=shop.id, amount=10, key="grant:test")
    db.session.commit()
    text(app, "STOP")  # with credits: charged like any text
    assert [(m.state.value, m.credits) for m in messages()] == [("sent", 0), ("sent", 1)]
    assert credits.balance(shop_id=shop.id) == 9
    assert len(fake_mitto.received) == 2


def test_a_refused_answer_is_failed_and_logged_without_the_number(texting, fake_mitto, capsys, caplog):
    app, _shop = texting
    fake_mitto.reject_destinations.add(SHOPPER)
    text(app, "STOP")
    assert _contact().consent_state.value == "unsubscribed"  # a lost answer never undoes the STOP
    [message] = messages()
    assert message.state.value == "failed"
    captured = capsys.readouterr()
    assert "4155550101" not in captured.out + captured.err + caplog.text


def _sign_up(app, shop) -> tuple[Contact, int]:
    form = {"phone": "(415) 555-0142", "consent": "on", "consent_text": "Text me offers."}
    result = signup.sign_up(shop=shop, form=form, ip=None, user_agent=None)
    drain_if_async(app)
    event_id = db.session.scalar(
        select(ConsentEvent.id).where(ConsentEvent.contact_id == result.contact.id).order_by(ConsentEvent.id.desc())
    )
    return result.contact, event_id


def test_a_retried_opt_in_job_sends_one_confirmation(texting, fake_mitto):
    app, shop = texting
    contact, event_id = _sign_up(app, shop)
    [message] = messages()
    assert (kind_of(message), message.state.value) == ("confirmation", "sent")
    assert opt_in_job(contact.id, event_id) == "duplicate"  # RQ running the job again
    assert signup.send_double_opt_in(contact_id=contact.id, consent_event_id=event_id) == "duplicate"
    [received] = fake_mitto.received
    assert received["destination"] == "+14155550142"
    assert received["reference"] == str(message.id)
    assert "reply Y" in received["text"]
    assert "/apps/sms/confirm?t=" in received["text"]  # the link as written, not shortened


def test_an_opt_in_whose_answer_was_lost_is_never_sent_again(texting, fake_mitto):
    app, shop = texting
    fake_mitto.timeout_next(seconds=2.0)
    contact, event_id = _sign_up(app, shop)
    settle_jobs(app)
    [message] = messages()
    assert message.state.value == "unknown"  # maybe accepted: never resent blindly
    assert opt_in_job(contact.id, event_id) == "duplicate"
    settle_jobs(app)
    assert len(fake_mitto.received) <= 1  # the one the timeout may have let through, no second


def test_a_429_on_a_confirmation_is_retried_by_the_batch_and_sent_once(texting, fake_mitto):
    app, shop = texting
    fake_mitto.fail_next(429, times=2, retry_after="1")
    _sign_up(app, shop)
    settle_jobs(app)
    assert [m.state.value for m in messages()] == ["sent"]
    assert len(fake_mitto.received) == 1


def test_a_confirmation_is_not_sent_once_the_contact_is_no_longer_pending(texting, fake_mitto):
    app, shop = texting
    circuit = breaker()
    for _ in range(circuit.threshold):  # the confirmation waits...
        circuit.record_failure()
    contact, _event_id = _sign_up(app, shop)
    settle_jobs(app, rounds=5, strict=False)
    signup.unsubscribe(shop=shop, claims=_claims(contact, shop), ip=None, user_agent=None)  # ...and they opt out
    circuit.record_success()
    settle_jobs(app)
    assert [(m.state.value, m.skip_reason) for m in messages()] == [("skipped", "not_subscribed")]
    assert fake_mitto.received == []


def _claims(contact: Contact, shop) -> signup.LinkClaims:
    return signup.LinkClaims(contact_id=contact.id, shop_id=shop.id)


def _contact() -> Contact:
    db.session.expire_all()
    return db.session.scalars(select(Contact).where(Contact.id == 1)).one()


def test_a_help_from_a_number_that_is_no_contact_is_answered_once_through_the_loop(texting, fake_mitto):
    app, _shop = texting
    stranger = "+14155550177"
    response = app.test_client().post(
        f"/mitto/inbound/{SECRET}", json={"from": stranger, "to": SHOP_NUMBER, "text": "HELP", "messageId": "in-9"}
    )
    assert response.status_code == 202
    settle_jobs(app)
    [message] = messages()
    assert (kind_of(message), message.state.value, message.contact_id) == ("keyword_reply", "sent", None)
    [received] = fake_mitto.received
    assert (received["destination"], received["reference"]) == (stranger, str(message.id))
    assert received["text"].startswith("Alpha: marketing texts.")
    inbound_id = db.session.scalar(select(InboundMessage.id))
    assert inbound.process(inbound_id=inbound_id) == "skipped"
    settle_jobs(app)
    assert len(fake_mitto.received) == 1
    assert db.session.scalars(select(Contact)).all() == [_contact()]  # no contact made for them


def test_only_the_batch_calls_the_provider_to_send():
    """One path for every text: no module but the batch's answer step submits to the SMS backend."""
    root = Path(shopify_app.__file__).parent
    sending = re.compile(r"\.send(_bulk)?\(")
    callers = sorted(
        path.relative_to(root).as_posix()
        for path in root.rglob("*.py")
        if "clients" not in path.parts and "sms_backend" in (source := path.read_text()) and sending.search(source)
    )
    assert callers == ["services/sending/answer.py"]
