"""The states one execution of the synthesized state machine enters, for a given video.

Standard workflows bill every state entered (a state transition), inside Parallel branches and
polling loops included, so the cost of a video is this list's length. ``benchmarks/capacity.py``
prices it; ``deploy/tests/test_deploy_state_machine_runs.py`` checks it against the states moto's
interpreter entered for real videos (execution history), so the two cannot drift apart.

The walk follows the Amazon States Language of the template. Choices are decided from what the
video is (how many checks its embedding job needs, validated or not); a Choice on any other
field is refused, so a new branch in the workflow has to be taught here before it is priced.
Retries are not walked: a video that needs none is the average video.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: The check task of the embedding polling loop (its constant ``action`` parameter).
CHECK_ACTION = "check"


@dataclass(frozen=True)
class Video:
    """What decides the path: the embedding job's checks until done (0: done when started, as a
    blocking model), and whether validation passes (only validated videos are clustered)."""

    checks: int
    validated: bool = True


@dataclass
class _Facts:
    video: Video
    checks_made: int = 0

    def value(self, path: str) -> tuple[bool, Any]:
        """(present, value) of a Choice's variable for this video at this point of the run."""
        done = self.checks_made >= self.video.checks
        known: dict[str, tuple[bool, Any]] = {
            "$.status": (True, "validated" if self.video.validated else "rejected"),
            "$.result.done": (True, done),
            "$.polls": (True, self.checks_made),
        }
        if path not in known:
            raise ValueError(
                f"the transition count does not know the Choice variable {path}: teach "
                "deploy/milkmobs_infra/transitions.py what decides it"
            )
        return known[path]

    def holds(self, rule: Mapping[str, Any]) -> bool:
        if "And" in rule:
            return all(self.holds(r) for r in rule["And"])
        if "Or" in rule:
            return any(self.holds(r) for r in rule["Or"])
        if "Not" in rule:
            return not self.holds(rule["Not"])
        present, value = self.value(rule["Variable"])
        if "IsPresent" in rule:
            return present is bool(rule["IsPresent"])
        for operator, compare in _COMPARISONS.items():
            if operator in rule:
                return present and compare(value, rule[operator])
        raise ValueError(f"the transition count cannot evaluate the Choice rule {dict(rule)}")


_COMPARISONS: dict[str, Any] = {
    "StringEquals": lambda a, b: a == b,
    "BooleanEquals": lambda a, b: a is b,
    "NumericEquals": lambda a, b: a == b,
    "NumericGreaterThanEquals": lambda a, b: a >= b,
    "NumericGreaterThan": lambda a, b: a > b,
    "NumericLessThan": lambda a, b: a < b,
    "NumericLessThanEquals": lambda a, b: a <= b,
}


def entered_states(definition: Mapping[str, Any], video: Video) -> list[str]:
    """The names of the states ``video``'s execution enters, in order (branches in branch order)."""
    return _walk(definition, _Facts(video))


def _walk(machine: Mapping[str, Any], facts: _Facts) -> list[str]:
    entered: list[str] = []
    name: str | None = machine["StartAt"]
    while name is not None:
        state = machine["States"][name]
        entered.append(name)
        if state["Type"] == "Parallel":
            for branch in state["Branches"]:
                entered += _walk(branch, facts)
        if state["Type"] == "Task" and state.get("Parameters", {}).get("action") == CHECK_ACTION:
            facts.checks_made += 1
        if state["Type"] in ("Succeed", "Fail") or state.get("End"):
            break
        if state["Type"] == "Choice":
            name = next((rule["Next"] for rule in state["Choices"] if facts.holds(rule)), state.get("Default"))
        else:
            name = state["Next"]
    return entered


def lambda_invocations(definition: Mapping[str, Any], video: Video) -> list[str]:
    """The ``Resource`` of each Lambda task ``video``'s execution runs, in order."""
    states = all_states(definition)
    return [
        states[name]["Resource"]
        for name in entered_states(definition, video)
        if states[name]["Type"] == "Task" and ":lambda:" in states[name]["Resource"]
    ]


def all_states(machine: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Every state, top level and inside Parallel branches, by name."""
    found: dict[str, Mapping[str, Any]] = {}
    for name, state in machine["States"].items():
        found[name] = state
        for branch in state.get("Branches", []):
            found.update(all_states(branch))
    return found
