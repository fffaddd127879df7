"""row-level security on every shop-scoped table

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 11:40:00.000000

A row is visible (USING) and may be written (WITH CHECK) only when its shop_id equals the
transaction's `app.shop_id` setting; unset, the setting reads as NULL and nothing matches, never
an error. FORCE makes the policy bind the tables' owner too, so an app misconfigured to connect
as the owner is still walled; the admin role that runs migrations and cross-shop jobs must be a
superuser or have BYPASSRLS. `shops` itself has no shop_id and stays readable: authentication
looks shops up by domain before any scope exists. PostgreSQL only; SQLite has no RLS.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

POLICY = "shop_isolation"
CONDITION = "shop_id = NULLIF(current_setting('app.shop_id', true), '')::bigint"
# Every table with a shop_id column at this revision (tests/test_rls.py fails when a later
# table is missing from the catalog's list of RLS tables).
TABLES = (
    "app_subscriptions",
    "attributions",
    "audit_log",
    "automation_runs",
    "automations",
    "back_in_stock_requests",
    "campaigns",
    "checkouts",
    "clicks",
    "consent_events",
    "contact_tags",
    "contact_transfer_chunks",
    "contact_transfers",
    "contacts",
    "credit_ledger",
    "credit_purchases",
    "delivery_events",
    "discounts",
    "inbound_messages",
    "message_stats",
    "messages",
    "orders",
    "privacy_requests",
    "segments",
    "short_links",
    "stock_levels",
    "suppressions",
    "templates",
    "usage_charges",
    "webhook_events",
)


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY {POLICY} ON {table} USING ({CONDITION}) WITH CHECK ({CONDITION})")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
