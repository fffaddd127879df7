"""The files a deployment relies on: Dockerfile (no engine here, so parsed), app toml, pins."""

from __future__ import annotations

import re
import tomllib

import pytest
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

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
    assert list(dockerfile) == ["builder", "runtime", "worker", "web"]
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


def test_worker_target_starts_the_rq_worker_with_a_different_cmd(dockerfile):
    cmd = [line for line in dockerfile["worker"] if line.startswith("CMD")]
    assert cmd == ['CMD ["flask", "--app", "shopify_app", "worker", "--with-scheduler"]']


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
