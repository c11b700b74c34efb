"""Which endpoint and sampling settings answer in each slot of a turn: the pairing policy.

Each endpoint of MODEL_ENDPOINTS may carry a `weight` (default 1) and `opponents` (names;
it is then paired only against those). A single turn draws its endpoint with chance in
proportion to the weights. A pair {x, y} of two endpoints that may meet is drawn with
chance in proportion to weight(x) * weight(y), the same rule whichever is named first; a
re-roll's challenger is drawn by weight among the original's allowed opponents. A
campaign's fixed pair overrides both. Which plan lands in slot a is a coin toss, recorded
with the response: model and position are never confounded.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

DEFAULT_WEIGHT = 1.0


@dataclass(frozen=True)
class SlotPlan:
    """What one slot will be generated with."""

    endpoint: dict[str, Any]
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def endpoint_name(self) -> str:
        """The configured endpoint's name."""
        return self.endpoint["name"]


def weight(endpoint: dict) -> float:
    """An endpoint's relative chance of being drawn (config.py checks it is > 0)."""
    return float(endpoint.get("weight", DEFAULT_WEIGHT))


def may_meet(x: dict, y: dict) -> bool:
    """Whether two different endpoints may be paired: neither one's `opponents` excludes
    the other."""
    if x["name"] == y["name"]:
        return False
    return all(
        e.get("opponents") is None or other["name"] in e["opponents"]
        for e, other in ((x, y), (y, x))
    )


def _own(endpoint: dict) -> SlotPlan:
    return SlotPlan(endpoint, dict(endpoint.get("params") or {}))


def _variants(endpoint: dict, alternate: dict) -> tuple[dict, dict]:
    """Two different sampling settings of one endpoint: its own and the alternate."""
    base = dict(endpoint.get("params") or {})
    other = {**base, **alternate}
    if other == base:  # the alternate changes nothing: nudge the temperature instead
        other["temperature"] = round(float(base.get("temperature", 0.7)) + 0.5, 2)
    return base, other


def plan_single(endpoints: list[dict], rng: random.Random) -> SlotPlan:
    """A single turn's endpoint, drawn by weight, with its own settings."""
    chosen = rng.choices(endpoints, weights=[weight(e) for e in endpoints])[0]
    return _own(chosen)


def allowed_pairs(endpoints: list[dict]) -> list[tuple[dict, dict]]:
    """Every unordered pair of endpoints that may meet, in configuration order."""
    return [(x, y) for i, x in enumerate(endpoints) for y in endpoints[i + 1 :] if may_meet(x, y)]


def plan_pair(endpoints: list[dict], alternate: dict, rng: random.Random) -> list[SlotPlan]:
    """Two endpoints that may meet, drawn by the product of their weights, when there are
    two or more; else two settings of the one. In random order."""
    pairs = allowed_pairs(endpoints)
    if pairs:
        x, y = rng.choices(pairs, weights=[weight(x) * weight(y) for x, y in pairs])[0]
        plans = [_own(x), _own(y)]
    else:  # one endpoint (config.py refuses opponents that leave an endpoint none)
        base, other = _variants(endpoints[0], alternate)
        plans = [SlotPlan(endpoints[0], base), SlotPlan(endpoints[0], other)]
    rng.shuffle(plans)
    return plans


def plan_fixed_pair(
    endpoints: list[dict], names: list[str], alternate: dict, rng: random.Random
) -> list[SlotPlan]:
    """A campaign's two named endpoints (two settings of one when both names are the same),
    in random order; KeyError names one that is not configured."""
    by_name = {e["name"]: e for e in endpoints}
    first, second = by_name[names[0]], by_name[names[1]]
    if first is second:
        base, other = _variants(first, alternate)
        plans = [SlotPlan(first, base), SlotPlan(first, other)]
    else:
        plans = [_own(first), _own(second)]
    rng.shuffle(plans)
    return plans


def plan_challenger(
    endpoints: list[dict],
    original_name: str,
    original_params: dict,
    alternate: dict,
    rng: random.Random,
) -> SlotPlan:
    """Slot b of a re-roll: an endpoint that may meet the original, drawn by weight, or the
    same one with other sampling settings."""
    endpoint = next((e for e in endpoints if e["name"] == original_name), None)
    others = [e for e in endpoints if endpoint is None or may_meet(endpoint, e)]
    others = [e for e in others if e["name"] != original_name]
    if others:
        return _own(rng.choices(others, weights=[weight(e) for e in others])[0])
    endpoint = endpoint or endpoints[0]
    base, other = _variants(endpoint, alternate)
    return SlotPlan(endpoint, other if original_params == base else base)
