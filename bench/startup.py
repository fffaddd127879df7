"""Start-up time: create_app() in-process, and `flask serve` until /health answers.

    .venv/bin/python bench/startup.py [--runs 5]

Prints min/median/max in milliseconds. Run by hand; never part of CI.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.processes import free_port, start_embedded_server, wait_for_http  # noqa: E402


def time_create_app() -> float:
    code = (
        "import time; t = time.perf_counter(); from shopify_app import create_app; create_app(); "
        "print(time.perf_counter() - t)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1]) * 1000


def time_serve_until_healthy() -> float:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    started = time.perf_counter()
    proc = start_embedded_server(port=port, env=env, cwd=str(ROOT))
    try:
        if wait_for_http(f"http://127.0.0.1:{port}/health") is None:
            raise RuntimeError("server did not become healthy within 30 s")
        return (time.perf_counter() - started) * 1000
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def summary(name: str, values: list[float]) -> str:
    return (
        f"{name:<32} min {min(values):7.1f} ms  median {statistics.median(values):7.1f} ms  max {max(values):7.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(summary("create_app() (import + build)", [time_create_app() for _ in range(args.runs)]))
    print(summary("flask serve -> /health 200", [time_serve_until_healthy() for _ in range(args.runs)]))


if __name__ == "__main__":
    main()
