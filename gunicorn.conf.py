"""gunicorn settings. Overridable with GUNICORN_CMD_ARGS (e.g. "--workers 4")."""

import multiprocessing
import os

from gunicorn.glogging import Logger

bind = "0.0.0.0:" + os.environ.get("PORT", "8000")
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, multiprocessing.cpu_count())))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
timeout = 30
graceful_timeout = 25  # SIGTERM: finish in-flight requests before the orchestrator's kill
keepalive = 5
max_requests = 100_000  # recycle rarely: each restart rebuilds the app (~0.5 s) and drops connections
max_requests_jitter = 10_000
# Path only (%(U)s), never the query string: proxy and OAuth queries carry signatures and PII.
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms rid=%({x-request-id}o)s'


class RedactingLogger(Logger):
    """Every access-log atom that can hold the path (%(U)s, %(r)s, %({raw_uri}e)s...) without the
    Mitto callbacks' path secret, their only credential: /mitto/dlr/[redacted]."""

    def atoms(self, resp, req, environ, request_time):
        from shopify_app.logging import redact_path  # the worker has loaded the app: no import cost

        atoms = super().atoms(resp, req, environ, request_time)
        return {name: redact_path(value) if isinstance(value, str) else value for name, value in atoms.items()}


logger_class = RedactingLogger
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def child_exit(server, worker):
    """A worker's Prometheus samples stay in PROMETHEUS_MULTIPROC_DIR; its live gauges must not."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker):
    """The app is loaded: freeze it out of the garbage collector's reach (shopify_app/runtime.py)."""
    from shopify_app.runtime import tune_gc

    tune_gc()
