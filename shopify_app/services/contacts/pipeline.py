"""Two stages of a batch job overlapped: one thread prepares batch N+1 while the caller stores
batch N.

An import's batch is CPU work in Python (phone parsing, sealing, hashing: ~40 µs a row) and
then database work (COPY and INSERT … SELECT: ~80 µs a row, most of it the server's, during
which the caller's thread waits on a socket and holds no GIL). Run one after the other, the
two add up; here the preparing thread uses the wait. Batches are prepared one at a time, in
order, by a single thread, so any state a preparation keeps across batches sees them in file
order; at most one batch is being prepared while one is being stored, so memory stays bounded.

`prepare` must not touch the database, the session or the app context: it runs in another
thread. The batches are read, and everything is stored and committed, in the caller's thread.
An error in either stage propagates to the caller after the other stage's current batch ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

B = TypeVar("B")
P = TypeVar("P")


def pipelined(batches: Iterable[B], prepare: Callable[[B], P], store: Callable[[P], object]) -> None:
    """`store(prepare(batch))` for each batch in order, the next batch's `prepare` running in a
    worker thread during the current batch's `store`."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="prepare") as worker:
        pending: Future[P] | None = None
        try:
            for batch in batches:
                submitted = worker.submit(prepare, batch)
                if pending is not None:
                    store(pending.result())
                pending = submitted
            if pending is not None:
                store(pending.result())
                pending = None
        finally:
            if pending is not None:
                pending.cancel()  # stopped on an error: a batch not started is not prepared
