"""The pairing policy: endpoint weights and opponents, for pairs, single turns and re-rolls;
a campaign's fixed pair; random, recorded placement; the checks config.py makes."""

from __future__ import annotations

import json
import math
import random
from collections import Counter

import pytest
from sqlalchemy import select

from app.chat.pairing import (
    allowed_pairs,
    plan_challenger,
    plan_fixed_pair,
    plan_pair,
    plan_single,
)
from app.extensions import db
from app.models import Response
from config import ConfigError, model_endpoints
from tests.api_helpers import new_conversation, send

ALTERNATE = {"temperature": 1.2}
DRAWS = 20_000


def endpoint(name: str, **extra) -> dict:
    return {"name": name, "base_url": f"http://127.0.0.1:9/{name}/v1", "model": name, **extra}


def within(observed: int, total: int, expected_share: float, sigmas: float = 4.5) -> bool:
    """Whether a binomial count is within `sigmas` standard deviations of its expectation."""
    sd = math.sqrt(total * expected_share * (1 - expected_share))
    return abs(observed - total * expected_share) <= sigmas * sd


def test_a_single_turn_draws_its_endpoint_by_weight():
    rng = random.Random(1)
    endpoints = [endpoint("heavy", weight=3), endpoint("light"), endpoint("tiny", weight=0.5)]
    drawn = Counter(plan_single(endpoints, rng).endpoint_name for _ in range(DRAWS))
    for name, share in (("heavy", 3 / 4.5), ("light", 1 / 4.5), ("tiny", 0.5 / 4.5)):
        assert within(drawn[name], DRAWS, share), drawn


def test_a_single_turn_no_longer_always_takes_the_first_endpoint():
    rng = random.Random(2)
    drawn = Counter(
        plan_single([endpoint("first"), endpoint("second")], rng).endpoint_name for _ in range(2000)
    )
    assert within(drawn["second"], 2000, 0.5), drawn


def test_a_pair_is_drawn_by_the_product_of_its_weights():
    rng = random.Random(3)
    endpoints = [endpoint("a", weight=2), endpoint("b"), endpoint("c")]
    pairs = Counter(
        frozenset(p.endpoint_name for p in plan_pair(endpoints, ALTERNATE, rng))
        for _ in range(DRAWS)
    )
    # a-b: 2, a-c: 2, b-c: 1 (of 5).
    expected = {("a", "b"): 0.4, ("a", "c"): 0.4, ("b", "c"): 0.2}
    for names, share in expected.items():
        assert within(pairs[frozenset(names)], DRAWS, share), pairs


def test_an_endpoint_with_opponents_meets_only_those():
    rng = random.Random(4)
    endpoints = [
        endpoint("candidate", opponents=["baseline"]),
        endpoint("baseline"),
        endpoint("other"),
    ]
    assert [(x["name"], y["name"]) for x, y in allowed_pairs(endpoints)] == [
        ("candidate", "baseline"),
        ("baseline", "other"),
    ]
    pairs = Counter(
        frozenset(p.endpoint_name for p in plan_pair(endpoints, ALTERNATE, rng))
        for _ in range(4000)
    )
    assert set(pairs) == {frozenset({"candidate", "baseline"}), frozenset({"baseline", "other"})}
    assert within(pairs[frozenset({"candidate", "baseline"})], 4000, 0.5), pairs


def test_placement_in_a_or_b_is_a_coin_toss_whatever_the_weights():
    rng = random.Random(5)
    endpoints = [endpoint("heavy", weight=10), endpoint("light")]
    in_a = Counter(plan_pair(endpoints, ALTERNATE, rng)[0].endpoint_name for _ in range(DRAWS))
    assert within(in_a["heavy"], DRAWS, 0.5), in_a


