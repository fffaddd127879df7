"""MMS campaigns through the real Mitto client and the loopback fake: US and Canadian recipients
get the image as an MMS priced per message; everyone else an SMS with a short link to it, priced
per segment with the link counted; one batch carries both, exactly once, 429s retried."""

from __future__ import annotations

import io
from collections import Counter

import pytest
import requests
from sqlalchemy import select

from shopify_app.clients.mitto import MittoClient, MittoSettings, OutboundSms
from shopify_app.extensions import db
from shopify_app.models import Message
from shopify_app.services.billing import credits
from shopify_app.services.billing.plans import MMS_CREDITS, credits_per_segment

from .conftest import mitto_config, open_shop, settle_jobs
from .images import small_png
from .test_sending import ledger_is_consistent

SUBSCRIBED = {"consent_state": "subscribed", "consent_text": "Yes, texts please."}
MMS_PHONES = ("+14155550001", "+14155550002", "+14155550003", "+16045550123")  # US x3, CA
SMS_PHONES = ("+447400123456", "+306912345678")  # GB, GR: no MMS there
BODY = "Spring sale: 20% off everything!"
# What the launch holds and a send debits: an MMS per US/CA recipient, one SMS segment (the
# body and the image's short link fit one) per GB and GR recipient.
EXPECTED_CREDITS = MMS_CREDITS["US"] * 3 + MMS_CREDITS["CA"] + credits_per_segment("GB") + credits_per_segment("GR")


@pytest.fixture
def mms_shop(make_app, fake_mitto):
    app = make_app(**mitto_config(fake_mitto, SMS_BATCH_SIZE=10))
    with app.app_context():
        api, shop = open_shop(app, credits=1000)
        for phone in MMS_PHONES + SMS_PHONES:
            assert api.post("/api/contacts", json={"phone": phone, **SUBSCRIBED}).status_code == 201
        media = api.post("/api/media", data={"file": (io.BytesIO(small_png()), "sale.png", "image/png")}).get_json()
        campaign = api.post("/api/campaigns", json={"name": "Sale", "body": BODY, "media_id": media["id"]})
        assert campaign.status_code == 201, campaign.get_json()
        yield app, api, shop, campaign.get_json()["id"], media


def launch(api, campaign_id: int) -> None:
    response = api.post(f"/api/campaigns/{campaign_id}/launch")
    assert response.status_code == 200, response.get_json()


def charged() -> list[int]:
    db.session.expire_all()
    return sorted(message.credits for message in db.session.scalars(select(Message)))


def test_the_estimate_prices_mms_in_the_us_and_canada_and_sms_with_the_link_elsewhere(mms_shop):
    _app, api, _shop, campaign_id, _media = mms_shop
    estimate = api.get(f"/api/campaigns/{campaign_id}/estimate").get_json()
    assert (estimate["mms_recipients"], estimate["sms_recipients"]) == (4, 2)
    assert estimate["credits_by_country"] == {
        "US": 3 * MMS_CREDITS["US"],
        "CA": MMS_CREDITS["CA"],
        "GB": credits_per_segment("GB"),
        "GR": credits_per_segment("GR"),
    }
    assert estimate["credits"] == EXPECTED_CREDITS
    assert estimate["credits_per_message"] == max(MMS_CREDITS["US"], credits_per_segment("GR"))


def test_the_link_an_sms_recipient_gets_is_counted_in_the_segments(mms_shop):
    _app, api, _shop, campaign_id, _media = mms_shop
    long_body = "x" * 90  # with the compliance footer one segment (160 GSM-7); the link makes two
    api.patch(f"/api/campaigns/{campaign_id}", json={"body": long_body})
    with_image = api.get(f"/api/campaigns/{campaign_id}/estimate").get_json()
    api.patch(f"/api/campaigns/{campaign_id}", json={"media_id": None})
    without = api.get(f"/api/campaigns/{campaign_id}/estimate").get_json()
    assert with_image["segments_per_message"] == without["segments_per_message"] + 1
    assert without["mms_recipients"] == 0


