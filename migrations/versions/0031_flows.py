"""flows: multi-step automations, their versions, runs and the steps runs took

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07 17:45:00.000000

`flows` (a trigger and its settings, re-entry rules, exit on order, on/off), `flow_versions`
(the immutable step tree of each edit), `flow_runs` (unique per flow, contact and trigger key;
claimed from the database when due) and `flow_run_steps` (every step a run took, unique per run
and step). Row-level security like every shop table (migration 0010).

`automations`: the one-per-kind unique constraint becomes a partial unique index that leaves
out `flow_step` automations (a flow has one per send step), which name their flow and step in
`flow_id` / `flow_step`; `retired_at` marks an automation whose flow moved to the step engine.

Data: each shop's listed automation becomes a one-step flow (engine "automation", a wait step
when it had a delay, then a send step) that the automation itself keeps running, so nothing
changes until the merchant edits the flow into more steps.
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
CONDITION = "shop_id = NULLIF(current_setting('app.shop_id', true), '')::bigint"
TABLES = ("flows", "flow_versions", "flow_runs", "flow_run_steps")
SINGLE_KIND = "kind <> 'flow_step'"
# The automations a merchant sees, their flow names, and whether an order ends their runs.
LISTED = {
    "welcome": ("Welcome", False),
    "abandoned_checkout": ("Abandoned checkout", True),
    "order_confirmation": ("Order confirmation", False),
    "shipping_update": ("Shipping update", False),
    "birthday": ("Birthday", False),
    "back_in_stock": ("Back in stock", False),
    "win_back": ("Win-back", True),
}


def _fk(table, column, target, ondelete="CASCADE"):
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def _create_tables():
    op.create_table(
        "flows",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("shop_id", BIGINT, nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column("trigger_config", sa.JSON(), nullable=False),
        sa.Column("reentry", sa.JSON(), nullable=False),
        sa.Column("exit_on_order", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("engine", sa.String(length=16), nullable=False),
        sa.Column("automation_id", BIGINT, nullable=True),
        sa.Column("current_version_id", sa.BigInteger(), nullable=True),
        sa.Column("template", sa.String(length=48), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _fk("flows", "shop_id", "shops"),
        _fk("flows", "automation_id", "automations", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flows")),
        sa.UniqueConstraint("automation_id", name="uq_flows_automation_id"),
    )
    op.create_index("ix_flows_shop_id_trigger", "flows", ["shop_id", "trigger"])
    op.create_table(
        "flow_versions",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("shop_id", BIGINT, nullable=False),
        sa.Column("flow_id", BIGINT, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("flow_versions", "shop_id", "shops"),
        _fk("flow_versions", "flow_id", "flows"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_versions")),
        sa.UniqueConstraint("flow_id", "number", name="uq_flow_versions_flow_id_number"),
    )
    op.create_table(
        "flow_runs",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("shop_id", BIGINT, nullable=False),
        sa.Column("flow_id", BIGINT, nullable=False),
        sa.Column("version_id", BIGINT, nullable=False),
        sa.Column("contact_id", BIGINT, nullable=False),
        sa.Column("trigger_key", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("step_id", sa.String(length=32), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("exit_reason", sa.String(length=32), nullable=True),
        sa.Column("context_ciphertext", sa.Text(), nullable=True),
        _fk("flow_runs", "shop_id", "shops"),
        _fk("flow_runs", "flow_id", "flows"),
        _fk("flow_runs", "version_id", "flow_versions"),
        _fk("flow_runs", "contact_id", "contacts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_runs")),
        sa.UniqueConstraint("flow_id", "contact_id", "trigger_key", name="uq_flow_runs_flow_id_contact_id_trigger_key"),
    )
    op.create_index("ix_flow_runs_state_due_at", "flow_runs", ["state", "due_at"])
    op.create_index("ix_flow_runs_flow_id_id", "flow_runs", ["flow_id", "id"])
    op.create_index("ix_flow_runs_contact_id", "flow_runs", ["contact_id"])
    op.create_table(
        "flow_run_steps",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("shop_id", BIGINT, nullable=False),
        sa.Column("run_id", BIGINT, nullable=False),
        sa.Column("step_id", sa.String(length=32), nullable=False),
        sa.Column("step_type", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("automation_run_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("flow_run_steps", "shop_id", "shops"),
        _fk("flow_run_steps", "run_id", "flow_runs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_run_steps")),
        sa.UniqueConstraint("run_id", "step_id", name="uq_flow_run_steps_run_id_step_id"),
    )
    op.create_index("ix_flow_run_steps_shop_id_id", "flow_run_steps", ["shop_id", "id"])


def _steps(body, delay_minutes):
    send = {"id": "send", "type": "send", "body": body}
    return ([{"id": "wait", "type": "wait", "minutes": delay_minutes}] if delay_minutes else []) + [send]


def _migrate_automations():
    """Each listed automation -> a one-step flow (version 1) that the automation keeps running."""
    bind = op.get_bind()
    automations = sa.table(
        "automations",
        sa.column("id"),
        sa.column("shop_id"),
        sa.column("kind"),
        sa.column("enabled"),
        sa.column("body"),
        sa.column("delay_minutes"),
    )
    flows = sa.table(
        "flows",
        *(sa.column(name) for name in ("id", "shop_id", "name", "trigger")),
        sa.column("trigger_config", sa.JSON),
        sa.column("reentry", sa.JSON),
        *(sa.column(name) for name in ("exit_on_order", "enabled", "engine", "automation_id")),
        sa.column("current_version_id"),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    versions = sa.table(
        "flow_versions",
        *(sa.column(name) for name in ("id", "shop_id", "flow_id", "number")),
        sa.column("steps", sa.JSON),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    now = datetime.now(UTC)
    rows = bind.execute(sa.select(automations).where(automations.c.kind.in_(list(LISTED))).order_by(automations.c.id))
    for row in rows.mappings().all():
        name, exit_on_order = LISTED[row["kind"]]
        flow_id = bind.execute(
            sa.insert(flows)
            .values(
                shop_id=row["shop_id"],
                name=name,
                trigger=row["kind"],
                trigger_config={},
                reentry={"mode": "per_trigger"},
                exit_on_order=exit_on_order,
                enabled=row["enabled"],
                engine="automation",
                automation_id=row["id"],
                created_at=now,
                updated_at=now,
            )
            .returning(flows.c.id)
        ).scalar_one()
        version_id = bind.execute(
            sa.insert(versions)
            .values(
                shop_id=row["shop_id"],
                flow_id=flow_id,
                number=1,
                steps=_steps(row["body"], row["delay_minutes"]),
                created_at=now,
            )
            .returning(versions.c.id)
        ).scalar_one()
        bind.execute(sa.update(flows).where(flows.c.id == flow_id).values(current_version_id=version_id))


def upgrade():
    with op.batch_alter_table("automations") as batch_op:
        batch_op.drop_constraint("uq_automations_shop_id_kind", type_="unique")
        batch_op.add_column(sa.Column("flow_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("flow_step", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "uq_automations_shop_id_kind",
        "automations",
        ["shop_id", "kind"],
        unique=True,
        postgresql_where=sa.text(SINGLE_KIND),
        sqlite_where=sa.text(SINGLE_KIND),
    )
    op.create_index("ix_automations_flow_id", "automations", ["flow_id"])
    _create_tables()
    _migrate_automations()
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY shop_isolation ON {table} USING ({CONDITION}) WITH CHECK ({CONDITION})")


def downgrade():
    op.drop_index("ix_flow_run_steps_shop_id_id", table_name="flow_run_steps")
    op.drop_table("flow_run_steps")
    for index in ("ix_flow_runs_contact_id", "ix_flow_runs_flow_id_id", "ix_flow_runs_state_due_at"):
        op.drop_index(index, table_name="flow_runs")
    op.drop_table("flow_runs")
    op.drop_table("flow_versions")
    op.drop_index("ix_flows_shop_id_trigger", table_name="flows")
    op.drop_table("flows")
    op.execute("DELETE FROM automations WHERE kind = 'flow_step'")
    op.drop_index("ix_automations_flow_id", table_name="automations")
    op.drop_index("uq_automations_shop_id_kind", table_name="automations")
    with op.batch_alter_table("automations") as batch_op:
        batch_op.drop_column("retired_at")
        batch_op.drop_column("flow_step")
        batch_op.drop_column("flow_id")
        batch_op.create_unique_constraint("uq_automations_shop_id_kind", ["shop_id", "kind"])
