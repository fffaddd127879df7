"""The bulk helpers' array literals: what PostgreSQL reads back is exactly what was sent."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text

from shopify_app.bulk import id_in, pg_array
from shopify_app.extensions import db
from shopify_app.models import Shop

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
