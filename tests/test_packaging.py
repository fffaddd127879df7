"""The files a deployment relies on: Dockerfile (no engine here, so parsed), app toml, pins."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import tomllib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from .processes import gunicorn_config

REQUIRED_TOPICS = {
    "app/uninstalled",
    "app/scopes_update",
    "shop/update",
    "customers/create",
    "customers/update",
    "orders/create",
    "checkouts/update",
    "app_subscriptions/update",
}
COMPLIANCE_TOPICS = {"customers/data_request", "customers/redact", "shop/redact"}


def dockerfile_stages(text: str) -> dict[str, list[str]]:
    """Split a Dockerfile into {stage name: [instructions]} with continuation lines joined."""
    logical = re.sub(r"\\\n\s*", " ", text)
    stages: dict[str, list[str]] = {}
    current = None
    for raw_line in logical.splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"FROM\s+(\S+)(?:\s+AS\s+(\S+))?", line, re.IGNORECASE)
        if match:
            current = match.group(2) or match.group(1)
            stages[current] = [line]
        elif current is not None:
            stages[current].append(line)
    return stages


@pytest.fixture
def dockerfile(project_root) -> dict[str, list[str]]:
    return dockerfile_stages((project_root / "Dockerfile").read_text())


def test_dockerfile_is_multi_stage_on_slim_python_3_11_or_newer(dockerfile):
    # One target per process (tests/test_deploy_files.py checks their commands); web stays last,
    # the default target of a plain `docker build`.
    processes = ["migrate", "scheduler", "default-worker", "campaigns-worker"]
    assert list(dockerfile) == ["builder", "runtime", *processes, "web"]
    base = dockerfile["builder"][0]
    assert re.search(r"python:3\.(1[1-9])-slim", base)
    assert any("pip install -r /tmp/requirements.txt" in line for line in dockerfile["builder"])
    assert any(line.startswith("COPY --from=builder") for line in dockerfile["runtime"])


def test_dockerfile_runs_as_a_non_root_user(dockerfile):
    users = [line.split()[1] for line in dockerfile["runtime"] if line.startswith("USER")]
    assert users == ["app"]
    assert any("useradd" in line for line in dockerfile["runtime"])


def test_default_target_serves_gunicorn_with_a_healthcheck(dockerfile):
    web = dockerfile["web"]
    assert web[0].endswith("AS web")
    assert any(line.startswith("HEALTHCHECK") and "/health" in line for line in web)
    assert web[-1] == 'CMD ["gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"]'


def gunicorn_bind(project_root, monkeypatch, port: str | None) -> list[str]:
    """`bind` as gunicorn reads it from gunicorn.conf.py, with PORT set to `port` (or unset)."""
    if port is None:
        monkeypatch.delenv("PORT", raising=False)
    else:
        monkeypatch.setenv("PORT", port)
    return gunicorn_config(project_root).bind


def healthcheck_argv(dockerfile) -> list[str]:
    [line] = [line for line in dockerfile["web"] if line.startswith("HEALTHCHECK")]
    command = line.split(" CMD ", 1)[1].strip()
    argv = json.loads(command) if command.startswith("[") else ["/bin/sh", "-c", command]
    return [sys.executable if part == "python" else part for part in argv]


class _Health(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/health" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        return None


def run_healthcheck(argv: list[str], port: int) -> int:
    env = {"PATH": "/usr/bin:/bin", "PORT": str(port)}
    return subprocess.run(argv, env=env, capture_output=True, timeout=60, check=False).returncode


def test_the_healthcheck_asks_the_port_gunicorn_binds(dockerfile, project_root, monkeypatch):
    """gunicorn binds $PORT (default 8000): the HEALTHCHECK must ask that port, not a fixed one."""
    runtime_env = next(line for line in dockerfile["runtime"] if line.startswith("ENV") and "PORT=" in line)
    image_port = re.search(r"\bPORT=(\d+)", runtime_env).group(1)
    assert gunicorn_bind(project_root, monkeypatch, None) == [f"0.0.0.0:{image_port}"]
    assert f"EXPOSE {image_port}" in dockerfile["web"]
    argv = healthcheck_argv(dockerfile)

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        assert gunicorn_bind(project_root, monkeypatch, str(port)) == [f"0.0.0.0:{port}"]
        assert run_healthcheck(argv, port) == 0
    finally:
        server.shutdown()
        server.server_close()
    with socket.socket() as probe:  # a port nothing listens on: the check must fail there
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    assert run_healthcheck(argv, closed) != 0


def test_only_the_web_target_has_the_http_healthcheck(dockerfile):
    """Targets derive from `runtime`, not from `web`: a worker has no HTTP port to be asked."""
    for name, instructions in dockerfile.items():
        assert any(line.startswith("HEALTHCHECK") for line in instructions) == (name == "web"), name
        if name not in ("builder", "runtime"):
            assert instructions[0] == f"FROM runtime AS {name}", name


def test_requirements_are_pinned_exactly(project_root):
    for name in ("requirements.txt", "requirements-dev.txt"):
        for raw_line in (project_root / name).read_text().splitlines():
            line = raw_line.split("#", 1)[0].strip()
            if not line or line.startswith("-r "):
                continue
            assert re.fullmatch(r"[A-Za-z0-9_.\-]+(\[[a-z,]+\])?==[0-9][A-Za-z0-9.]*", line), line


def test_fakeredis_with_lua_is_a_runtime_dependency(project_root):
    assert "fakeredis[lua]==" in (project_root / "requirements.txt").read_text()


@pytest.fixture
def app_toml(project_root) -> dict:
    return tomllib.loads((project_root / "shopify.app.toml").read_text())


def route_exists(app, path: str, method: str = "POST") -> bool:
    adapter = app.url_map.bind("app.example.test")
    try:
        adapter.match(path, method=method)
    except (NotFound, MethodNotAllowed):
        return False
    except RequestRedirect:
        return True
    return True


def test_app_toml_declares_embedded_app_scopes_and_redirects(app_toml):
    assert app_toml["embedded"] is True
    assert app_toml["client_id"]
    assert app_toml["access_scopes"]["scopes"]
    assert all(url.endswith("/auth/callback") for url in app_toml["auth"]["redirect_urls"])


def test_app_toml_subscribes_every_required_topic_and_the_compliance_topics(app_toml):
    subscriptions = app_toml["webhooks"]["subscriptions"]
    topics = {topic for sub in subscriptions for topic in sub.get("topics", [])}
    compliance = {topic for sub in subscriptions for topic in sub.get("compliance_topics", [])}
    assert topics >= REQUIRED_TOPICS
    assert compliance == COMPLIANCE_TOPICS
    assert app_toml["webhooks"]["api_version"]


def test_every_webhook_uri_is_a_route_we_serve(app, app_toml):
    uris = {sub["uri"] for sub in app_toml["webhooks"]["subscriptions"]}
    assert uris
    for uri in uris:
        path = re.sub(r"^https://[^/]+", "", uri)
        assert route_exists(app, path, "POST"), uri


def test_the_app_proxy_url_is_a_route_we_serve(app, app_toml):
    proxy = app_toml["app_proxy"]
    assert proxy["prefix"] in {"apps", "a", "community", "tools"}
    assert proxy["subpath"]
    path = re.sub(r"^https://[^/]+", "", proxy["url"])
    assert route_exists(app, path, "GET") or route_exists(app, path + "/", "GET")


SCOPE = re.compile(r"\b(?:read|write|unauthenticated_read|unauthenticated_write)_[a-z_]+\b")


def test_readme_config_default_and_toml_name_the_same_scopes(project_root, app_toml):
    """What the toml requests is what Shopify grants at install; the config default (what OAuth
    asks for) and the README must not promise fewer or other scopes."""
    from shopify_app.config import load_config

    toml_scopes = app_toml["access_scopes"]["scopes"].split(",")
    config_scopes = load_config(environ={})["SHOPIFY_SCOPES"].split(",")
    [row] = [
        line for line in (project_root / "README.md").read_text().splitlines() if line.startswith("| `SHOPIFY_SCOPES`")
    ]
    readme_scopes = SCOPE.findall(row.split("|")[2])
    assert len(set(toml_scopes)) == len(toml_scopes)
    assert sorted(config_scopes) == sorted(toml_scopes)
    assert sorted(readme_scopes) == sorted(toml_scopes)
