"""services/contacts/pipeline.py: the next batch is prepared in a thread while this one is
stored; order, errors and the preparing thread's isolation."""

from __future__ import annotations

import threading

import pytest

from shopify_app.services.contacts.pipeline import pipelined


def test_batches_are_stored_in_order_each_after_its_preparation():
    stored: list[int] = []
    pipelined(range(7), lambda n: n * 10, stored.append)
    assert stored == [0, 10, 20, 30, 40, 50, 60]


def test_no_batches_store_nothing():
    stored: list[int] = []
    pipelined([], lambda n: n, stored.append)
    assert stored == []


def test_the_next_batch_is_prepared_in_another_thread_while_this_one_is_stored():
    caller = threading.get_ident()
    prepared_in: set[int] = set()
    second_started = threading.Event()

    def prepare(n: int) -> int:
        prepared_in.add(threading.get_ident())
        if n == 1:
            second_started.set()
        return n

    def store(n: int) -> None:
        if n == 0:  # batch 1 is prepared while batch 0 is still being stored
            assert second_started.wait(timeout=5)

    pipelined(range(3), prepare, store)
    assert caller not in prepared_in
    assert len(prepared_in) == 1  # one thread, so batches are prepared one at a time, in order


def test_a_failed_preparation_stops_before_its_batch_is_stored():
    stored: list[int] = []

    def prepare(n: int) -> int:
        if n == 2:
            raise ValueError("bad batch")
        return n

    with pytest.raises(ValueError, match="bad batch"):
        pipelined(range(5), prepare, stored.append)
    assert stored == [0, 1]


def test_a_failed_store_stops_the_run_and_nothing_later_is_stored():
    stored: list[int] = []
    prepared: list[int] = []

    def prepare(n: int) -> int:
        prepared.append(n)
        return n

    def store(n: int) -> None:
        if n == 1:
            raise RuntimeError("database gone")
        stored.append(n)

    with pytest.raises(RuntimeError, match="database gone"):
        pipelined(range(10), prepare, store)
    assert stored == [0]
    assert prepared == [0, 1, 2]  # at most one batch prepared ahead of the one that failed
