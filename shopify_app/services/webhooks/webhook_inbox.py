"""The signal from webhook intake to its processing: a Redis list per partition of shops.

The intake's 200 waits for the event's row (durable) and for this signal, so the signal must
be cheap: one script call that pushes the event id onto its partition's inbox and raises the
partition's "draining" flag if it was down. Only the call that raises the flag enqueues a
drain job (one RQ job per burst, not per event); the job pops and processes ids until the
inbox is empty, then lowers the flag in the same atomic step as its last, empty pop, so an id
pushed at any moment either finds the flag up (the running drain will pop it) or raises it
(and starts a new drain). No id is ever waiting with the flag down.

Order: a shop always maps to the same partition and a partition has one drain at a time, so a
shop's events are processed one after another in arrival order (first in, first out); shops
in different partitions are processed in parallel, up to `PARTITIONS` drains at once.

What Redis loses (a flush, a failover, a drain killed between pop and process) the recorded
row still has: the housekeeping sweep re-enqueues events still `received` after ten minutes.
The flag expires (`FLAG_TTL`) so a drain that died does not hold its partition for long; a
drain that runs past `DRAIN_SECONDS` hands over to a fresh job, keeping each job short.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable

from ...extensions import redis_ext
from ...job_names import DRAIN_WEBHOOK_INBOX, PROCESS_WEBHOOK_EVENT

PARTITIONS = 8
FLAG_TTL = 300  # seconds: longer than a drain runs (DRAIN_SECONDS) plus a queue wait
DRAIN_SECONDS = 60.0
_PREFIX = "sms_blossom:webhooks"

# KEYS: inbox, flag; ARGV: event id, flag ttl. 1 when the caller must start a drain.
_PUSH = """
redis.call('LPUSH', KEYS[1], ARGV[1])
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[2]) then return 1 end
return 0
"""
# KEYS: inbox, flag; ARGV: flag ttl. The oldest id, or nil after lowering the flag.
_POP = """
local id = redis.call('RPOP', KEYS[1])
if id then redis.call('EXPIRE', KEYS[2], ARGV[1]) return id end
redis.call('DEL', KEYS[2])
return false
"""


def partition_of(shop_domain: str) -> int:
    return zlib.crc32(shop_domain.encode()) % PARTITIONS


def keys(partition: int) -> list[str]:
    return [f"{_PREFIX}:inbox:{partition}", f"{_PREFIX}:draining:{partition}"]


def signal(event_id: int, shop_domain: str) -> None:
    """Hand a recorded event to processing. Raises RedisError when Redis is unreachable (the
    caller answers 200 anyway: the sweep finds the row). Without a worker (the embedded
    default's synchronous queue) the event is processed here and now, as any job is."""
    if not redis_ext.queue(PROCESS_WEBHOOK_EVENT.queue).is_async:
        PROCESS_WEBHOOK_EVENT.delay(event_id)
        return
    partition = partition_of(shop_domain)
    client = redis_ext.client()
    if client.eval(_PUSH, 2, *keys(partition), event_id, FLAG_TTL):
        DRAIN_WEBHOOK_INBOX.delay(partition)


def drain(partition: int, process: Callable[[int], object], *, seconds: float = DRAIN_SECONDS) -> int:
    """Process the partition's events oldest first until its inbox is empty (the flag is then
    down) or `seconds` have passed (a fresh drain job takes over, the flag stays up). Returns
    how many events it processed."""
    client, names = redis_ext.client(), keys(partition)
    deadline, count = time.monotonic() + seconds, 0
    while (raw := client.eval(_POP, 2, *names, FLAG_TTL)) is not None:
        process(int(raw))
        count += 1
        if time.monotonic() >= deadline:
            DRAIN_WEBHOOK_INBOX.delay(partition)
            break
    return count


def pending(partition: int) -> int:
    """Ids waiting in the partition's inbox (operators, tests)."""
    return int(redis_ext.client().llen(keys(partition)[0]))
