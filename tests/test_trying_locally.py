"""The README's "Trying it locally" works as written: its commands run in order, as a developer
pastes them, against `flask serve` on the embedded default (a scratch SQLite file, in-process
queues, the console SMS backend, no Redis), and every `# =>` line is in what its block printed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from shopify_app.config import _SETTINGS
from shopify_app.extensions import db
from shopify_app.models import Attribution, Campaign, Message, Order, Shop
from shopify_app.services.contacts.contacts import find_by_phone

from .conftest import migrated_sqlite_file
from .processes import free_port, start_embedded_server, wait_for_http

SECTION = "## Trying it locally"
SHOPPER = "+12015550199"  # the walkthrough's shopper
SERVER_BLOCK = "mkdir -p instance && make run 2>&1 | tee instance/dev.log"
PROMISE = "# => "
END_OF_BLOCK = "@@ end of README block {} @@"
# What the walkthrough must go on promising, whatever else changes in it.
JOURNEYS = (
    '{"status":"pending"}',  # sign-up
    '{"status":"subscribed"}',  # confirmation through the texted link
    '"state":"completed"',  # campaign
    '200 {"status":"accepted"}',  # webhook
    '"state":"delivered"',  # delivery report
    '"consent_state":"unsubscribed"',  # STOP
)


def readme_blocks(readme: str) -> list[str]:
    """The ```sh blocks of the section, in order."""
    start = readme.index(f"\n{SECTION}\n")
    end = readme.find("\n## ", start + 1)
    section = readme[start : end if end != -1 else None]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)


def promises(block: str) -> list[str]:
    return [line.strip()[len(PROMISE) :] for line in block.splitlines() if line.strip().startswith(PROMISE)]


def walkthrough_env(*, project_root: Path, database_url: str, app_url: str) -> dict[str, str]:
    """The embedded default: none of the app's settings from this process's environment (the
    suite's PostgreSQL, Redis or test secrets), only where the database and the app are."""
    env = {name: value for name, value in os.environ.items() if name not in _SETTINGS and name != "PYTHONPATH"}
    env.update(
        APP_ENV="development",
        DATABASE_URL=database_url,
        SHOPIFY_APP_URL=app_url,
        PYTHONPATH=str(project_root),  # the commands run from `work`, whose .venv is this one
    )
    return env


def test_readme_walkthrough_runs_as_written(make_app, tmp_path, project_root):
    blocks = readme_blocks((project_root / "README.md").read_text())
    assert blocks, "the README lost its 'Trying it locally' commands"
    assert blocks[0].strip() == SERVER_BLOCK  # started below the same way, on a free port
    commands = blocks[1:]
    every_promise = [promise for block in commands for promise in promises(block)]
    assert all(journey in every_promise for journey in JOURNEYS), every_promise
    if not (Path(sys.prefix) / "bin" / "flask").exists():
        pytest.skip("the suite is not running from a virtualenv with flask installed")

    # A fresh clone after `make run`: .venv and instance/ beside the commands.
    work = tmp_path / "clone"
    (work / "instance").mkdir(parents=True)
    (work / ".venv").symlink_to(sys.prefix)
    database_url = migrated_sqlite_file(make_app, work / "instance" / "walkthrough.sqlite3")
    port = free_port()
    env = walkthrough_env(project_root=project_root, database_url=database_url, app_url=f"http://127.0.0.1:{port}")

    script = "set -eo pipefail\n" + "".join(
        f"{block}\necho '{END_OF_BLOCK.format(index)}'\n" for index, block in enumerate(commands)
    )
    with (work / "instance" / "dev.log").open("w") as console:
        server = start_embedded_server(port=port, env=env, cwd=str(work), output=console)
        try:
            assert wait_for_http(f"http://127.0.0.1:{port}/health", timeout=60) is not None, "the app never answered"
            run = subprocess.run(
                ["bash", "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=600, check=False
            )
        finally:
            server.terminate()
            server.wait(timeout=10)
    console_text = (work / "instance" / "dev.log").read_text()
    assert run.returncode == 0, f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}\nconsole:\n{console_text[-3000:]}"

    outputs = re.split(r"@@ end of README block \d+ @@\n", run.stdout)
    for block, output in zip(commands, outputs, strict=False):
        for promise in promises(block):
            assert promise in output, f"README promised {promise!r} from\n{block}\nbut it printed\n{output}"

    # The texts the shopper got, in full on the development console.
    assert "/apps/sms/confirm?t=" in console_text
    assert "/apps/sms/unsubscribe?t=" in console_text
    assert "You are unsubscribed" in console_text

    reading = make_app(DATABASE_URL=database_url)
    with reading.app_context():
        shop = db.session.scalars(select(Shop).where(Shop.domain == "demo-shop.myshopify.com")).one()
        contact = find_by_phone(shop=shop, e164=SHOPPER)
        assert contact is not None
        assert contact.consent_state.value == "unsubscribed"
        campaign = db.session.scalars(select(Campaign).where(Campaign.name == "Weekend sale")).one()
        assert campaign.state.value == "completed"
        states = db.session.scalars(select(Message.state).where(Message.campaign_id == campaign.id)).all()
        assert len(states) == 38
        assert {state.value for state in states} == {"delivered"}
        order = db.session.scalars(select(Order).where(Order.contact_id == contact.id)).one()
        attribution = db.session.scalars(select(Attribution).where(Attribution.order_id == order.id)).one()
        assert (attribution.campaign_id, attribution.kind.value) == (campaign.id, "click")
        db.engine.dispose()
