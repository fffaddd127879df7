"""Periodic jobs, declared as data. The scheduler (jobs/scheduler.py) enqueues them.

Every periodic job is idempotent, so a double tick (a scheduler failover) is harmless. Entries
name their job through shopify_app/job_names.py, like every enqueuer outside jobs/: the
scheduler runs without importing a job module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from shopify_app import job_names as jobs
from shopify_app.queueing import JobRef


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

    @classmethod
    def of(
        cls,
        job: JobRef,
        name: str,
        *,
        every: timedelta | None = None,
        cron: str | None = None,
        queue: str | None = None,
    ) -> PeriodicJob:
        """`job` on its own queue, unless `queue` says otherwise."""
        return cls(name=name, func=job.name, queue=queue or job.queue, every=every, cron=cron)


PERIODIC_JOBS: tuple[PeriodicJob, ...] = (
    PeriodicJob.of(jobs.CLEANUP_WEBHOOK_EVENTS, "cleanup-webhook-events", cron="17 3 * * *"),
    PeriodicJob.of(jobs.CAMPAIGN_SWEEP, "campaign-sweeper", every=timedelta(minutes=1)),
    # A/B tests whose wait has ended: the winner goes to the rest (decided once; a rerun finds it done).
    PeriodicJob.of(jobs.AB_TESTS_DECIDE, "decide-ab-tests", every=timedelta(minutes=1)),
    PeriodicJob.of(jobs.AUTOMATIONS_DISPATCH, "automation-dispatch", every=timedelta(minutes=1)),
    # Flow runs whose wait ended (and any an after-commit advance missed: a Redis flush).
    PeriodicJob.of(jobs.FLOWS_ADVANCE, "flows-advance", every=timedelta(minutes=1)),
    # Every 15 minutes: each shop's daily automations run at their shop-local hour, once a day.
    PeriodicJob.of(jobs.AUTOMATIONS_DAILY, "automation-daily", every=timedelta(minutes=15)),
    # On the housekeeping queue when periodic; the on-demand apply (a report came in) uses default.
    PeriodicJob.of(jobs.APPLY_REPORTS, "apply-delivery-reports", every=timedelta(minutes=1), queue="housekeeping"),
    PeriodicJob.of(jobs.POLL_STALE_MESSAGES, "poll-stale-deliveries", every=timedelta(minutes=15)),
    PeriodicJob.of(jobs.REFRESH_EXPIRING_TOKENS, "refresh-shop-tokens", every=timedelta(minutes=10)),
    PeriodicJob.of(jobs.GRANT_PLAN_CREDITS, "grant-plan-credits", every=timedelta(hours=1)),
    PeriodicJob.of(jobs.COMPACT_MESSAGE_STATS, "compact-message-stats", every=timedelta(minutes=5)),
    PeriodicJob.of(jobs.CHECK_FAILED_JOBS, "check-failed-jobs", every=timedelta(minutes=5)),
    PeriodicJob.of(jobs.APPLY_RETENTION, "apply-retention", cron="53 3 * * *"),
    PeriodicJob.of(jobs.FAIL_STALLED_TRANSFERS, "fail-stalled-transfers", every=timedelta(minutes=15)),
    PeriodicJob.of(jobs.DELETE_EXPIRED_FILES, "delete-expired-files", cron="41 3 * * *"),
    PeriodicJob.of(jobs.CONSENT_SWEEP, "sweep-shopify-consent", every=timedelta(minutes=5)),
    PeriodicJob.of(jobs.REQUEUE_WEBHOOK_EVENTS, "requeue-webhook-events", every=timedelta(minutes=5)),
    PeriodicJob.of(jobs.ROLL_UP_LAST_MESSAGED, "roll-up-last-messaged", every=timedelta(minutes=5)),
    PeriodicJob.of(jobs.CHECK_SPEND_CONTROLS, "check-spend-controls", every=timedelta(minutes=1)),
    PeriodicJob.of(jobs.BROWSE_ABANDONMENT_SWEEP, "browse-abandonment", every=timedelta(minutes=5)),
)