def test_one_batch_sends_mms_and_sms_each_once_and_debits_the_mms_price(mms_shop, fake_mitto):
    app, api, shop, campaign_id, media = mms_shop
    launch(api, campaign_id)
    settle_jobs(app)
    assert fake_mitto.requests == 1  # six recipients, one bulk call carrying both kinds
    by_destination = {message["destination"]: message for message in fake_mitto.received}
    assert sorted(by_destination) == sorted(MMS_PHONES + SMS_PHONES)
    for phone in MMS_PHONES:
        assert by_destination[phone]["mediaUrl"] == media["url"]
        assert BODY in by_destination[phone]["text"]
    for phone in SMS_PHONES:
        sms = by_destination[phone]
        assert "mediaUrl" not in sms
        assert media["url"] not in sms["text"]  # shortened: its click is counted
        short = next(word for word in sms["text"].split() if word.startswith("https://app.example.test/r/"))
        followed = app.test_client().get(short.removeprefix("https://app.example.test"))
        assert (followed.status_code, followed.headers["Location"]) == (302, media["url"])
    assert charged() == sorted([MMS_CREDITS["US"]] * 3 + [MMS_CREDITS["CA"]] + [3, 4])
    assert credits.balance(shop_id=shop.id) == 1000 - EXPECTED_CREDITS
    assert api.get(f"/api/campaigns/{campaign_id}").get_json()["state"] == "completed"
    ledger_is_consistent(shop.id)


def test_a_429_is_retried_and_every_recipient_gets_one_mms_or_sms(mms_shop, fake_mitto):
    app, api, shop, campaign_id, _media = mms_shop
    fake_mitto.fail_next(429, times=2, retry_after="1")
    launch(api, campaign_id)
    settle_jobs(app)
    assert fake_mitto.requests == 3
    assert Counter(message["destination"] for message in fake_mitto.received) == Counter(MMS_PHONES + SMS_PHONES)
    assert sum(1 for message in fake_mitto.received if "mediaUrl" in message) == len(MMS_PHONES)
    assert credits.balance(shop_id=shop.id) == 1000 - EXPECTED_CREDITS
    ledger_is_consistent(shop.id)


def test_with_mms_disabled_everyone_gets_the_sms_with_the_link_at_sms_prices(mms_shop, fake_mitto):
    app, api, shop, campaign_id, _media = mms_shop
    app.config["MMS_ENABLED"] = 0
    estimate = api.get(f"/api/campaigns/{campaign_id}/estimate").get_json()
    assert estimate["mms_recipients"] == 0
    launch(api, campaign_id)
    settle_jobs(app)
    assert [message for message in fake_mitto.received if "mediaUrl" in message] == []
    assert all("https://app.example.test/r/" in message["text"] for message in fake_mitto.received)
    assert credits.balance(shop_id=shop.id) == 1000 - estimate["credits"] == 1000 - (4 + 3 + 4)
    ledger_is_consistent(shop.id)


# --- the client and the fake: the ASSUMED request shape (docs/mms.md) ---------------------------


def client_for(fake) -> MittoClient:
    return MittoClient(MittoSettings(api_key="test-mitto-key", base_url=fake.base_url, traffic_account_id="acct-1"))


def test_an_mms_goes_in_the_bulk_request_as_the_assumed_mms_object(fake_mitto):
    url = "https://app.example.test/media/abc.png"
    result = client_for(fake_mitto).send_bulk(
        [
            OutboundSms("+14155550001", "Look!", "+12125550001", "1", media_url=url),
            OutboundSms("+14155550002", "Plain", "+12125550001", "2"),
            OutboundSms("+447400123456", "Look!", "Shop", "3", media_url=url),
        ]
    )
    assert [item.accepted for item in result.results] == [True, True, False]
    assert result.results[2].error_code == "MmsNotSupported"  # MMS outside +1 is refused per message
    assert [message.get("mediaUrl") for message in fake_mitto.received] == [url, None]


@pytest.mark.parametrize(
    "message",
    [
        {"sms": {"text": "a", "sender": "b"}, "mms": {"text": "a", "sender": "b", "mediaUrls": ["https://x/y.png"]}},
        {"mms": {"text": "a", "sender": "b", "mediaUrls": []}},
        {"mms": {"text": "a", "sender": "b", "mediaUrls": ["http://x/y.png"]}},
        {"mms": {"text": "a", "sender": "b", "mediaUrl": "https://x/y.png"}},
    ],
    ids=["both-channels", "no-image", "not-https", "another-spelling"],
)
def test_the_fake_refuses_any_other_mms_shape(fake_mitto, message):
    response = requests.post(
        fake_mitto.base_url + "/api/v1.1/Messages/sendmessagesbulk",
        json={"messages": [{"trafficAccountId": "acct-1", "destination": "+14155550001", **message}]},
        headers={"X-Mitto-API-Key": "test-mitto-key"},
        timeout=5,
    )
    assert response.status_code == 400
    assert fake_mitto.received == []
