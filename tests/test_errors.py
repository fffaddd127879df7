from __future__ import annotations

import pytest
from flask import Blueprint, request

from shopify_app.errors import Conflict, NotFound, TooManyRequests


@pytest.fixture
def app_with_routes(make_app):
    bp = Blueprint("probe", __name__)

    @bp.get("/probe/missing")
    def missing():
        raise NotFound("No such campaign.", details={"campaign_id": 7})

    @bp.post("/probe/conflict")
    def conflict():
        raise Conflict("Campaign is already sending.", code="invalid_state")

    @bp.get("/probe/limited")
    def limited():
        raise TooManyRequests(retry_after=12)

    @bp.get("/probe/boom")
    def boom():
        raise RuntimeError("secret internals: password=hunter2")

    @bp.post("/probe/echo")
    def echo():
        return {"size": len(request.get_data())}

    @bp.post("/probe/upload")
    def upload():
        request.max_content_length = 4 * 1024 * 1024  # an upload route raises its own limit
        return {"size": len(request.get_data())}

    app = make_app()
    app.register_blueprint(bp)
    return app


def error_of(response):
    body = response.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]


def test_app_errors_use_the_json_shape(app_with_routes):
    client = app_with_routes.test_client()
    response = client.get("/probe/missing")
    assert response.status_code == 404
    assert error_of(response) == {"code": "not_found", "message": "No such campaign.", "details": {"campaign_id": 7}}
    response = client.post("/probe/conflict")
    assert response.status_code == 409
    assert error_of(response)["code"] == "invalid_state"


def test_rate_limited_errors_carry_retry_after(app_with_routes):
    response = app_with_routes.test_client().get("/probe/limited")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "12"
    assert error_of(response)["details"] == {"retry_after": 12}


def test_unknown_route_is_json_404_not_html(app_with_routes):
    response = app_with_routes.test_client().get("/nope")
    assert response.status_code == 404
    assert response.mimetype == "application/json"
    assert error_of(response)["code"] == "not_found"


def test_wrong_method_is_json_405_with_allow_header(app_with_routes):
    response = app_with_routes.test_client().delete("/probe/missing")
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


def test_unexpected_exception_is_500_hiding_internals(app_with_routes, capsys):
    app_with_routes.config["PROPAGATE_EXCEPTIONS"] = False
    response = app_with_routes.test_client().get("/probe/boom", headers={"X-Request-ID": "req-123"})
    assert response.status_code == 500
    error = error_of(response)
    assert error["code"] == "internal_error"
    assert error["details"] == {"request_id": "req-123"}
    assert "hunter2" not in response.get_data(as_text=True)
    assert "RuntimeError" in capsys.readouterr().err


def test_body_over_one_megabyte_is_413(app_with_routes):
    client = app_with_routes.test_client()
    assert client.post("/probe/echo", data=b"x" * 1000).status_code == 200
    response = client.post("/probe/echo", data=b"x" * (1024 * 1024 + 1))
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"


def test_upload_routes_set_their_own_size_limit(app_with_routes):
    response = app_with_routes.test_client().post("/probe/upload", data=b"x" * (2 * 1024 * 1024))
    assert response.status_code == 200
    assert response.get_json() == {"size": 2 * 1024 * 1024}


def test_schema_validation_errors_are_422_naming_the_fields(make_app):
    from marshmallow import Schema, fields

    class ProbeSchema(Schema):
        phone = fields.String(required=True)

    bp = Blueprint("schema_probe", __name__)

    @bp.post("/probe/schema")
    def validate():
        return ProbeSchema().load(request.get_json(force=True))

    app = make_app()
    app.register_blueprint(bp)
    response = app.test_client().post("/probe/schema", json={"name": "x"})
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation_failed"
    assert set(error["details"]["fields"]) == {"phone", "name"}


def test_a_value_the_database_refuses_is_400_and_a_real_fault_stays_500(make_app, capsys):
    """The last line behind inputs.py: a driver's DataError (a value no column holds) is the
    client's 400, logged as an error so the gap is seen; any other exception is still a 500."""
    from sqlalchemy.exc import DataError, StatementError

    bp = Blueprint("db_probe", __name__)

    @bp.get("/probe/data-error")
    def data_error():
        raise DataError("INSERT ...", {}, Exception("value too long"))

    @bp.get("/probe/overflow")
    def overflow():
        raise StatementError("int too large", "SELECT ...", {}, OverflowError("int too large"))

    @bp.get("/probe/bug")
    def bug():
        raise StatementError("bug", "SELECT ...", {}, KeyError("oops"))

    app = make_app()
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.register_blueprint(bp)
    client = app.test_client()
    for path in ("/probe/data-error", "/probe/overflow"):
        response = client.get(path)
        assert response.status_code == 400, path
        assert error_of(response)["code"] == "invalid_input"
    assert "database_refused_input" in capsys.readouterr().err
    response = client.get("/probe/bug")
    assert response.status_code == 500
    assert error_of(response)["code"] == "internal_error"
