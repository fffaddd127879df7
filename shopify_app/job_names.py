"""Every job enqueued from outside jobs/, named once: its dotted path and its queue.

Services, blueprints and the periodic schedule (jobs/schedule.py) enqueue through these
references (`SEND_BATCH.delay(campaign_id, low, high)`), so none of them imports a job module:
services sit below jobs/, and the web side (the app factory's blueprints and CLI) would
otherwise close an import cycle with jobs/, which builds the app for a plain `rq worker`. Job
functions call each other's `.delay()` directly. tests/test_job_registry.py proves, in fresh
interpreters, that each name resolves to a `@job` declared on the same queue, and that no job
name is spelled anywhere else.
"""

from __future__ import annotations

from .queueing import JobRef

# jobs/ab_tests.py
AB_TESTS_DECIDE = JobRef("jobs.ab_tests.decide_due", queue="campaigns")

# jobs/automations.py
AUTOMATIONS_DISPATCH = JobRef("jobs.automations.dispatch", queue="automations")
AUTOMATIONS_DAILY = JobRef("jobs.automations.daily", queue="automations")

# jobs/campaigns.py
SEND_BATCH = JobRef("jobs.campaigns.send_batch", queue="campaigns")
CAMPAIGN_SWEEP = JobRef("jobs.campaigns.sweep", queue="campaigns")

# jobs/contacts.py
RUN_IMPORT = JobRef("jobs.contacts.run_import", queue="default")
RUN_EXPORT = JobRef("jobs.contacts.run_export", queue="default")

# jobs/delivery.py
APPLY_REPORTS = JobRef("jobs.delivery.apply_reports", queue="default")
POLL_STALE_MESSAGES = JobRef("jobs.delivery.poll_stale_messages", queue="housekeeping")
PROCESS_INBOUND = JobRef("jobs.delivery.process_inbound", queue="default")

# jobs/flows.py
FLOWS_ADVANCE = JobRef("jobs.flows.advance", queue="automations")

# jobs/housekeeping.py
CLEANUP_WEBHOOK_EVENTS = JobRef("jobs.housekeeping.cleanup_webhook_events", queue="housekeeping")
REQUEUE_WEBHOOK_EVENTS = JobRef("jobs.housekeeping.requeue_unprocessed_webhook_events", queue="webhooks")
DELETE_EXPIRED_FILES = JobRef("jobs.housekeeping.delete_expired_files", queue="housekeeping")
FAIL_STALLED_TRANSFERS = JobRef("jobs.housekeeping.fail_stalled_transfers", queue="housekeeping")
REFRESH_EXPIRING_TOKENS = JobRef("jobs.housekeeping.refresh_expiring_tokens", queue="housekeeping")
APPLY_RETENTION = JobRef("jobs.housekeeping.apply_retention", queue="housekeeping")
GRANT_PLAN_CREDITS = JobRef("jobs.housekeeping.grant_plan_credits", queue="housekeeping")
COMPACT_MESSAGE_STATS = JobRef("jobs.housekeeping.compact_message_stats", queue="housekeeping")
CHECK_FAILED_JOBS = JobRef("jobs.housekeeping.check_failed_jobs", queue="housekeeping")

# jobs/commerce_segments.py
ORDER_BACKFILL_RUN = JobRef("jobs.commerce_segments.run_backfill", queue="default")
ROLL_UP_LAST_MESSAGED = JobRef("jobs.commerce_segments.roll_up_last_messaged", queue="housekeeping")

# jobs/pixel.py
CONNECT_WEB_PIXEL = JobRef("jobs.pixel.connect_web_pixel", queue="default")
BROWSE_ABANDONMENT_SWEEP = JobRef("jobs.pixel.sweep_browse_abandonment", queue="automations")

# jobs/privacy.py
BUILD_MERCHANT_EXPORT = JobRef("jobs.privacy.build_merchant_export", queue="default")

# jobs/shopify_consent.py
PUSH_CONSENT = JobRef("jobs.shopify_consent.push", queue="default")
CONSENT_SWEEP = JobRef("jobs.shopify_consent.sweep", queue="housekeeping")

# jobs/shopify_flow.py
SHOPIFY_FLOW_TRIGGER = JobRef("jobs.shopify_flow.send_trigger", queue="default")
SHOPIFY_FLOW_ACTION = JobRef("jobs.shopify_flow.run_action", queue="default")

# jobs/shopify_import.py
SHOPIFY_IMPORT_BEGIN = JobRef("jobs.shopify_import.begin", queue="default")
SHOPIFY_IMPORT_POLL = JobRef("jobs.shopify_import.poll", queue="default")

# jobs/signup.py
SEND_DOUBLE_OPT_IN = JobRef("jobs.signup.send_double_opt_in", queue="default")

# jobs/spend.py
CHECK_SPEND_CONTROLS = JobRef("jobs.spend.check_spend_controls", queue="housekeeping")
CHECK_SHOP_SPEND = JobRef("jobs.spend.check_shop_spend", queue="housekeeping")
EMAIL_SPEND_ALERT = JobRef("jobs.spend.email_spend_alert", queue="default")

# jobs/storefront.py
SYNC_METAFIELDS = JobRef("jobs.storefront.sync_metafields", queue="default")

# jobs/webhooks.py
PROCESS_WEBHOOK_EVENT = JobRef("jobs.webhooks.process_webhook_event", queue="webhooks")
DRAIN_WEBHOOK_INBOX = JobRef("jobs.webhooks.drain_webhook_inbox", queue="webhooks")
