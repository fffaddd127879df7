"""Everything a Redis database holds, as bytes to search for PII in clear: every key, and every
value of every type (RQ's job hashes zlib-compress their pickled data, so compressed values are
opened too). DUMP is not used: its RDB encoding may LZF-compress a string and hide it."""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Iterable

import redis


def _values(client: redis.Redis, key: bytes) -> Iterable[bytes]:
    kind = client.type(key)
    kind = kind.decode() if isinstance(kind, bytes) else kind
    if kind == "string":
        yield client.get(key) or b""
    elif kind == "hash":
        for field, value in client.hgetall(key).items():
            yield from (field, value)
    elif kind == "list":
        yield from client.lrange(key, 0, -1)
    elif kind == "set":
        yield from client.smembers(key)
    elif kind == "zset":
        yield from client.zrange(key, 0, -1)
    elif kind == "stream":
        for _id, fields in client.xrange(key):
            for field, value in fields.items():
                yield from (field, value)
    else:
        raise AssertionError(f"unexpected Redis type {kind!r} at {key!r}")


def redis_contents(client: redis.Redis) -> bytes:
    found: list[bytes] = []
    for key in client.scan_iter(count=1000):
        found.append(key)
        for raw in _values(client, key):
            value = raw if isinstance(raw, bytes) else str(raw).encode()
            found.append(value)
            with contextlib.suppress(zlib.error):
                found.append(zlib.decompress(value))
    assert found, "the scan found nothing: is this the Redis the app used?"
    return b"\n".join(found)
