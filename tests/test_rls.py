"""Row-level security: the second wall between shops (migration 0010, shopify_app/tenancy.py).

PostgreSQL only: the suite's apps connect as the application role `smsb_app` (no superuser, no
BYPASSRLS), with the suite's own user as the admin role. SQLite has no RLS; there the
application's `shop_id` filters are the only wall (tests/test_isolation_matrix.py).
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, event, func, select, text, update
from sqlalchemy.exc import DBAPIError

from shopify_app.extensions import db
from shopify_app.models import Contact
from shopify_app.services.contacts import contacts as contact_service
from shopify_app.tenancy import PRIVILEGED, current_scope, privileged, shop_scope

from .conftest import APP_ROLE, ApiClient, install_shop, settle_jobs

pytestmark = pytest.mark.usefixtures("require_postgres")


@pytest.fixture
def require_postgres(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row-level security is PostgreSQL's; SQLite keeps the application's filters only")


@pytest.fixture
def two_shops(app):
    alpha, beta = install_shop("alpha.myshopify.com"), install_shop("beta.myshopify.com")
    for shop, phones in ((alpha, ("+14155550100", "+14155550101")), (beta, ("+14155550200",))):
        api = ApiClient(app.test_client(), shop.domain)
        for phone in phones:
            assert api.post("/api/contacts", json={"phone": phone}).status_code == 201
    return alpha, beta


def shop_tables():
    return sorted(table.name for table in db.metadata.sorted_tables if "shop_id" in table.c)


def test_every_shop_scoped_table_has_forced_row_level_security_and_the_policy(app):
    rows = db.session.execute(
        text(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
            "(SELECT count(*) FROM pg_policies p WHERE p.tablename = c.relname AND p.policyname = 'shop_isolation') "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
        )
    ).all()
    catalog = {name: (enabled, forced, policies) for name, enabled, forced, policies in rows}
    tables = shop_tables()
    assert len(tables) >= 30
    assert {name: catalog[name] for name in tables} == dict.fromkeys(tables, (True, True, 1))
    assert catalog["shops"][0] is False  # looked up by domain before any scope exists


def test_the_app_connects_as_a_role_that_row_level_security_binds(app):
    with shop_scope(None):
        role = db.session.execute(
            text("SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        ).one()
    assert tuple(role) == (APP_ROLE, False, False)
    with privileged():
        admin = db.session.execute(text("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user"))
        assert admin.scalar() is True
    db.session.rollback()


def test_app_role_that_forgets_the_shop_filter_sees_one_shops_rows(app, two_shops):
    alpha, beta = two_shops
    everything = select(Contact.shop_id)  # no WHERE shop_id = ...: the bug RLS is there for
    with shop_scope(alpha.id):
        assert db.session.scalars(everything).all() == [alpha.id, alpha.id]
    db.session.commit()
    with shop_scope(beta.id):
        assert db.session.scalars(everything).all() == [beta.id]
    db.session.commit()
    with shop_scope(None):  # no shop set: nothing, and no error
        assert db.session.scalars(everything).all() == []
    db.session.commit()
    with privileged():
        assert len(db.session.scalars(everything).all()) == 3


def test_an_unscoped_transaction_sends_no_setting_and_still_sees_nothing(app, two_shops):
    """The setting is only ever transaction-local, so a transaction starts without one: an
    unscoped one needs no round trip to say so, even on a connection a shop's transaction
    used a moment before."""
    alpha, _ = two_shops
    sent: list[str] = []
    listener = lambda _c, _cu, statement, *_: sent.append(statement)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        everything = select(func.count()).select_from(Contact)
        with shop_scope(alpha.id):
            assert db.session.scalar(everything) == 2
        db.session.commit()
        assert any("set_config" in statement for statement in sent)
        sent.clear()
        with shop_scope(None):
            assert db.session.scalar(everything) == 0
            assert len(sent) == 1  # the count alone: no set_config before it
        db.session.commit()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)


def test_a_plain_connection_as_the_app_role_sees_nothing_without_the_setting(app, two_shops):
    alpha, _ = two_shops
    engine = create_engine(app.config["DATABASE_URL"])
    try:
        with engine.begin() as connection:
            assert connection.execute(text("SELECT count(*) FROM contacts")).scalar() == 0
            connection.execute(text("SELECT set_config('app.shop_id', :id, true)"), {"id": str(alpha.id)})
            assert connection.execute(text("SELECT count(*) FROM contacts")).scalar() == 2
        with engine.begin() as connection:  # SET LOCAL: gone with the transaction
            assert connection.execute(text("SELECT count(*) FROM contacts")).scalar() == 0
    finally:
        engine.dispose()


def test_writes_into_or_over_another_shops_rows_are_refused(app, two_shops):
    alpha, beta = two_shops
    with privileged():
        beta_contact = db.session.scalars(select(Contact).where(Contact.shop_id == beta.id)).one()
        beta_id, beta_updated = beta_contact.id, beta_contact.updated_at
    db.session.commit()
    with shop_scope(alpha.id):
        changed = db.session.execute(
            update(Contact).where(Contact.id == beta_id).values(first_name_ciphertext=None),
            execution_options={"synchronize_session": False},
        )
        assert changed.rowcount == 0  # invisible, so untouched
        with pytest.raises(DBAPIError, match="row-level security"):
            db.session.execute(
                text("UPDATE contacts SET shop_id = :other WHERE shop_id = :own"),
                {
                    "other": beta.id,
                    "own": alpha.id,
                },
            )
    db.session.rollback()
    with privileged():
        assert db.session.get(Contact, beta_id).updated_at == beta_updated
        assert db.session.scalar(select(Contact.id).where(Contact.shop_id == alpha.id).limit(1)) is not None
    db.session.rollback()


def test_an_api_lookup_that_forgets_the_shop_filter_still_answers_404(app, two_shops, monkeypatch):
    alpha, beta = two_shops
    with privileged():
        beta_contact_id = db.session.scalar(select(Contact.id).where(Contact.shop_id == beta.id))
        alpha_contact_id = db.session.scalar(select(Contact.id).where(Contact.shop_id == alpha.id))
    db.session.commit()

    def forgetful_owned(model, *, shop, row_id, what):  # the shop condition dropped
        row = db.session.get(model, row_id)
        if row is None:
            from shopify_app.errors import NotFound

            raise NotFound(f"No such {what}.", code=f"{what}_not_found")
        return row

    monkeypatch.setattr(contact_service, "owned", forgetful_owned)
    api = ApiClient(app.test_client(), alpha.domain)
    db.session.expunge_all()  # the identity map must not answer for the database
    assert api.get(f"/api/contacts/{alpha_contact_id}").status_code == 200
    response = api.get(f"/api/contacts/{beta_contact_id}")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "contact_not_found"


def test_jobs_run_in_the_scope_that_enqueued_them(app, two_shops):
    from shopify_app.queueing import enqueue

    alpha, _ = two_shops
    with shop_scope(alpha.id):
        scoped = enqueue("default", "tests.job_probes.record_scope")
    with privileged():
        unscoped = enqueue("default", "tests.job_probes.record_scope")
    db.session.commit()
    settle_jobs(app)
    assert scoped.return_value() == [alpha.id, 2]
    assert unscoped.return_value() == ["privileged", 3]
    assert current_scope() is PRIVILEGED


def test_doctor_reports_the_wall_and_warns_when_the_app_role_bypasses_it(make_app, migrated_database):
    from .test_doctor import doctor

    _code, rows, output = doctor(make_app())
    assert rows["row_level_security"][0] == "ok"
    assert f"app role {APP_ROLE} walled" in output
    # Deployed with the owner's URL as DATABASE_URL: it works, but nothing walls shops apart.
    owner_app = make_app(DATABASE_URL=migrated_database)
    with owner_app.app_context():  # the CLI reuses a pushed context: push this app's
        _code, rows, output = doctor(owner_app)
    assert rows["row_level_security"][0] == "warn"
    assert "bypasses RLS" in output


def test_a_web_process_fails_closed_outside_requests(app, two_shops):
    """wsgi.py and `flask serve` make None the process default: a thread (or a streamed body)
    with no scope of its own sees no shop's rows; CLI and workers keep PRIVILEGED."""
    import threading

    from shopify_app.tenancy import set_process_default

    seen = {}

    def count_contacts() -> None:
        with app.app_context():
            seen["scope"] = current_scope()
            seen["contacts"] = db.session.scalar(select(func.count()).select_from(Contact))

    set_process_default(None)
    try:
        thread = threading.Thread(target=count_contacts)
        thread.start()
        thread.join()
    finally:
        set_process_default(PRIVILEGED)
    assert seen == {"scope": None, "contacts": 0}
    api = ApiClient(app.test_client(), two_shops[0].domain)
    assert api.get("/api/contacts").get_json()["items"]  # requests still get their shop


def test_a_wait_between_the_sessions_two_connections_fails_fast_instead_of_hanging(make_app):
    """Writes through the admin connection, then through the app connection, to the same row in
    one session transaction: each waits for the other and PostgreSQL sees no deadlock. The
    lock timeout (DATABASE_LOCK_TIMEOUT_MS, 30 s by default) turns the hang into an error."""
    from sqlalchemy.exc import OperationalError

    app = make_app(DATABASE_LOCK_TIMEOUT_MS=300)
    with app.app_context():
        shop = install_shop("alpha.myshopify.com")
        api = ApiClient(app.test_client(), shop.domain)
        contact_id = api.post("/api/contacts", json={"phone": "+14155550100"}).get_json()["id"]
        with shop_scope(None):
            assert db.session.execute(text("SHOW lock_timeout")).scalar() == "300ms"
        db.session.rollback()
        touch = update(Contact).where(Contact.id == contact_id).values(first_name_len=1)
        with privileged():
            db.session.execute(touch, execution_options={"synchronize_session": False})
        with shop_scope(shop.id), pytest.raises(OperationalError, match="lock timeout"):
            db.session.execute(touch, execution_options={"synchronize_session": False})
        db.session.rollback()
