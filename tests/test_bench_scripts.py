"""The bench scripts are run by hand, never by CI, so nothing else notices when a refactor breaks
one: each must at least import its way to its `--help` (bench/send.py once stopped at an import of
a renamed helper for a whole session)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# _*.py are helper modules (a scratch database, the webhook floor gunicorn serves);
# mutation_score.py reads mutmut's results (installed by `make mutation` only).
SCRIPTS = sorted(
    path.name
    for path in (ROOT / "bench").glob("*.py")
    if not path.name.startswith("_") and path.name != "mutation_score.py"
)


@pytest.mark.parametrize("script", SCRIPTS)
def test_the_bench_script_imports_and_answers_help(script):
    result = subprocess.run(
        [sys.executable, f"bench/{script}", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "usage:" in result.stdout
