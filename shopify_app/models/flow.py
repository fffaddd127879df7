"""Flows: multi-step automations (a trigger, then sends, waits, branches, tags, exits).

A flow's steps live in immutable versions (`flow_versions.steps`, the tree that
services/flows/definition.py validates); editing a flow writes a new version and runs finish on
the version they started. A run (`flow_runs`) is unique per (flow, contact, trigger key), sits
on one step at a time and is claimed from the database when due (`state` active, `due_at`
passed), so a worker crash or a Redis flush delays a run and never loses or repeats a step.
Every step a run takes is a `flow_run_steps` row (unique per run and step: the tree has no
loops), written in the same transaction that moves the run on.

A send step is backed by an automation of kind `flow_step` (`automations.flow_id`,
`automations.flow_step`) whose hidden carrier campaign gives the step its report; the step's
message goes through the automation runs and send path every automation uses.

Flows made from a shop's pre-flow automations (migration 0031) keep `engine` "automation":
the automation row (`automation_id`) still runs them, unchanged, until the merchant gives the
flow more than one step; it then moves to the "steps" engine and the automation is retired
(`automations.retired_at`: no new runs; the ones pending finish).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .sealed import Sealed
from .types import BigIntFK, BigIntPK, UTCDateTime, str_enum, utcnow


class FlowEngine(enum.StrEnum):
    AUTOMATION = "automation"  # a pre-flow automation, run as it always was (one send)
    STEPS = "steps"  # the flow engine (services/flows/engine.py)


class Flow(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "flows"
    __table_args__ = (
        Index("ix_flows_shop_id_trigger", "shop_id", "trigger"),
        UniqueConstraint("automation_id", name="uq_flows_automation_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    trigger: Mapped[str] = mapped_column(String(32))
    # Per trigger: {"tag": ...} for tag_added, {"window_minutes": ...} for browsed_product, ...
    trigger_config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # {"mode": "per_trigger" | "once" | "cooldown", "days": N (cooldown only)}
    reentry: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    exit_on_order: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    engine: Mapped[FlowEngine] = mapped_column(str_enum(FlowEngine, 16), default=FlowEngine.STEPS)
    automation_id: Mapped[int | None] = mapped_column(BigIntFK, ForeignKey("automations.id", ondelete="SET NULL"))
    current_version_id: Mapped[int | None] = mapped_column(BigInteger)
    template: Mapped[str | None] = mapped_column(String(48))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class FlowVersion(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "flow_versions"
    __table_args__ = (UniqueConstraint("flow_id", "number", name="uq_flow_versions_flow_id_number"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"))
    flow_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("flows.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    # The step tree (services/flows/definition.py); send steps carry their "automation_id".
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FlowRunState(enum.StrEnum):
    ACTIVE = "active"  # due at `due_at` on step `step_id`
    COMPLETED = "completed"  # reached the end of a branch
    EXITED = "exited"  # ended early: an exit step, an order, an opt-out, the flow turned off


class FlowRun(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "flow_runs"
    __table_args__ = (
        UniqueConstraint("flow_id", "contact_id", "trigger_key", name="uq_flow_runs_flow_id_contact_id_trigger_key"),
        Index("ix_flow_runs_state_due_at", "state", "due_at"),
        Index("ix_flow_runs_flow_id_id", "flow_id", "id"),
        Index("ix_flow_runs_contact_id", "contact_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"))
    flow_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("flows.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("flow_versions.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("contacts.id", ondelete="CASCADE"))
    trigger_key: Mapped[str] = mapped_column(String(128))
    state: Mapped[FlowRunState] = mapped_column(str_enum(FlowRunState, 16), default=FlowRunState.ACTIVE)
    step_id: Mapped[str | None] = mapped_column(String(32))  # the step it runs next; None once ended
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    exit_reason: Mapped[str | None] = mapped_column(String(32))
    # Template values from the trigger (checkout URL, product title): sealed JSON.
    context_ciphertext: Mapped[str | None] = mapped_column(Text)

    context = Sealed()


class FlowRunStep(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "flow_run_steps"
    __table_args__ = (
        UniqueConstraint("run_id", "step_id", name="uq_flow_run_steps_run_id_step_id"),
        Index("ix_flow_run_steps_shop_id_id", "shop_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"))
    run_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("flow_runs.id", ondelete="CASCADE"))
    step_id: Mapped[str] = mapped_column(String(32))
    step_type: Mapped[str] = mapped_column(String(16))
    # sent | skipped | waited | yes | no | tagged | untagged | exited
    outcome: Mapped[str] = mapped_column(String(16))
    # Why, in words the flow page shows (no PII): {"reason": "order_placed", "until": "..."}
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    automation_run_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
