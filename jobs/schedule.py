"""Periodic jobs, declared as data. The scheduler (jobs/scheduler.py) enqueues them.

Every periodic job is idempotent, so a double tick (a scheduler failover) is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    func: str  # dotted path, enqueued by name
    queue: str = "housekeeping"
    every: timedelta | None = None
    cron: str | None = None  # standard five-field cron, evaluated in UTC

    def __post_init__(self) -> None:
        if (self.every is None) == (self.cron is None):
            raise ValueError(f"periodic job {self.name!r} needs exactly one of every= or cron=")


PERIODIC_JOBS: tuple[PeriodicJob, ...] = (
    PeriodicJob(name="cleanup-webhook-events", func="jobs.housekeeping.cleanup_webhook_events", cron="17 3 * * *"),
    PeriodicJob(name="campaign-sweeper", func="jobs.campaigns.sweep", queue="campaigns", every=timedelta(minutes=1)),
    PeriodicJob(
        name="automation-dispatch", func="jobs.automations.dispatch", queue="automations", every=timedelta(minutes=1)
    ),
    # Every 15 minutes: each shop's daily automations run at their shop-local hour, once a day.
    PeriodicJob(
        name="automation-daily", func="jobs.automations.daily", queue="automations", every=timedelta(minutes=15)
    ),
    PeriodicJob(name="apply-delivery-reports", func="jobs.delivery.apply_reports", every=timedelta(minutes=1)),
    PeriodicJob(name="poll-stale-deliveries", func="jobs.delivery.poll_stale_messages", every=timedelta(minutes=15)),
    PeriodicJob(
        name="refresh-shop-tokens", func="jobs.housekeeping.refresh_expiring_tokens", every=timedelta(minutes=10)
    ),
    PeriodicJob(name="grant-plan-credits", func="jobs.housekeeping.grant_plan_credits", every=timedelta(hours=1)),
    PeriodicJob(
        name="compact-message-stats", func="jobs.housekeeping.compact_message_stats", every=timedelta(minutes=5)
    ),
    PeriodicJob(name="check-failed-jobs", func="jobs.housekeeping.check_failed_jobs", every=timedelta(minutes=5)),
    PeriodicJob(name="apply-retention", func="jobs.housekeeping.apply_retention", cron="53 3 * * *"),
    PeriodicJob(
        name="fail-stalled-transfers", func="jobs.housekeeping.fail_stalled_transfers", every=timedelta(minutes=15)
    ),
    PeriodicJob(name="delete-expired-files", func="jobs.housekeeping.delete_expired_files", cron="41 3 * * *"),
    PeriodicJob(name="sweep-shopify-consent", func="jobs.shopify_consent.sweep", every=timedelta(minutes=5)),
    PeriodicJob(
        name="requeue-webhook-events",
        func="jobs.housekeeping.requeue_unprocessed_webhook_events",
        queue="webhooks",
        every=timedelta(minutes=5),
    ),
)
