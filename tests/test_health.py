from __future__ import annotations

from flask_migrate import upgrade

from shopify_app.extensions import db


def test_health_is_ok_without_touching_dependencies(make_app):
    app = make_app(DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/none", REDIS_URL="redis://127.0.0.1:1/0")
    response = app.test_client().get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["X-Request-ID"]


def test_ready_checks_database_redis_and_migrations(client):
    response = client.get("/health/ready")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["checks"] == {"database": "ok", "migrations": "ok", "redis": "ok"}


def test_ready_is_503_naming_the_database_when_it_is_down(make_app):
    app = make_app(DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/none")
    response = app.test_client().get("/health/ready")
    assert response.status_code == 503
    error = response.get_json()["error"]
    assert error["code"] == "not_ready"
    assert error["details"]["checks"]["database"].startswith("unreachable")
    assert "database" in error["message"]


def test_ready_is_503_naming_redis_when_it_is_down(make_app):
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    response = app.test_client().get("/health/ready")
    assert response.status_code == 503
    checks = response.get_json()["error"]["details"]["checks"]
    assert checks["redis"].startswith("unreachable")
    assert checks["database"] == "ok"


def test_ready_is_503_before_migrations_are_applied(make_app, tmp_path):
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    response = app.test_client().get("/health/ready")
    assert response.status_code == 503
    assert response.get_json()["error"]["details"]["checks"]["migrations"].startswith("not at migrations head")
    with app.app_context():
        upgrade()
        db.engine.dispose()
    assert app.test_client().get("/health/ready").status_code == 200
