"""The house's shape (tests/architecture.py counts it): no file over 400 lines, no function over
60, no import inside a function but the commented ones of the CLI and the app factory, no import
cycle. The layers themselves are import-linter's contracts (pyproject.toml, `make lint`).

Issue 27 moves the code into this shape area by area. A rule some area still breaks is marked
`xfail(strict=True)`: the suite stays green meanwhile, and the day the last area complies the
test passes, which fails the run until the marker is removed.
"""

from __future__ import annotations

import pytest

from . import architecture

PENDING = pytest.mark.xfail(strict=True, reason="issue 27: other areas pending")


@pytest.fixture(scope="module")
def late_imports() -> list[architecture.LateImport]:
    return architecture.late_imports()


@PENDING
def test_no_file_is_over_400_lines():
    assert architecture.long_files() == []


@PENDING
def test_no_function_is_over_60_lines():
    assert architecture.long_functions() == []


@PENDING
def test_no_import_inside_a_function_outside_the_cli_and_the_app_factory(late_imports):
    elsewhere = [late for late in late_imports if late.path not in architecture.LATE_IMPORTS_ALLOWED]
    assert [f"{late.path}:{late.line} {late.module}" for late in elsewhere] == []


def test_every_import_inside_a_function_of_the_cli_and_the_app_factory_says_why(late_imports):
    allowed = [late for late in late_imports if late.path in architecture.LATE_IMPORTS_ALLOWED]
    assert [f"{late.path}:{late.line} {late.module}" for late in allowed if not late.commented] == []


def test_the_app_factory_imports_only_the_factory_module_late(late_imports):
    """create_app stays a one-import shim; its table of contents (factory.py) imports at the top."""
    factory = [late.module for late in late_imports if late.path == "shopify_app/__init__.py"]
    assert factory == ["shopify_app.factory"]


@PENDING
def test_no_import_cycles():
    assert architecture.cycles() == []
