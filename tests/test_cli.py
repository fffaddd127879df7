from __future__ import annotations

import os

from sqlalchemy import select

from shopify_app.extensions import db
from shopify_app.models import Shop
from shopify_app.services.sending.senders import owned_numbers

from .conftest import migrated_sqlite_file
from .processes import free_port, start_embedded_server, wait_for_http


def test_seed_demo_creates_an_installed_demo_shop_idempotently(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    second = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0
    shops = list(db.session.scalars(select(Shop)))
    assert [(shop.domain, shop.is_installed) for shop in shops] == [("demo-shop.myshopify.com", True)]
    assert owned_numbers(shop_id=shops[0].id) == ["+12015550100"]  # so it may text US numbers


def test_scheduler_once_runs_a_single_tick(app):
    result = app.test_cli_runner().invoke(args=["scheduler", "--once"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("enqueued:")


def test_worker_refuses_to_start_without_redis(make_app):
    app = make_app(REDIS_URL=None, QUEUE_ASYNC=False)
    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code != 0
    assert "REDIS_URL is not set" in result.output


def test_embedded_serve_command_answers_health_on_a_fresh_database(make_app, tmp_path, project_root):
    """What `make run` does after installing: migrate a new SQLite file, then `flask serve`."""
    database_url = migrated_sqlite_file(make_app, tmp_path / "embedded.sqlite3")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL",)}
    env["DATABASE_URL"] = database_url
    proc = start_embedded_server(port=port, env=env, cwd=str(project_root), capture=True)
    try:
        body = wait_for_http(f"http://127.0.0.1:{port}/health/ready")
        assert body is not None, "the embedded server never answered"
        assert '"status":"ok"' in body
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=10)
    assert "scheduler_started" in output
