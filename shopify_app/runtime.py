"""Process-wide tuning, applied once a process has imported everything and built its app: the
RQ worker (jobs/worker.py) before it takes jobs, each gunicorn worker (gunicorn.conf.py) before
it serves requests."""

from __future__ import annotations

import gc

# A send batch allocates tens of thousands of short-lived containers (rows, payload dicts,
# answers), a request hundreds: with the default threshold of 700 that is a collection every few
# hundred messages, and each older-generation pass walked the ~150k objects of the imports and
# the app as well. Measured (bench/send.py, 100k, batch 2000, threaded worker): 1.48 s of 4.8 s
# of worker CPU was collection; 0.16 s after tune_gc().
GC_THRESHOLDS = (10_000, 10, 10)


def tune_gc() -> None:
    """Freeze what start-up allocated (never garbage, now never scanned; a forked child shares
    those pages instead of copying them as a collection touches them), and collect the young
    generation every 10,000 allocations instead of 700: the garbage a batch or a request makes
    is freed by reference counting long before, so fewer passes scan the same survivors."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
