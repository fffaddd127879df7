"""Flows: multi-step automations built on automation runs and the send path.

- definition.py: what a flow is made of (triggers, step types, conditions) and the check a
  version passes before it is saved
- versions.py: creating a flow, saving an edit as a new version (send steps get their
  automation), turning a flow on and off
- legacy.py: the pre-flow automations as one-step flows (engine "automation") and their move
  to the step engine when the merchant adds steps
- runs.py: starting runs of a trigger's flows (once per trigger key, re-entry rules)
- engine.py: advancing due runs (claimed from the database) through their version's steps;
  graph.py (where a run goes next), steps.py (what each step does), conditions.py (the branches)
- tagging.py, daily.py: the "tag added" trigger, and the daily birthday and win-back triggers

May import: automations (definitions, settings, triggers' helpers), campaigns (waiting), contacts,
sending (rendering), ops. automations/triggers.py imports runs.py, so runs.py imports nothing
of automations.
"""
