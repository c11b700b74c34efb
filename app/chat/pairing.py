"""Which endpoint and sampling settings answer in each slot of a turn."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SlotPlan:
    """What one slot will be generated with."""

    endpoint: dict[str, Any]
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def endpoint_name(self) -> str:
        """The configured endpoint's name."""
        return self.endpoint["name"]


def _variants(endpoint: dict, alternate: dict) -> tuple[dict, dict]:
    """Two different sampling settings of one endpoint: its own and the alternate."""
    base = dict(endpoint.get("params") or {})
    other = {**base, **alternate}
    if other == base:  # the alternate changes nothing: nudge the temperature instead
        other["temperature"] = round(float(base.get("temperature", 0.7)) + 0.5, 2)
    return base, other


def plan_single(endpoints: list[dict]) -> SlotPlan:
    """A single turn is answered by the first configured endpoint, with its own settings."""
    first = endpoints[0]
    return SlotPlan(first, dict(first.get("params") or {}))


def plan_pair(endpoints: list[dict], alternate: dict, rng: random.Random) -> list[SlotPlan]:
    """Two endpoints when there are two or more, else two settings of one; in random order."""
    if len(endpoints) >= 2:
        first, second = rng.sample(endpoints, 2)
        plans = [
            SlotPlan(first, dict(first.get("params") or {})),
            SlotPlan(second, dict(second.get("params") or {})),
        ]
    else:
        base, other = _variants(endpoints[0], alternate)
        plans = [SlotPlan(endpoints[0], base), SlotPlan(endpoints[0], other)]
    rng.shuffle(plans)
    return plans


def plan_challenger(
    endpoints: list[dict],
    original_name: str,
    original_params: dict,
    alternate: dict,
    rng: random.Random,
) -> SlotPlan:
    """Slot b of a re-roll: another endpoint, or the same one with other sampling settings."""
    others = [e for e in endpoints if e["name"] != original_name]
    if others:
        chosen = rng.choice(others)
        return SlotPlan(chosen, dict(chosen.get("params") or {}))
    endpoint = next((e for e in endpoints if e["name"] == original_name), endpoints[0])
    base, other = _variants(endpoint, alternate)
    return SlotPlan(endpoint, other if original_params == base else base)
