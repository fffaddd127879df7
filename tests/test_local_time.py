"""Local-time sending: a campaign sent "at HH:MM in each subscriber's time zone" goes out zone by
zone, each cohort when its clock reads that time; cancel, pause and the credit hold still hold."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from shopify_app.extensions import db, sms_backend
from shopify_app.models import Campaign, CampaignCohort, Contact, Message, Shop
from shopify_app.services.billing import credits
from shopify_app.services.campaigns.campaigns import launch_due_scheduled
from shopify_app.services.campaigns.local_time import planned_launch, start_in
from shopify_app.services.sending.sweeper import sweep

from .conftest import settle_jobs
from .test_ab_tests import ab_test_body
from .test_jobs import drain_if_async

SUBSCRIBE = {"consent_state": "subscribed", "consent_text": "Yes, texts please."}
PHONES = {"+14155550000": "UTC", "+14155550001": "UTC", "+14155550002": "Etc/GMT-6", "+14155550003": None}


@pytest.fixture
def zoned(api, shop):
    """1,000 credits, quiet hours off, a shop in UTC and four subscribers: two in UTC, one six
    hours ahead (UTC+6) and one whose zone is unknown (the shop's)."""
    credits.grant(shop_id=shop.id, amount=1000, key="grant:test")
    db.session.execute(update(Shop).where(Shop.id == shop.id).values(timezone="UTC"))
    db.session.commit()
    api.patch("/api/settings", json={"quiet_hours": None})
    for phone in PHONES:
        assert api.post("/api/contacts", json={"phone": phone, **SUBSCRIBE}).status_code == 201
    for contact in db.session.scalars(select(Contact)):
        contact.timezone = next(zone for phone, zone in PHONES.items() if contact.phone.endswith(phone[-4:]))
    db.session.commit()
    return api


def in_three_hours() -> tuple[str, date, datetime]:
    """A local time three hours ahead on a UTC clock: (HH:MM, its date, the instant)."""
    at = (datetime.now(UTC) + timedelta(hours=3)).replace(second=0, microsecond=0)
    return at.strftime("%H:%M"), at.date(), at


def create(api, **fields):
    response = api.post("/api/campaigns", json={"name": "Local", "body": "Hi, 20% off!", **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def launch(app, api, campaign_id, **body):
    response = api.post(f"/api/campaigns/{campaign_id}/launch", json=body or None)
    drain_if_async(app)
    return response


def cohorts(api, campaign_id):
    response = api.get(f"/api/campaigns/{campaign_id}/cohorts")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def come(app, at):
    """The clock reaches `at`: the periodic sweep runs, and so do the jobs due by then (the
    cohort's batch jobs were enqueued at launch, delayed to its start)."""
    sweep(now=at)
    settle_jobs(app)


def sent_to():
    return sorted(message.destination for message in sms_backend().sent)


@pytest.mark.parametrize("batch", [500, 2])  # 2: a cohort of several batch jobs (one pipeline)
def test_each_zone_goes_when_its_clock_reads_the_time_and_a_passed_zone_goes_at_once(app, zoned, batch):
    app.config["SMS_BATCH_SIZE"] = batch
    clock, day, start = in_three_hours()
    campaign = create(zoned, local_send_time=clock, local_send_date=day.isoformat())
    assert (campaign["local_send_time"], campaign["local_send_date"]) == (clock, day.isoformat())
    assert launch(app, zoned, campaign["id"]).get_json()["state"] == "sending"
    # UTC+6 read that time three hours ago: it went at once; UTC and the unknown zone wait.
    assert sent_to() == ["+14155550002"]
    first, second = cohorts(zoned, campaign["id"])
    assert (first["zones"], first["recipients"], first["state"], first["sent"]) == (["Etc/GMT-6"], 1, "done", 1)
    assert (second["zones"], second["recipients"], second["state"]) == (["UTC"], 3, "waiting")
    assert (second["waiting"], second["sent"]) == (3, 0)
    assert datetime.fromisoformat(second["starts_at"]) == start
    deferred = db.session.execute(select(Message.state, Message.defer_until).where(Message.defer_until.is_not(None)))
    assert {(state.value, until) for state, until in deferred} == {("deferred", start)}

    sweep(now=start - timedelta(minutes=1))
    drain_if_async(app)
    assert len(sms_backend().sent) == 1  # not yet

    come(app, start + timedelta(seconds=1))
    assert sent_to() == ["+14155550000", "+14155550001", "+14155550002", "+14155550003"]
    assert [cohort["state"] for cohort in cohorts(zoned, campaign["id"])] == ["done", "done"]
    assert zoned.get(f"/api/campaigns/{campaign['id']}").get_json()["state"] == "completed"


def test_a_cohort_is_one_contiguous_id_range_of_the_campaign(app, zoned):
    clock, day, _ = in_three_hours()
    campaign = create(zoned, local_send_time=clock, local_send_date=day.isoformat())
    launch(app, zoned, campaign["id"])
    rows = db.session.scalars(select(CampaignCohort).order_by(CampaignCohort.starts_at)).all()
    ids = db.session.scalars(select(Message.id).order_by(Message.id)).all()
    assert [(row.first_message_id, row.last_message_id) for row in rows] == [(ids[0], ids[0]), (ids[1], ids[3])]


def test_the_launch_holds_credits_for_every_cohort_and_cancel_gives_back_the_waiting_ones(app, zoned, shop):
    clock, day, start = in_three_hours()
    campaign = create(zoned, local_send_time=clock, local_send_date=day.isoformat())
    launch(app, zoned, campaign["id"])
    figures = zoned.get(f"/api/campaigns/{campaign['id']}").get_json()["credits"]
    assert figures["reserved"] == 4  # one segment each, four recipients, the waiting three too
    assert credits.balance(shop_id=shop.id) == 1000 - 4

    assert zoned.post(f"/api/campaigns/{campaign['id']}/cancel").get_json()["state"] == "cancelled"
    assert [cohort["state"] for cohort in cohorts(zoned, campaign["id"])] == ["done", "cancelled"]
    assert credits.balance(shop_id=shop.id) == 1000 - 1  # only the message that went is paid
    come(app, start + timedelta(seconds=1))
    assert sent_to() == ["+14155550002"]  # the cancelled cohort never goes


def test_a_paused_campaign_sends_a_due_cohort_only_after_resume(app, zoned):
    clock, day, start = in_three_hours()
    campaign = create(zoned, local_send_time=clock, local_send_date=day.isoformat())
    launch(app, zoned, campaign["id"])
    zoned.post(f"/api/campaigns/{campaign['id']}/pause")
    come(app, start + timedelta(seconds=1))
    assert len(sms_backend().sent) == 1
    assert cohorts(zoned, campaign["id"])[1]["state"] == "paused"
    zoned.post(f"/api/campaigns/{campaign['id']}/resume")
    drain_if_async(app)
    assert len(sms_backend().sent) == 4


def test_a_local_date_schedules_the_launch_for_the_first_zone_on_earth_to_reach_it(app, zoned):
    day = (datetime.now(UTC) + timedelta(days=3)).date()
    campaign = create(zoned, local_send_time="10:00", local_send_date=day.isoformat())
    body = launch(app, zoned, campaign["id"]).get_json()
    assert body["state"] == "scheduled"
    # 10:00 at UTC+14 is 20:00 UTC the day before.
    assert datetime.fromisoformat(body["send_at"]) == datetime.combine(day, datetime.min.time(), UTC) - timedelta(
        hours=4
    )
    assert sms_backend().sent == []
    # The scheduler launches it then: every zone waits for 10:00 on its own clock.
    assert launch_due_scheduled(now=datetime.fromisoformat(body["send_at"]) + timedelta(seconds=1)) == 1
    drain_if_async(app)
    waiting = [(c["zones"], c["state"], c["starts_at"]) for c in cohorts(zoned, campaign["id"])]
    ten = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=10)
    assert waiting == [
        (["Etc/GMT-6"], "waiting", (ten - timedelta(hours=6)).isoformat()),
        (["UTC"], "waiting", ten.isoformat()),
    ]
    assert sms_backend().sent == []


def test_a_plain_campaign_has_no_cohorts(app, zoned):
    campaign = create(zoned)
    launch(app, zoned, campaign["id"])
    assert cohorts(zoned, campaign["id"]) == []
    assert db.session.scalar(select(Campaign.local_send_time)) is None


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"local_send_time": "25:00"}, "local_send_time"),
        ({"local_send_time": "9:00"}, "local_send_time"),
        ({"local_send_time": "10:00", "local_send_date": "not a date"}, "local_send_date"),
        ({"local_send_time": "10:00", "local_send_date": "2020-01-01"}, "local_send_date"),
    ],
)
def test_a_malformed_or_past_local_time_is_422(zoned, fields, field):
    response = zoned.post("/api/campaigns", json={"name": "Local", "body": "Hi", **fields})
    assert response.status_code == 422
    assert field in response.get_json()["error"]["details"]["fields"]


