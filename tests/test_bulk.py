"""The bulk helpers: array literals (what PostgreSQL reads back is exactly what was sent) and
insert_new's small-insert path."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, select, text

from shopify_app.bulk import id_in, insert_new, pg_array
from shopify_app.extensions import db
from shopify_app.models import CreditLedger, LedgerKind, Shop

from .conftest import install_shop

on_postgresql = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="array literals: PostgreSQL"
)

AWKWARD = ["", "plain", "a,b", '"quoted"', "back\\slash", "{braces}", "NULL", None, "ü é ✓", " padded ", 'x\\"y']


def test_an_array_literal_quotes_what_needs_it():
    assert pg_array([3, 1, 2]) == "{3,1,2}"
    assert pg_array([]) == "{}"
    assert pg_array(["a", None, 'say "hi"', "c:\\"]) == '{"a",NULL,"say \\"hi\\"","c:\\\\"}'
    when = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
    assert pg_array([when]) == '{"2026-11-27T09:30:00+00:00"}'


@on_postgresql
def test_postgresql_reads_back_exactly_the_values_sent(app):
    assert db.session.scalar(text("SELECT CAST(:a AS text[])"), {"a": pg_array(AWKWARD)}) == AWKWARD
    ids = [1, 2**62, 0, -5]
    assert db.session.scalar(text("SELECT CAST(:a AS bigint[])"), {"a": pg_array(ids)}) == ids
    when = [datetime(2026, 11, 27, 9, 30, tzinfo=UTC), None]
    assert db.session.scalar(text("SELECT CAST(:a AS timestamptz[])"), {"a": pg_array(when)}) == when


def test_id_in_finds_exactly_the_ids_given(app):
    shops = [install_shop(f"s{n}.myshopify.com") for n in range(4)]
    wanted = [shops[0].id, shops[2].id]
    found = db.session.scalars(select(Shop.id).where(id_in(Shop.id, wanted)).order_by(Shop.id)).all()
    assert found == sorted(wanted)
    assert db.session.scalars(select(Shop.id).where(id_in(Shop.id, []))).all() == []


def test_insert_new_returns_only_the_rows_it_inserted_and_keeps_their_types(app):
    shop = install_shop("ledger.myshopify.com")
    when = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)

    def rows(*keys: str) -> list[dict[str, object]]:
        return [
            {
                "shop_id": shop.id,
                "kind": LedgerKind.GRANT,
                "amount": 5,
                "campaign_id": None,
                "message_id": None,
                "idempotency_key": key,
                "note": None,
                "created_at": when,
            }
            for key in keys
        ]

    table = CreditLedger.__table__
    first = insert_new(table, rows("a", "b"), conflict=("shop_id", "idempotency_key"), returning=("id",))
    again = insert_new(table, rows("b", "c"), conflict=("shop_id", "idempotency_key"), returning=("id",))
    assert len(first) == 2
    assert len(again) == 1  # "b" existed: skipped, not an error
    stored = db.session.execute(
        select(CreditLedger.kind, CreditLedger.created_at).where(CreditLedger.id == again[0][0])
    )
    assert stored.one() == (LedgerKind.GRANT, when)
    if db.session.connection().dialect.name == "postgresql":
        # The compiled statement is reused: SQLAlchemy compiled a PostgreSQL ON CONFLICT insert anew each time.
        seen = []
        listener = lambda conn, cursor, statement, params, context, many: seen.append(context.cache_hit)  # noqa: E731
        engine = db.session.connection().engine
        event.listen(engine, "after_cursor_execute", listener)
        try:
            insert_new(table, rows("d", "e"), conflict=("shop_id", "idempotency_key"), returning=("id",))
        finally:
            event.remove(engine, "after_cursor_execute", listener)
        assert [str(hit) for hit in seen] == ["CacheStats.CACHE_HIT"]
