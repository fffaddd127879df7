"""`flask` commands for operators and developers."""

from __future__ import annotations

import signal
import threading
import uuid
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from werkzeug.serving import run_simple

from .config import QUEUE_NAMES
from .devtools.commands import dev_group
from .errors import AppError
from .extensions import db
from .models import Shop
from .services.billing import credits
from .services.ops import failed_jobs
from .services.ops.demo import DemoRefused, seed
from .services.ops.doctor import FAIL, render, run_checks
from .services.ops.failed_jobs import list_failed
from .services.privacy.key_rotation import rotate_all
from .services.sending import senders
from .services.sending.resolution import resolve_unknown_messages
from .tenancy import set_process_default


@click.command("seed-demo")
@click.option("--domain", default="demo-shop.myshopify.com", show_default=True)
@with_appcontext
def seed_demo(domain: str) -> None:
    """Create what is missing of a demo shop for local development (services/demo.py): an
    offline token, contacts, a finished campaign with its report, an automation, an inbox
    conversation. Safe to run again; refused with APP_ENV=production."""
    try:
        summary = seed(domain=domain)
    except DemoRefused as exc:
        raise click.ClickException(str(exc)) from None
    for line in summary.lines():
        click.echo(line)


@click.command("worker")
@click.option("-q", "--queue", "queues", multiple=True, type=click.Choice(QUEUE_NAMES), help="Default: all.")
@click.option("--worker-class", type=click.Choice(["fork", "simple", "threaded"]), default="fork", show_default=True)
@click.option("--threads", type=click.IntRange(1, 16), default=3, show_default=True, help="Jobs at once (threaded).")
@click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
@click.option("--with-scheduler/--without-scheduler", default=True, show_default=True)
@with_appcontext
def worker(queues: tuple[str, ...], worker_class: str, threads: int, burst: bool, with_scheduler: bool) -> None:
    """Run an RQ worker on the given queues (needs REDIS_URL)."""
    # Here, not at the top: the RQ worker's machinery loads only in the process that runs it,
    # never in every web process that builds the app (and with it this module).
    from jobs.worker import run_worker

    app: Any = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        run_worker(
            app,
            queue_names=queues or QUEUE_NAMES,
            worker_class=worker_class,
            burst=burst,
            with_scheduler=with_scheduler,
            threads=threads,
        )
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None


@click.command("scheduler")
@click.option("--once", is_flag=True, help="Run a single tick and exit.")
@with_appcontext
def scheduler(once: bool) -> None:
    """Run the periodic scheduler (one leader per Redis, any number of standbys)."""
    from jobs.scheduler import Scheduler  # loaded by the command that runs it, as jobs.worker above

    sched = Scheduler()
    if once:
        click.echo(f"enqueued: {', '.join(sched.tick()) or 'nothing'}")
        return
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    sched.run(interval=current_app.config["SCHEDULER_INTERVAL_SECONDS"], stop=stop)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@with_appcontext
def serve(host: str, port: int) -> None:
    """Development server plus the periodic scheduler in one process (the embedded default).

    Without Redis the queues live in this process's memory, so the scheduler that promotes
    delayed jobs has to run here too; with Redis, run `flask scheduler` and workers instead.
    """
    from jobs.scheduler import Scheduler  # loaded by the command that runs it, as jobs.worker above

    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    stop = threading.Event()

    def run_scheduler() -> None:
        with app.app_context():
            Scheduler().run(interval=app.config["SCHEDULER_INTERVAL_SECONDS"], stop=stop)

    thread = threading.Thread(target=run_scheduler, name="scheduler", daemon=True)
    thread.start()
    set_process_default(None)  # outside a request the web side sees no shop's rows (tenancy.py)
    try:
        # Flask refuses app.run() inside its own CLI; this is the same development server.
        run_simple(host, port, app, use_reloader=False, threaded=True)
    finally:
        stop.set()
        thread.join(timeout=5)


@click.command("doctor")
@with_appcontext
def doctor() -> None:
    """Production-readiness checks after a deploy: settings, database and migrations, Redis,
    queues, worker and scheduler heartbeats, Mitto credentials, the Shopify API version.
    Prints a table; exits 1 when any check fails."""
    checks = run_checks()
    click.echo(render(checks))
    if any(check.status == FAIL for check in checks):
        raise SystemExit(1)


@click.command("rotate-keys")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 10000))
@with_appcontext
def rotate_keys(batch_size: int) -> None:
    """Re-encrypt every sealed column with the first key of ENCRYPTION_KEYS (resumable)."""
    for column, count in rotate_all(batch_size=batch_size).items():
        click.echo(f"{column}: {count} re-encrypted")


credits_group = click.Group("credits", help="Prepaid SMS credits.")