def test_a_local_time_within_quiet_hours_is_422(api, shop):
    api.patch("/api/settings", json={"quiet_hours": {"start": "21:00", "end": "08:00"}})
    response = api.post("/api/campaigns", json={"name": "Local", "body": "Hi", "local_send_time": "22:30"})
    assert response.status_code == 422
    assert "quiet hours" in response.get_json()["error"]["details"]["fields"]["local_send_time"][0]


def test_a_local_date_with_a_utc_schedule_is_422(zoned):
    day = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    campaign = create(zoned, local_send_time="10:00", local_send_date=day)
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    response = zoned.post(f"/api/campaigns/{campaign['id']}/launch", json={"send_at": later})
    assert response.status_code == 422
    assert "send_at" in response.get_json()["error"]["details"]["fields"]


def test_another_shops_cohorts_are_404(zoned, other_api):
    campaign = create(zoned)
    response = other_api.get(f"/api/campaigns/{campaign['id']}/cohorts")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "campaign_not_found"


NEW_YORK = ZoneInfo("America/New_York")


def test_without_a_date_a_zone_whose_time_has_passed_today_goes_at_that_time_tomorrow():
    launch_at = datetime(2026, 12, 7, 20, 0, tzinfo=UTC)  # 15:00 in New York
    tomorrow = start_in(NEW_YORK, send_time="10:00", send_date=None, launch=launch_at)
    assert tomorrow == datetime(2026, 12, 8, 15, 0, tzinfo=UTC)
    later_today = start_in(NEW_YORK, send_time="18:00", send_date=None, launch=launch_at)
    assert later_today == datetime(2026, 12, 7, 23, 0, tzinfo=UTC)


