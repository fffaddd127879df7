"""The floor of bench/webhooks.py: a bare Flask app doing only what a correct webhook intake
must do before its 200, and nothing of ours. Served by gunicorn with the same settings:

    FLOOR_DSN=... FLOOR_REDIS_URL=... FLOOR_SECRET=... gunicorn --config gunicorn.conf.py bench._webhook_floor:app

Verify the HMAC of the body; one `INSERT ... ON CONFLICT (webhook_id) DO NOTHING RETURNING id`
and its COMMIT on this thread's own psycopg connection; one Redis LPUSH of the new id."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import threading

import psycopg
import redis
from flask import Flask, request

TABLE_DDL = """CREATE TABLE IF NOT EXISTS floor_webhooks (
    id bigserial PRIMARY KEY, webhook_id text NOT NULL UNIQUE, shop_domain text NOT NULL,
    topic text NOT NULL, body bytea NOT NULL, received_at timestamptz NOT NULL DEFAULT now())"""
INSERT = """INSERT INTO floor_webhooks (webhook_id, shop_domain, topic, body) VALUES (%s, %s, %s, %s)
    ON CONFLICT (webhook_id) DO NOTHING RETURNING id"""
QUEUE_KEY = "floor:webhooks"

app = Flask(__name__)
_local = threading.local()


def _connection() -> psycopg.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = psycopg.connect(os.environ["FLOOR_DSN"])
    return conn


_redis = redis.Redis.from_url(os.environ.get("FLOOR_REDIS_URL", "redis://127.0.0.1:6379/14"))
_secret = os.environ.get("FLOOR_SECRET", "").encode()


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/webhooks/shopify")
def receive() -> tuple[dict[str, str], int]:
    body = request.get_data()
    digest = base64.b64encode(hmac.new(_secret, body, hashlib.sha256).digest())
    if not hmac.compare_digest(digest, request.headers.get("X-Shopify-Hmac-Sha256", "").encode()):
        return {"error": "unauthorized"}, 401
    headers = request.headers
    conn = _connection()
    row = conn.execute(
        INSERT, (headers["X-Shopify-Webhook-Id"], headers["X-Shopify-Shop-Domain"], headers["X-Shopify-Topic"], body)
    ).fetchone()
    conn.commit()
    if row is not None:
        _redis.lpush(QUEUE_KEY, row[0])
    return {"status": "accepted" if row is not None else "duplicate"}, 200