@credits_group.command("grant")
@click.argument("shop_domain")
@click.argument("amount", type=click.IntRange(1, 10_000_000))
@click.option("--note", default="Operator grant", show_default=True)
@with_appcontext
def credits_grant(shop_domain: str, amount: int, note: str) -> None:
    """Grant AMOUNT credits to SHOP_DOMAIN (an append-only ledger entry)."""
    shop = db.session.scalar(db.select(Shop).where(Shop.domain == shop_domain.strip().lower()))
    if shop is None:
        raise click.ClickException(f"no shop {shop_domain!r}")
    credits.grant(shop_id=shop.id, amount=amount, key=f"grant:operator:{uuid.uuid4().hex}", note=note)
    db.session.commit()
    click.echo(f"granted {amount}; balance {credits.balance(shop_id=shop.id)}")


messages_group = click.Group("messages", help="Individual messages.")


@messages_group.command("resolve")
@click.argument("message_ids", nargs=-1, type=int, required=True)
@click.option(
    "--as",
    "outcome",
    type=click.Choice(["sent", "failed"]),
    required=True,
    help="What the provider's records (e.g. its status API or dashboard) show happened.",
)
@with_appcontext
def messages_resolve(message_ids: tuple[int, ...], outcome: str) -> None:
    """Settle messages whose outcome is unknown (never resent automatically)."""
    for message_id, result in resolve_unknown_messages(message_ids=list(message_ids), accepted=outcome == "sent"):
        click.echo(f"message {message_id}: {result}")


senders_group = click.Group("senders", help="Numeric senders: which shop each number provisioned at Mitto belongs to.")


@senders_group.command("assign")
@click.argument("number")
@click.argument("shop_domain")
@click.option("--note", default=None, help="e.g. the Mitto order or 10DLC campaign id.")
@with_appcontext
def senders_assign(number: str, shop_domain: str, note: str | None) -> None:
    """Give NUMBER (E.164) to SHOP_DOMAIN; refused while another shop holds it."""
    _print_number(_operator_call(lambda: senders.assign(number=number, shop_domain=shop_domain, note=note)))


@senders_group.command("release")
@click.argument("number")
@with_appcontext
def senders_release(number: str) -> None:
    """NUMBER belongs to no shop from now on (a STOP to it still reaches every past holder)."""
    _print_number(_operator_call(lambda: senders.release(number=number)))


@senders_group.command("list")
@with_appcontext
def senders_list() -> None:
    """Every known number, its shop (or `-` when released), since when, and the note."""
    numbers = senders.list_numbers()
    for view in numbers:
        _print_number(view)
    click.echo(f"{len(numbers)} number(s)")


def _operator_call(call: Any) -> Any:
    try:
        return call()
    except AppError as exc:
        fields = exc.details.get("fields") if isinstance(exc.details, dict) else None
        raise click.ClickException(f"{exc.message} {fields or ''}".strip()) from None


def _print_number(view: Any) -> None:
    since = view.assigned_at if view.shop_domain else view.released_at
    click.echo(f"{view.number}  {view.shop_domain or '-'}  {since.isoformat() if since else '-'}  {view.note or ''}")


jobs_group = click.Group("jobs", help="Background jobs that failed and were parked.")


@jobs_group.command("failed")
@click.option("-q", "--queue", type=click.Choice(QUEUE_NAMES), help="Default: every queue.")
@with_appcontext
def jobs_failed(queue: str | None) -> None:
    """List parked failures: id, queue, job, attempts, when, and the error's last line."""
    jobs = list_failed(queue)
    for job in jobs:
        click.echo(f"{job.id}  {job.queue}  {job.func}  attempts={job.attempts}  {job.failed_at}  {job.error}")
    click.echo(f"{len(jobs)} failed job(s)")


@jobs_group.command("retry")
@click.argument("job_ids", nargs=-1)
@click.option("--all", "every", is_flag=True, help="Every failed job (of --queue).")
@click.option("-q", "--queue", type=click.Choice(QUEUE_NAMES))
@with_appcontext
def jobs_retry(job_ids: tuple[str, ...], every: bool, queue: str | None) -> None:
    """Put failed jobs back on their queue (they get a fresh set of attempts)."""
    for job_id in _chosen(job_ids, every, queue):
        click.echo(f"{job_id}: requeued on {failed_jobs.retry(job_id)}")


@jobs_group.command("discard")
@click.argument("job_ids", nargs=-1)
@click.option("--all", "every", is_flag=True, help="Every failed job (of --queue).")
@click.option("-q", "--queue", type=click.Choice(QUEUE_NAMES))
@with_appcontext
def jobs_discard(job_ids: tuple[str, ...], every: bool, queue: str | None) -> None:
    """Delete failed jobs for good (after the cause is understood)."""
    for job_id in _chosen(job_ids, every, queue):
        click.echo(f"{job_id}: discarded from {failed_jobs.discard(job_id)}")


def _chosen(job_ids: tuple[str, ...], every: bool, queue: str | None) -> list[str]:
    if every == bool(job_ids):
        raise click.UsageError("Give job ids or --all (not both).")
    return [job.id for job in list_failed(queue)] if every else list(job_ids)


def init_cli(app: Flask) -> None:
    for command in (
        seed_demo,
        worker,
        scheduler,
        serve,
        doctor,
        rotate_keys,
        credits_group,
        messages_group,
        senders_group,
        jobs_group,
        dev_group,
    ):
        app.cli.add_command(command)