def test_a_campaigns_fixed_pair_overrides_weights_and_opponents():
    rng = random.Random(6)
    endpoints = [
        endpoint("a", opponents=["b"], weight=100),
        endpoint("b", opponents=["a"]),
        endpoint("c", weight=0.01),
    ]
    in_a = Counter()
    for _ in range(4000):
        plans = plan_fixed_pair(endpoints, ["c", "b"], ALTERNATE, rng)
        assert {p.endpoint_name for p in plans} == {"b", "c"}
        in_a[plans[0].endpoint_name] += 1
    assert within(in_a["c"], 4000, 0.5), in_a
    same = plan_fixed_pair(endpoints, ["a", "a"], ALTERNATE, rng)  # one endpoint, two settings
    assert {p.endpoint_name for p in same} == {"a"} and same[0].params != same[1].params
    with pytest.raises(KeyError):
        plan_fixed_pair(endpoints, ["a", "gone"], ALTERNATE, rng)


def test_a_rerolls_challenger_respects_opponents_and_weights():
    rng = random.Random(7)
    endpoints = [
        endpoint("candidate", opponents=["base", "big"]),
        endpoint("base", weight=3),
        endpoint("big"),
        endpoint("never"),
    ]
    drawn = Counter(
        plan_challenger(endpoints, "candidate", {}, ALTERNATE, rng).endpoint_name
        for _ in range(8000)
    )
    assert set(drawn) == {"base", "big"}
    assert within(drawn["base"], 8000, 0.75), drawn
    # An endpoint no one else may meet is re-rolled against itself, with other settings.
    lonely = [endpoint("x", opponents=["y"]), endpoint("y", opponents=["x"]), endpoint("z")]
    challenger = plan_challenger(lonely, "z", {}, ALTERNATE, rng)
    assert challenger.endpoint_name == "z" and challenger.params == ALTERNATE


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({0: {"weight": 0}}, "MODEL_ENDPOINTS[0].weight must be greater than 0"),
        ({0: {"weight": -1}}, "greater than 0"),
        ({1: {"weight": "2"}}, "MODEL_ENDPOINTS[1].weight must be a number"),
        ({1: {"weight": True}}, "must be a number"),
        ({0: {"opponents": ["gamma"]}}, "opponents names 'gamma'; the endpoints are"),
        ({0: {"opponents": ["alpha"]}}, "names the endpoint itself"),
        ({0: {"opponents": []}}, "non-empty list"),
        ({0: {"opponents": "beta"}}, "non-empty list"),
        ({0: {"opponents": ["beta"]}, 1: {"opponents": ["gamma"]}}, "opponents names"),
    ],
)
def test_config_refuses_a_bad_weight_or_opponents(monkeypatch, changes, message):
    endpoints = [endpoint("alpha"), endpoint("beta"), endpoint("delta")]
    for index, extra in changes.items():
        endpoints[index].update(extra)
    monkeypatch.setenv("MODEL_ENDPOINTS", json.dumps(endpoints))
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        model_endpoints()


def test_config_refuses_opponents_that_do_not_accept_each_other(monkeypatch):
    endpoints = [
        endpoint("alpha", opponents=["beta"]),
        endpoint("beta", opponents=["delta"]),
        endpoint("delta"),
    ]
    monkeypatch.setenv("MODEL_ENDPOINTS", json.dumps(endpoints))
    with pytest.raises(ConfigError, match="could never be paired"):
        model_endpoints()


def test_config_takes_weights_and_mutual_opponents(monkeypatch):
    endpoints = [
        endpoint("alpha", weight=2.5, opponents=["beta"]),
        endpoint("beta", opponents=["alpha", "delta"]),
        endpoint("delta", weight=1),
    ]
    monkeypatch.setenv("MODEL_ENDPOINTS", json.dumps(endpoints))
    assert model_endpoints() == endpoints


def test_single_turns_through_the_api_follow_the_weights(app, client, queued):
    """Today's first endpoint, alpha, weighs next to nothing: single turns go to beta."""
    alpha, beta = app.config["MODEL_ENDPOINTS"]
    app.config["MODEL_ENDPOINTS"] = [{**alpha, "weight": 1e-9}, {**beta, "weight": 1}]
    cid = new_conversation(client)
    for i in range(5):
        send(client, cid, f"message {i}", mode="single")
    with app.app_context():
        names = db.session.scalars(select(Response.endpoint_name)).all()
    assert names == ["beta"] * 5
