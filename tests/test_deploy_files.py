"""The README's process table, the Dockerfile's targets and docker-compose.yml tell one story.

Operators deploy what the image and the compose file run, not what the README recommends, so
each process row must be a compose service and an image target running that exact command
(no Docker engine here: the files are parsed). The commands are parsed by the real `flask
worker` options, so a queue or worker class the CLI does not know fails here too.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from sqlalchemy.engine import make_url

from shopify_app.cli import worker as worker_command
from shopify_app.config import QUEUE_NAMES, load_config

from .test_packaging import dockerfile_stages

FLASK_APP = ["flask", "--app", "shopify_app"]
INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?::(?P<kind>[?-])(?P<rest>[^}]*))?\}")
KEY = base64.b64encode(bytes(range(32))).decode()
# What an operator fills `.env` with: values production accepts (tests only, never deployed).
FILLED_ENV = {
    "POSTGRES_PASSWORD": "0f" * 16,
    "SMSB_OWNER_PASSWORD": "1e" * 16,
    "SMSB_APP_PASSWORD": "2d" * 16,
    "SHOPIFY_API_KEY": "partner-api-key",
    "SHOPIFY_API_SECRET": "3c" * 20,
    "SHOPIFY_APP_URL": "https://sms.example.com",
    "SECRET_KEY": "4b" * 20,
    "ENCRYPTION_KEYS": f"k1:{KEY}",
    "BLIND_INDEX_KEY": KEY,
    "MITTO_WEBHOOK_SECRET": "5a" * 20,
    "OPERATOR_TOKEN": "69" * 20,
    "METRICS_TOKEN": "78" * 20,
}


def readme_processes(root: Path) -> dict[str, list[str]]:
    """{process: argv} from the table under "## Running the real processes"."""
    text = (root / "README.md").read_text()
    section = text.split("## Running the real processes", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")][2:]  # past header, rule
    processes = {}
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        command = re.match(r"`([^`]+)`", cells[1])
        assert command, row
        processes[cells[0].strip("`")] = shlex.split(command.group(1))
    return processes


def normalised(argv: list[str]) -> list[str]:
    """The venv's flask from a checkout (`.venv/bin/flask`) is the image's `flask` (on PATH)."""
    return [os.path.basename(argv[0]) if argv[0].startswith(".venv/bin/") else argv[0], *argv[1:]]


def target_cmd(stages: dict[str, list[str]], target: str) -> list[str]:
    """The CMD a target runs: its own, or the one it inherits from the stage it builds on."""
    instructions = stages[target]
    cmds = [line for line in instructions if line.startswith("CMD ")]
    if cmds:
        return json.loads(cmds[-1].removeprefix("CMD "))
    parent = instructions[0].split()[1]
    assert parent in stages, f"{target} runs the base image's CMD"
    return target_cmd(stages, parent)


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's `${NAME:?message}` (required) and `${NAME:-default}` with `env` as `.env`."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        given = env.get(match["name"], "")
        if match["kind"] == "?" and not given:
            raise LookupError(f"{match['name']}: {match['rest']}")
        return given or (match["rest"] if match["kind"] == "-" else "")

    return INTERPOLATION.sub(replace, value)


@pytest.fixture
def compose(project_root) -> dict[str, Any]:
    return yaml.safe_load((project_root / "docker-compose.yml").read_text())


@pytest.fixture
def services(compose) -> dict[str, Any]:
    return compose["services"]


@pytest.fixture
def stages(project_root) -> dict[str, list[str]]:
    return dockerfile_stages((project_root / "Dockerfile").read_text())


@pytest.fixture
def processes(project_root) -> dict[str, list[str]]:
    return readme_processes(project_root)


def service_argv(service: dict[str, Any], stages: dict[str, list[str]]) -> list[str]:
    command = service.get("command")
    if command is None:
        return target_cmd(stages, service["build"]["target"])
    return shlex.split(command) if isinstance(command, str) else command


def worker_params(argv: list[str]) -> dict[str, Any]:
    """The options `flask worker` would run with (parsed by the command itself, not run)."""
    assert argv[: len(FLASK_APP) + 1] == [*FLASK_APP, "worker"], argv
    return worker_command.make_context("worker", argv[len(FLASK_APP) + 1 :]).params


def workers(processes: dict[str, list[str]]) -> dict[str, dict[str, Any]]:
    return {
        name: worker_params(normalised(argv)) for name, argv in processes.items() if argv[len(FLASK_APP)] == "worker"
    }


def test_the_table_names_web_two_workers_the_scheduler_and_migrations(processes):
    assert list(processes) == ["web", "campaigns-worker", "default-worker", "scheduler", "migrate"]
    assert processes["web"] == ["gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"]
    assert normalised(processes["scheduler"]) == [*FLASK_APP, "scheduler"]
    assert normalised(processes["migrate"]) == [*FLASK_APP, "db", "upgrade"]


def test_every_process_is_a_compose_service_running_its_command(processes, services, stages):
    for name, argv in processes.items():
        assert name in services, name
        assert normalised(service_argv(services[name], stages)) == normalised(argv), name


def test_compose_builds_no_process_the_table_does_not_name(processes, services):
    assert {name for name, service in services.items() if "build" in service} == set(processes)


def test_every_process_has_an_image_target_with_its_command(processes, stages):
    assert set(stages) - {"builder", "runtime"} == set(processes)
    for name, argv in processes.items():
        assert target_cmd(stages, name) == normalised(argv), name


def test_the_campaigns_worker_runs_the_threaded_class_on_the_campaigns_queue(processes):
    campaigns = workers(processes)["campaigns-worker"]
    assert campaigns["queues"] == ("campaigns",)
    assert campaigns["worker_class"] == "threaded"
    assert campaigns["threads"] == 3


def test_no_shipped_worker_forks_a_child_per_job(processes):
    """The command's default class, `fork`, sent a 10k campaign at a quarter of threaded's rate."""
    assert {name: params["worker_class"] for name, params in workers(processes).items()} == {
        "campaigns-worker": "threaded",
        "default-worker": "threaded",
    }


def test_the_workers_cover_every_queue_of_the_app_exactly_once(processes):
    covered = [queue for params in workers(processes).values() for queue in params["queues"] or QUEUE_NAMES]
    assert sorted(covered) == sorted(QUEUE_NAMES)
    assert all(params["with_scheduler"] for params in workers(processes).values())  # delayed jobs fire


def app_environment(services: dict[str, Any], name: str, env: dict[str, str] = FILLED_ENV) -> dict[str, str]:
    return {key: str(value) for key, value in interpolate(services[name]["environment"], env).items()}


def test_every_app_service_gets_one_production_environment(processes, services):
    environments = [services[name]["environment"] for name in processes]
    assert all(environment == environments[0] for environment in environments)
    assert app_environment(services, "web")["APP_ENV"] == "production"


def test_the_filled_example_starts_in_production_and_an_empty_one_does_not(services):
    """Every variable production requires is passed on; compose refuses an unfilled `.env`."""
    config = load_config(environ=app_environment(services, "web"))  # raises ConfigError otherwise
    assert config["APP_ENV"] == "production"
    assert config["SMS_BACKEND"] == "console"  # empty optional values fall back to the defaults
    with pytest.raises(LookupError, match="SECRET_KEY"):
        app_environment(services, "web", {**FILLED_ENV, "SECRET_KEY": ""})


def test_the_example_env_file_documents_exactly_what_compose_reads(project_root):
    example = (project_root / "deploy" / "compose.env.example").read_text()
    assigned = dict(line.split("=", 1) for line in example.splitlines() if line and not line.startswith("#"))
    used = set(INTERPOLATION.findall((project_root / "docker-compose.yml").read_text()))
    assert set(assigned) == {name for name, _kind, _rest in used}
    assert set(assigned.values()) == {""}  # no secret, not even a sample one, is committed
    assert set(FILLED_ENV) == {name for name, kind, _rest in used if kind == "?"}
    ignored = (project_root / ".gitignore").read_text().splitlines()
    assert ".env" in ignored
    assert ".env" in (project_root / ".dockerignore").read_text().splitlines()


def test_the_app_connects_as_smsb_app_and_migrates_as_smsb_owner(services):
    env = app_environment(services, "migrate")
    app, admin = make_url(env["DATABASE_URL"]), make_url(env["DATABASE_ADMIN_URL"])
    assert (app.username, app.password) == ("smsb_app", FILLED_ENV["SMSB_APP_PASSWORD"])
    assert (admin.username, admin.password) == ("smsb_owner", FILLED_ENV["SMSB_OWNER_PASSWORD"])
    assert (app.host, app.database) == (admin.host, admin.database) == ("postgres", "sms")
    assert app.drivername == "postgresql+psycopg"
    assert urlsplit(env["REDIS_URL"]).hostname == "redis"


def test_postgres_creates_the_two_roles_on_first_start(project_root, services):
    mounts = [volume.split(":") for volume in services["postgres"]["volumes"]]
    scripts = [source for source, target, *_ in mounts if target.startswith("/docker-entrypoint-initdb.d/")]
    assert scripts == ["./deploy/postgres/10-roles.sh"]
    script = project_root / scripts[0]
    assert os.access(script, os.X_OK)
    roles = dict(re.findall(r"CREATE ROLE (\w+) ([^;]+);", script.read_text()))
    assert set(roles) == {"smsb_owner", "smsb_app"}
    assert "BYPASSRLS" in roles["smsb_owner"].split()
    assert {"NOSUPERUSER", "NOBYPASSRLS"} <= set(roles["smsb_app"].split())
    assert "CREATE DATABASE sms OWNER smsb_owner;" in script.read_text()  # so smsb_app owns nothing
    environment = services["postgres"]["environment"]
    assert {"SMSB_OWNER_PASSWORD", "SMSB_APP_PASSWORD"} <= set(environment)


def test_migrations_run_once_before_any_app_process_starts(processes, services):
    assert services["migrate"].get("restart") == "no"
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in set(processes) - {"migrate"}:
        assert services[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"},
            "redis": {"condition": "service_healthy"},
        }, name


def test_postgres_and_redis_have_healthchecks(services):
    # Over TCP: while the image initialises, its temporary server listens on the socket only.
    postgres = services["postgres"]["healthcheck"]["test"]
    assert postgres[:2] == ["CMD", "pg_isready"]
    assert "127.0.0.1" in postgres
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]


def test_the_readme_says_how_to_start_the_stack(project_root):
    text = (project_root / "README.md").read_text()
    assert "cp deploy/compose.env.example .env" in text
    assert "docker compose up" in text
