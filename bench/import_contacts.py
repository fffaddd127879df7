"""CSV import throughput, memory and per-row costs: N rows through the real import service.

    export DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/import_contacts.py --rows 100000
    .venv/bin/python bench/import_contacts.py --rows 1000000

Creates a scratch database (dropped afterwards) on the server of DATABASE_URL (or a SQLite
file), migrates it, writes a CSV of N valid US numbers with names, emails, tags and consent to
a temporary file, and streams it through upload (encrypted chunks) and import (batches of
1,000). Prints rows/s for each phase and peak RSS (the file is never held in memory, so the
peak should not grow with N), and where an imported row's time goes: timers wrapped around the
service's own stages during the run (parse + phone hash, sealing the row, the suppression
lookup, COPY/INSERT of contacts, consent events and tags; the rest is reading the CSV,
profiles, commits), with parse / encrypt / hash also timed alone on a sample of rows.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import phonenumbers
from flask_migrate import upgrade

from shopify_app import create_app
from shopify_app.extensions import db
from shopify_app.services.contacts import contact_transfers, csv_import, pii, transfers
from shopify_app.services.contacts.phones import normalise_phone
from tests.conftest import install_shop, scratch_database

SAMPLE = 20_000
SEALED = ("phone", "email", "first_name", "last_name")  # the bench's rows have no birthday


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _valid(number: str) -> bool:
    return phonenumbers.is_valid_number(phonenumbers.parse(number))


# Area codes whose 555 numbers are valid: 10,000 numbers each, 100 of them for a million rows
# (the first ten, 201-210, are the ones the 100k figures always used).
AREAS = [area for area in range(201, 1000) if _valid(f"+1{area}5550000") and _valid(f"+1{area}5559999")]


def phone_of(n: int) -> str:
    return f"+1{AREAS[(n // 10_000) % len(AREAS)]}555{n % 10_000:04d}"


def csv_lines(rows: int) -> Iterator[str]:
    yield "phone,first_name,last_name,email,tags,consent\n"
    for n in range(rows):
        yield f'{phone_of(n)},First{n},Last{n},user{n}@example.com,"vip,t{n % 7}",yes\n'


def make_csv(rows: int) -> bytes:
    """The file in memory (bench/admin.py's contacts)."""
    return "".join(csv_lines(rows)).encode()


def write_csv(path: Path, rows: int) -> int:
    with path.open("w") as out:
        out.writelines(csv_lines(rows))
    return path.stat().st_size


def timed(spent: dict[str, float], name: str, owner: Any, attribute: str) -> None:
    """Wrap `owner.attribute` so the time spent inside it adds up in `spent[name]`."""
    function = getattr(owner, attribute)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[name] += time.perf_counter() - started

    setattr(owner, attribute, wrapper)


def stage_timers() -> dict[str, float]:
    spent: dict[str, float] = defaultdict(float)
    timed(spent, "parse + phone hash", csv_import, "_parse_batch")
    timed(spent, "suppression lookup", csv_import, "_hashes_in")
    timed(spent, "COPY/INSERT", csv_import, "_insert_contacts")
    if hasattr(transfers, "NewContactRows"):
        timed(spent, "seal row (encrypt + email hash)", transfers.NewContactRows, "row")
    else:  # the code before issue 28 built each row through a Contact
        timed(spent, "seal row (encrypt + email hash)", csv_import, "new_contact_row")
    return spent


def per_row(function: Callable[[int], Any], count: int) -> float:
    started = time.perf_counter()
    for n in range(count):
        function(n)
    return (time.perf_counter() - started) / count * 1e6


def sample_costs(shop_id: int) -> dict[str, float]:
    """µs per row of parse, encrypt (four columns) and hash (phone and email) alone, single core."""
    if hasattr(transfers, "NewContactRows"):
        rows = transfers.NewContactRows(shop_id)
        seal = [rows._seal[name] for name in SEALED]
        phone_hash, email_hash = rows.phone_hash, rows._email_hash
    else:
        seal = [
            lambda value, name=name: pii.seal(value, table="contacts", column=name, shop_id=shop_id) for name in SEALED
        ]
        phone_hash = lambda value: pii.phone_hash(value, shop_id=shop_id)  # noqa: E731
        email_hash = lambda value: pii.email_hash(value, shop_id=shop_id)  # noqa: E731
    return {
        "parse": per_row(lambda n: normalise_phone(phone_of(n), default_region="US"), SAMPLE),
        "encrypt": per_row(lambda n: [each(f"user{n}@example.com") for each in seal], SAMPLE),
        "hash": per_row(lambda n: (phone_hash(phone_of(n)), email_hash(f"user{n}@example.com")), SAMPLE),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, scratch_database(Path(tmp), "smsb_bench_import") as url:
        size = write_csv(Path(tmp) / "contacts.csv", args.rows)
        app = create_app({"APP_ENV": "test", "DATABASE_URL": url, "LOG_LEVEL": "WARNING"})
        with app.app_context():
            upgrade()
            shop = install_shop("bench.myshopify.com")
            spent = stage_timers()
            rss_before = peak_rss_mb()
            started = time.perf_counter()
            with (Path(tmp) / "contacts.csv").open("rb") as stream:
                transfer = contact_transfers.start_import(shop=shop, stream=stream, filename="bench.csv")
            stored = time.perf_counter()
            done = contact_transfers.run_import(transfer_id=transfer.id)
            finished = time.perf_counter()
            assert done.created_count == args.rows, (done.created_count, done.error_count, done.errors[:3])
            rss_after = peak_rss_mb()
            alone = sample_costs(shop.id)
            db.engine.dispose()
    backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(f"{args.rows:,} rows, {size / 1e6:.1f} MB CSV, {backend}")
    print(f"  upload (seal + store chunks) {stored - started:7.2f} s  {args.rows / (stored - started):9,.0f} rows/s")
    print(f"  import (parse, seal, insert) {finished - stored:7.2f} s  {args.rows / (finished - stored):9,.0f} rows/s")
    print(
        f"  total                        {finished - started:7.2f} s  {args.rows / (finished - started):9,.0f} rows/s"
    )
    print(f"  peak RSS {rss_after:.0f} MB (before upload and import {rss_before:.0f} MB)")
    wall = (finished - stored) / args.rows * 1e6
    print(f"  import, µs per row (wall {wall:.1f}):")
    for name, seconds in spent.items():
        print(f"    {name:34s} {seconds / args.rows * 1e6:6.1f}")
    print(f"    {'rest (CSV, profiles, commits)':34s} {wall - sum(spent.values()) / args.rows * 1e6:6.1f}")
    print(f"  alone on {SAMPLE:,} rows, µs per row:", ", ".join(f"{k} {v:.1f}" for k, v in alone.items()))


if __name__ == "__main__":
    main()