def test_with_a_date_a_zone_whose_time_has_passed_goes_at_the_launch():
    launch_at = datetime(2026, 12, 8, 16, 0, tzinfo=UTC)  # 11:00 in New York
    assert start_in(NEW_YORK, send_time="10:00", send_date=date(2026, 12, 8), launch=launch_at) == launch_at
    assert start_in(NEW_YORK, send_time="12:00", send_date=date(2026, 12, 8), launch=launch_at) == datetime(
        2026, 12, 8, 17, 0, tzinfo=UTC
    )


def test_a_time_the_spring_change_skips_goes_an_hour_late_never_early():
    # 2027-03-14 02:30 does not exist in New York (02:00 -> 03:00): read as 03:30 EDT.
    start = start_in(NEW_YORK, send_time="02:30", send_date=date(2027, 3, 14), launch=datetime(2027, 3, 13, tzinfo=UTC))
    assert start == datetime(2027, 3, 14, 7, 30, tzinfo=UTC)


def test_the_planned_launch_is_the_date_and_time_at_utc_plus_14():
    campaign = Campaign(local_send_time="10:00", local_send_date=date(2026, 12, 8))
    assert planned_launch(campaign) == datetime(2026, 12, 7, 20, 0, tzinfo=UTC)
    assert planned_launch(Campaign(local_send_time="10:00")) is None


def test_local_time_and_an_ab_test_refuse_each_other_with_422(zoned):
    local = create(zoned, local_send_time="10:00")
    response = zoned.put(f"/api/campaigns/{local['id']}/ab-test", json=ab_test_body())
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "ab_test_incompatible"

    tested = create(zoned)
    assert zoned.put(f"/api/campaigns/{tested['id']}/ab-test", json=ab_test_body()).status_code == 200
    response = zoned.patch(f"/api/campaigns/{tested['id']}", json={"local_send_time": "10:00"})
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "ab_test_incompatible"
    assert "local_send_time" in response.get_json()["error"]["details"]["fields"]
