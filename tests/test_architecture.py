"""The house's shape (tests/architecture.py counts it): no file over 400 lines, no function over
60, no import inside a function but the commented ones of the CLI and the app factory, no import
cycle. The layers themselves are import-linter's contracts (pyproject.toml, `make lint`).

The contracts run here too (test_the_import_linter_contracts_hold), so CI holds the layers
whether or not `make lint` ran.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from . import architecture


@pytest.fixture(scope="module")
def late_imports() -> list[architecture.LateImport]:
    return architecture.late_imports()


def test_no_file_is_over_400_lines():
    assert architecture.long_files() == []


def test_no_function_is_over_60_lines():
    assert architecture.long_functions() == []


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


def test_no_import_cycles():
    assert architecture.cycles() == []


def test_the_import_linter_contracts_hold():
    """pyproject.toml's [tool.importlinter] contracts: the layers point down, views and jobs do
    not import each other, no cycles between sibling packages."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=architecture.ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
