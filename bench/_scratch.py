"""A scratch PostgreSQL database for a bench script, dropped afterwards (tests/conftest.py)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import scratch_database


@contextmanager
def postgres_scratch(prefix: str, script: str) -> Iterator[str]:
    """The URL of a new, empty database on DATABASE_URL's server; `script` names the caller in
    the error when DATABASE_URL is not PostgreSQL (SQLite would give a meaningless figure)."""
    with tempfile.TemporaryDirectory() as tmp, scratch_database(Path(tmp), prefix) as url:
        assert url.startswith("postgres"), f"{script} needs PostgreSQL (DATABASE_URL)"
        yield url
