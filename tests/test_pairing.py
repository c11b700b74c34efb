"""Which endpoint and sampling settings answer in each slot (app/chat/pairing.py)."""

from __future__ import annotations

import copy
import random

from app.chat.pairing import SlotPlan, plan_challenger, plan_pair, plan_single

ALPHA = {"name": "alpha", "base_url": "http://a/v1", "model": "m-a", "params": {"temperature": 0.5}}
BETA = {"name": "beta", "base_url": "http://b/v1", "model": "m-b", "params": {"temperature": 0.9}}
GAMMA = {"name": "gamma", "base_url": "http://c/v1", "model": "m-c"}
ALTERNATE = {"temperature": 1.2}


def names(plans: list[SlotPlan]) -> tuple[str, ...]:
    return tuple(p.endpoint_name for p in plans)


def test_two_endpoints_give_two_different_ones_each_with_its_own_params():
    rng = random.Random(7)
    for _ in range(50):
        plans = plan_pair([ALPHA, BETA], ALTERNATE, rng)
        assert len(plans) == 2
        assert sorted(names(plans)) == ["alpha", "beta"]
        for plan in plans:
            assert plan.params == plan.endpoint["params"]


def test_both_orders_occur_with_a_seeded_rng():
    rng = random.Random(1234)
    orders = {names(plan_pair([ALPHA, BETA], ALTERNATE, rng)) for _ in range(40)}
    assert orders == {("alpha", "beta"), ("beta", "alpha")}


def test_the_order_is_reproducible_for_a_seed():
    first = [names(plan_pair([ALPHA, BETA], ALTERNATE, random.Random(s))) for s in range(20)]
    again = [names(plan_pair([ALPHA, BETA], ALTERNATE, random.Random(s))) for s in range(20)]
    assert first == again


def test_more_endpoints_give_two_different_ones_and_every_endpoint_gets_a_turn():
    rng = random.Random(99)
    seen = set()
    for _ in range(60):
        pair = names(plan_pair([ALPHA, BETA, GAMMA], ALTERNATE, rng))
        assert pair[0] != pair[1]
        seen.update(pair)
    assert seen == {"alpha", "beta", "gamma"}


def test_one_endpoint_gives_the_same_endpoint_with_two_different_params():
    rng = random.Random(3)
    orders = set()
    for _ in range(40):
        plans = plan_pair([ALPHA], ALTERNATE, rng)
        assert names(plans) == ("alpha", "alpha")
        assert plans[0].params != plans[1].params
        assert sorted(p.params["temperature"] for p in plans) == [0.5, 1.2]
        orders.add(tuple(p.params["temperature"] for p in plans))
    assert orders == {(0.5, 1.2), (1.2, 0.5)}  # which setting lands in slot a is random


def test_one_endpoint_whose_params_equal_the_alternate_still_gets_two_settings():
    same = {**ALPHA, "params": {"temperature": 1.2}}
    plans = plan_pair([same], {"temperature": 1.2}, random.Random(0))
    assert plans[0].params != plans[1].params
    bare = {"name": "bare", "base_url": "http://x/v1", "model": "m"}
    plans = plan_pair([bare], {}, random.Random(0))
    assert plans[0].params != plans[1].params


def test_the_alternate_keeps_the_endpoints_other_params():
    endpoint = {**ALPHA, "params": {"temperature": 0.5, "top_p": 0.9}}
    plans = plan_pair([endpoint], ALTERNATE, random.Random(0))
    assert sorted((p.params for p in plans), key=lambda p: p["temperature"]) == [
        {"temperature": 0.5, "top_p": 0.9},
        {"temperature": 1.2, "top_p": 0.9},
    ]


def test_planning_never_changes_the_configured_endpoints():
    endpoints = [copy.deepcopy(ALPHA), copy.deepcopy(BETA)]
    before = copy.deepcopy(endpoints)
    rng = random.Random(5)
    for plan in plan_pair(endpoints, ALTERNATE, rng) + plan_pair(endpoints[:1], ALTERNATE, rng):
        plan.params["temperature"] = 99
    plan_single(endpoints, rng).params["temperature"] = 99
    assert endpoints == before


def test_a_single_turn_uses_its_drawn_endpoints_params():
    """Which endpoint is drawn: tests/test_pairing_policy.py (by weight, not the first)."""
    rng = random.Random(3)
    for _ in range(20):
        plan = plan_single([BETA, ALPHA], rng)
        expected = {"beta": BETA, "alpha": ALPHA}[plan.endpoint_name]["params"]
        assert plan.params == expected
    assert plan_single([GAMMA], rng).params == {}


def test_reroll_challenger_is_another_endpoint_when_there_is_one():
    rng = random.Random(11)
    for _ in range(30):
        challenger = plan_challenger([ALPHA, BETA], "alpha", {"temperature": 0.5}, ALTERNATE, rng)
        assert challenger.endpoint_name == "beta"
        assert challenger.params == {"temperature": 0.9}
    picked = {
        plan_challenger([ALPHA, BETA, GAMMA], "beta", {}, ALTERNATE, rng).endpoint_name
        for _ in range(40)
    }
    assert picked == {"alpha", "gamma"}


def test_reroll_challenger_on_one_endpoint_uses_other_params():
    rng = random.Random(0)
    challenger = plan_challenger([ALPHA], "alpha", {"temperature": 0.5}, ALTERNATE, rng)
    assert challenger.endpoint_name == "alpha"
    assert challenger.params == {"temperature": 1.2}
    # an original made with the alternate is challenged by the endpoint's own settings
    challenger = plan_challenger([ALPHA], "alpha", {"temperature": 1.2}, ALTERNATE, rng)
    assert challenger.endpoint_name == "alpha"
    assert challenger.params == {"temperature": 0.5}
