"""Numeric senders belong to one shop, by the operator's assignment: the ops API and CLI, the
merchant's choice, the US/CA rule, the sender recorded on every message, and inbound routing
(a collision is refused; a STOP to a number no shop holds reaches every shop that held it)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shopify_app.extensions import db, sms_backend
from shopify_app.models import ConsentEvent, Contact, InboundMessage, Message, SenderAssignment
from shopify_app.services.billing import credits

from .conftest import ApiClient, install_shop, settle_jobs
from .test_inbound import SECRET, SHOPPER
from .test_inbound import text as text_to

TOKEN = "operator-token-0123456789abcdef0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NUMBER = "+14155559000"
SUBSCRIBED = {"consent_state": "subscribed", "consent_text": "Yes, texts please."}


@pytest.fixture
def ops(make_app):
    app = make_app(OPERATOR_TOKEN=TOKEN, MITTO_WEBHOOK_SECRET=SECRET)
    with app.app_context():
        yield app


def assign(app, number: str, domain: str):
    return app.test_client().post("/ops/senders", json={"number": number, "shop_domain": domain}, headers=AUTH)


def listed(app) -> dict[str, str | None]:
    items = app.test_client().get("/ops/senders", headers=AUTH).get_json()["items"]
    return {item["number"]: item["shop_domain"] for item in items}


# --- the operator: /ops/senders and `flask senders` -------------------------------------------


def test_ops_senders_needs_the_operator_token(ops, make_app):
    install_shop("alpha.myshopify.com", number=None)
    client = ops.test_client()
    body = {"number": NUMBER, "shop_domain": "alpha.myshopify.com"}
    assert client.get("/ops/senders").status_code == 401
    assert client.post("/ops/senders", json=body).status_code == 401
    forged = {"Authorization": "Bearer " + TOKEN[:-1] + "x"}
    assert client.post("/ops/senders", json=body, headers=forged).status_code == 401
    assert client.delete(f"/ops/senders/{NUMBER}", headers=forged).status_code == 401
    assert listed(ops) == {}  # nothing was assigned by the refused calls
    assert make_app().test_client().get("/ops/senders", headers=AUTH).status_code == 404  # no token configured


def test_an_operator_assigns_lists_and_releases_a_number_in_e164(ops):
    install_shop("alpha.myshopify.com", number=None)
    response = assign(ops, "+1 (415) 555-9000", "Alpha.myshopify.com")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["number"] == NUMBER
    assert assign(ops, NUMBER, "alpha.myshopify.com").status_code == 200  # again: the same owner, no change
    assert listed(ops) == {NUMBER: "alpha.myshopify.com"}
    released = ops.test_client().delete(f"/ops/senders/{NUMBER}", headers=AUTH)
    assert released.status_code == 200
    assert released.get_json()["shop_domain"] is None
    assert listed(ops) == {NUMBER: None}
    assert ops.test_client().post(f"/ops/senders/{NUMBER}/release", headers=AUTH).status_code == 200  # idempotent
    assert len(db.session.scalars(select(SenderAssignment)).all()) == 1  # one period held, kept


def test_a_number_another_shop_holds_is_409_until_released(ops):
    install_shop("alpha.myshopify.com", number=NUMBER)
    install_shop("beta.myshopify.com", number=None)
    taken = assign(ops, NUMBER, "beta.myshopify.com")
    assert taken.status_code == 409
    assert taken.get_json()["error"]["code"] == "number_taken"
    assert listed(ops)[NUMBER] == "alpha.myshopify.com"
    ops.test_client().delete(f"/ops/senders/{NUMBER}", headers=AUTH)
    assert assign(ops, NUMBER, "beta.myshopify.com").status_code == 200
    assert listed(ops)[NUMBER] == "beta.myshopify.com"


def test_unknown_shops_and_numbers_are_404_and_bad_input_422(ops):
    install_shop("alpha.myshopify.com", number=None)
    assert assign(ops, NUMBER, "nobody.myshopify.com").get_json()["error"]["code"] == "shop_not_found"
    missing = ops.test_client().delete("/ops/senders/+14155550000", headers=AUTH)
    assert (missing.status_code, missing.get_json()["error"]["code"]) == (404, "number_not_found")
    assert assign(ops, "4155559000", "alpha.myshopify.com").status_code == 422  # no country code: not guessed
    assert assign(ops, "+1 415 555", "alpha.myshopify.com").status_code == 422
    no_shop = ops.test_client().post("/ops/senders", json={"number": NUMBER}, headers=AUTH)
    assert no_shop.status_code == 422
    assert listed(ops) == {}


def test_the_cli_assigns_lists_refuses_a_collision_and_releases(ops):
    install_shop("alpha.myshopify.com", number=None)
    install_shop("beta.myshopify.com", number=None)
    runner = ops.test_cli_runner()
    result = runner.invoke(args=["senders", "assign", NUMBER, "alpha.myshopify.com", "--note", "10DLC c-1"])
    assert result.exit_code == 0, result.output
    collision = runner.invoke(args=["senders", "assign", NUMBER, "beta.myshopify.com"])
    assert collision.exit_code != 0
    assert "release it first" in collision.output
    listing = runner.invoke(args=["senders", "list"]).output
    assert f"{NUMBER}  alpha.myshopify.com" in listing
    assert "10DLC c-1" in listing
    assert runner.invoke(args=["senders", "release", NUMBER]).exit_code == 0
    assert f"{NUMBER}  -" in runner.invoke(args=["senders", "list"]).output
    assert runner.invoke(args=["senders", "release", "+14155550000"]).exit_code != 0


# --- the merchant's choice ---------------------------------------------------------------------


def test_a_numeric_sender_id_must_be_one_of_the_shops_own_numbers(ops):
    alpha = install_shop("alpha.myshopify.com", number=NUMBER)
    install_shop("beta.myshopify.com", number="+14155559001")
    api = ApiClient(ops.test_client(), alpha.domain)
    for foreign in ("+14155559001", "+14155558888"):  # another shop's, and nobody's
        refused = api.patch("/api/settings", json={"sender_id": foreign})
        assert refused.status_code == 422
        assert (
            "one of this shop's numbers: +14155559000"
            in refused.get_json()["error"]["details"]["fields"]["sender_id"][0]
        )
    assert api.get("/api/settings").get_json()["sender_id"] is None
    assert api.patch("/api/settings", json={"sender_id": "14155559000"}).get_json()["sender_id"] == NUMBER
    assert api.patch("/api/settings", json={"sender_id": "Alpha"}).status_code == 200  # alphanumeric: allowed


def test_a_shop_lists_its_own_numbers_and_what_its_texts_go_from(ops):
    alpha = install_shop("alpha.myshopify.com", number=NUMBER)
    install_shop("beta.myshopify.com", number="+14155559001")
    api = ApiClient(ops.test_client(), alpha.domain)
    api.patch("/api/settings", json={"sender_id": "Alpha"})
    body = api.get("/api/senders").get_json()
    assert [item["number"] for item in body["items"]] == [NUMBER]
    assert (body["us_ca_sender"], body["other_sender"]) == (NUMBER, "Alpha")
    bare = install_shop("gamma.myshopify.com", number=None)
    body = ApiClient(ops.test_client(), bare.domain).get("/api/senders").get_json()
    assert (body["items"], body["us_ca_sender"], body["other_sender"]) == ([], None, "SMSBlossom")


# --- sending: the US/CA rule and the sender on every message ----------------------------------


def funded_shop(app, domain: str, phones: list[str], *, number: str | None) -> ApiClient:
    shop = install_shop(domain, number=number)
    credits.grant(shop_id=shop.id, amount=1000, key="grant:test")
    db.session.commit()
    api = ApiClient(app.test_client(), domain)
    api.patch("/api/settings", json={"quiet_hours": None})
    for phone in phones:
        assert api.post("/api/contacts", json={"phone": phone, **SUBSCRIBED}).status_code == 201
    return api


def launch(app, api, body: str = "Sale today") -> int:
    campaign = api.post("/api/campaigns", json={"name": "Sale", "body": body}).get_json()
    assert api.post(f"/api/campaigns/{campaign['id']}/launch").status_code == 200
    settle_jobs(app)
    return int(campaign["id"])


def senders_by_destination() -> dict[str, str]:
    return {message.destination: message.sender for message in sms_backend().sent}


def recorded() -> dict[str | None, tuple[str, str | None]]:
    db.session.expire_all()
    return {row.sender: (row.state.value, row.skip_reason) for row in db.session.scalars(select(Message))}


def test_an_alphanumeric_sender_is_never_used_for_us_or_canada(ops):
    phones = ["+14155550101", "+16135550100", "+306900000000"]  # US, Canada, Greece
    api = funded_shop(ops, "alpha.myshopify.com", phones, number=NUMBER)
    assert api.patch("/api/settings", json={"sender_id": "Alpha"}).status_code == 200
    launch(ops, api)
    assert senders_by_destination() == {"+14155550101": NUMBER, "+16135550100": NUMBER, "+306900000000": "Alpha"}
    rows = db.session.execute(select(Message.sender, Message.state)).all()
    assert sorted((sender, state.value) for sender, state in rows) == [
        (NUMBER, "sent"),
        (NUMBER, "sent"),
        ("Alpha", "sent"),
    ]


def test_texts_to_us_numbers_from_a_shop_without_a_number_are_skipped_not_sent(ops):
    api = funded_shop(ops, "alpha.myshopify.com", ["+14155550101", "+306900000000"], number=None)
    launch(ops, api)
    assert senders_by_destination() == {"+306900000000": "SMSBlossom"}
    assert recorded() == {None: ("skipped", "no_sender_for_country"), "SMSBlossom": ("sent", None)}


def test_a_released_number_is_never_sent_from_even_when_still_chosen(ops):
    api = funded_shop(ops, "alpha.myshopify.com", ["+14155550101"], number=NUMBER)
    assert api.patch("/api/settings", json={"sender_id": NUMBER}).status_code == 200
    ops.test_client().delete(f"/ops/senders/{NUMBER}", headers=AUTH)
    launch(ops, api)
    assert sms_backend().sent == []
    assert recorded() == {None: ("skipped", "no_sender_for_country")}


# --- inbound: routed by the number texted, through the assignments ------------------------------


def contacts_by_shop() -> dict[int, str]:
    db.session.expire_all()
    return {contact.shop_id: contact.consent_state.value for contact in db.session.scalars(select(Contact))}


def two_shops_knowing_the_shopper(app, *, alpha_number: str | None, beta_number: str | None):
    shops = []
    for domain, number in (("alpha.myshopify.com", alpha_number), ("beta.myshopify.com", beta_number)):
        shop = install_shop(domain, number=number)
        api = ApiClient(app.test_client(), domain)
        assert api.post("/api/contacts", json={"phone": SHOPPER, **SUBSCRIBED}).status_code == 201
        shops.append(shop)
    return shops


def test_two_shops_cannot_hold_one_number_and_a_stop_reaches_its_owner_only(ops):
    alpha, beta = two_shops_knowing_the_shopper(ops, alpha_number=NUMBER, beta_number=None)
    beta_api = ApiClient(ops.test_client(), beta.domain)
    assert assign(ops, NUMBER, beta.domain).status_code == 409
    assert beta_api.patch("/api/settings", json={"sender_id": NUMBER}).status_code == 422
    assert text_to(ops, "STOP", to=NUMBER.lstrip("+")).status_code == 202  # Mitto may drop the +
    assert contacts_by_shop() == {alpha.id: "unsubscribed", beta.id: "subscribed"}
    [stored] = db.session.scalars(select(InboundMessage)).all()
    assert (stored.shop_id, stored.outcome) == (alpha.id, "unsubscribed")
    assert [message.sender for message in sms_backend().sent] == [NUMBER]  # the confirmation, from the number


def test_a_stop_to_a_released_number_opts_out_of_every_shop_that_held_it(ops):
    alpha, beta = two_shops_knowing_the_shopper(ops, alpha_number=NUMBER, beta_number=None)
    gamma = install_shop("gamma.myshopify.com", number=None)  # never held it: untouched
    ApiClient(ops.test_client(), gamma.domain).post("/api/contacts", json={"phone": SHOPPER, **SUBSCRIBED})
    ops.test_client().delete(f"/ops/senders/{NUMBER}", headers=AUTH)
    assert assign(ops, NUMBER, beta.domain).status_code == 200
    ops.test_client().delete(f"/ops/senders/{NUMBER}", headers=AUTH)
    text_to(ops, "stop", to=NUMBER, message_id="in-1")
    assert contacts_by_shop() == {alpha.id: "unsubscribed", beta.id: "unsubscribed", gamma.id: "subscribed"}
    events = db.session.scalars(select(ConsentEvent).where(ConsentEvent.state == "unsubscribed")).all()
    assert sorted((event.shop_id, event.source.value) for event in events) == [
        (alpha.id, "keyword"),
        (beta.id, "keyword"),
    ]
    [stored] = db.session.scalars(select(InboundMessage)).all()
    assert (stored.shop_id, stored.text_ciphertext, stored.keyword) == (None, None, "stop")
    assert sms_backend().sent == []  # nobody may text from a number no shop holds
    text_to(ops, "stop", to=NUMBER, message_id="in-1")  # a replay: processed once
    assert len(db.session.scalars(select(ConsentEvent).where(ConsentEvent.state == "unsubscribed")).all()) == 2


def test_a_text_that_is_not_a_stop_to_a_released_number_is_counted_not_kept(ops):
    two_shops_knowing_the_shopper(ops, alpha_number=NUMBER, beta_number=None)
    ops.test_client().delete(f"/ops/senders/{NUMBER}", headers=AUTH)
    text_to(ops, "Do you ship to Canada?", to=NUMBER)
    [stored] = db.session.scalars(select(InboundMessage)).all()
    assert (stored.shop_id, stored.text_ciphertext, stored.sender_ciphertext) == (None, None, None)
    assert (stored.keyword, stored.outcome) == (None, "unknown_number")
    assert set(contacts_by_shop().values()) == {"subscribed"}


def test_a_number_only_typed_into_the_settings_routes_nothing(ops):
    alpha = install_shop("alpha.myshopify.com", number=None)
    alpha.settings = {"sender_id": NUMBER}  # an old claim, written before numbers were assigned
    db.session.commit()
    ApiClient(ops.test_client(), alpha.domain).post("/api/contacts", json={"phone": SHOPPER, **SUBSCRIBED})
    text_to(ops, "STOP", to=NUMBER)
    assert contacts_by_shop() == {alpha.id: "subscribed"}
    assert db.session.scalars(select(InboundMessage.outcome)).all() == ["unknown_number"]


def test_a_batch_is_split_by_sender_only_when_it_has_two():
    from typing import NamedTuple

    from shopify_app.services.sending.senders import by_sender

    class Columns(NamedTuple):
        ids: list[int]
        senders: list[str]

    rows = [1, 2, 3]
    [(sender, group)] = by_sender(rows, ["Alpha"] * 3)
    assert (sender, group is rows) == ("Alpha", True)  # one sender: the batch as it is, bound once
    assert by_sender(rows, [NUMBER, "Alpha", NUMBER]) == [(NUMBER, [1, 3]), ("Alpha", [2])]
    columns = Columns([1, 2, 3], [NUMBER, "Alpha", NUMBER])
    assert by_sender(columns, columns.senders) == [
        (NUMBER, Columns([1, 3], [NUMBER, NUMBER])),
        ("Alpha", Columns([2], ["Alpha"])),
    ]
    assert by_sender([], []) == []
