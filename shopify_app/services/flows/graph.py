"""Where a run goes next: a version's step tree flattened to step id -> (step, what follows).

A list runs top to bottom; the step after the last of a list is the end of that branch (the
run completes); a condition goes to the first step of its `yes` or `no` list (an empty branch
ends at once). The tree has no loops (definition.py refuses duplicate ids), so a run visits
each step at most once and `len(positions)` bounds the steps one advance can take.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Position:
    step: Mapping[str, Any]
    following: str | None  # the next step of the same list; None: the branch ends here
    yes: str | None = None  # a condition's first step on each side
    no: str | None = None


def positions(steps: Sequence[Mapping[str, Any]]) -> dict[str, Position]:
    """Every step of the tree by id, with where the run goes after it."""
    found: dict[str, Position] = {}
    _index(steps, found)
    return found


def _first(steps: Sequence[Mapping[str, Any]] | None) -> str | None:
    return str(steps[0]["id"]) if steps else None


def _index(steps: Sequence[Mapping[str, Any]], found: dict[str, Position]) -> None:
    for index, step in enumerate(steps):
        following = str(steps[index + 1]["id"]) if index + 1 < len(steps) else None
        if step.get("type") == "condition":
            yes, no = step.get("yes") or [], step.get("no") or []
            found[str(step["id"])] = Position(step, None, _first(yes), _first(no))
            _index(yes, found)
            _index(no, found)
        else:
            found[str(step["id"])] = Position(step, following)
