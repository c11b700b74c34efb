"""Generated raters and votes, stored as the app stores them, for rater quality and the admin
area: honest raters, one who always picks A, one who votes a second after long answers end,
one who always says tie."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from app.extensions import db
from app.models import DONE, Conversation, Feedback, Rater, Response, Turn
from app.vocabulary import ADMIN, INVITE, RATER

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
VOTES = 40


def honest(i: int) -> str:
    """A, B, A, B, with every fifth vote a tie: no side favoured."""
    return "tie" if i % 5 == 4 else "ab"[i % 2]


def add_rater(name: str, role: str = RATER) -> Rater:
    """A named rater, as `flask raters invite` makes one."""
    rater = Rater(name=name, role=role, kind=INVITE)
    db.session.add(rater)
    db.session.flush()
    return rater


def add_votes(
    rater: Rater,
    choose: Callable[[int], str],
    delay: float = 40.0,
    words: int = 150,
    n: int = VOTES,
    start: datetime = T0,
    trigger: str = "sampled",
) -> None:
    """`n` votes of `rater` on alpha-vs-beta pairs of `words`-word answers that streamed for
    10 s, each cast `delay` seconds after both answers were done."""
    conversation = Conversation(rater_id=rater.id, created_at=start)
    db.session.add(conversation)
    for i in range(n):
        created = start + timedelta(minutes=10 * i)
        turn = Turn(
            conversation=conversation,
            position=i,
            content=f"question {i} of {rater.name}",
            trigger=trigger,
            context=[{"role": "user", "content": f"question {i} of {rater.name}"}],
            created_at=created,
        )
        for slot, endpoint in zip(
            "ab", ("alpha", "beta") if (i // 2) % 2 else ("beta", "alpha"), strict=True
        ):
            Response(
                turn=turn,
                slot=slot,
                endpoint_name=endpoint,
                model=f"{endpoint}-model",
                params={},
                status=DONE,
                content=" ".join([f"{endpoint}{slot}"] * words),
                finish_reason="stop",
                token_count=words,
                queued_at=created,
                started_at=created,
                first_token_at=created + timedelta(seconds=1),
                finished_at=created + timedelta(seconds=10),
            )
        voted = created + timedelta(seconds=10 + delay)
        Feedback(turn=turn, choice=choose(i), rater_id=rater.id, created_at=voted)
        db.session.add(turn)
    db.session.flush()


def add_crowd() -> dict[str, Rater]:
    """Two honest raters, one who always picks A, one too fast, one who always says tie, and
    an admin who never voted; committed."""
    raters = {
        name: add_rater(name)
        for name in ("honest-1", "honest-2", "always-a", "speedy", "tie-lover")
    }
    raters["boss"] = add_rater("boss", ADMIN)
    add_votes(raters["honest-1"], honest, delay=40)
    add_votes(raters["honest-2"], honest, delay=90, words=300, start=T0 + timedelta(hours=1))
    add_votes(raters["always-a"], lambda i: "a", delay=40, start=T0 + timedelta(hours=2))
    add_votes(raters["speedy"], honest, delay=1, words=400, start=T0 + timedelta(hours=3))
    add_votes(raters["tie-lover"], lambda i: "tie", delay=40, start=T0 + timedelta(hours=4))
    db.session.commit()
    return raters


# The arena of the screenshots: gamma is no better than beta, only longer and bolder.
ARENA_STRENGTH = {"alpha": 0.6, "beta": 0.0, "gamma": 0.0}
ARENA_WORDS = {"alpha": 120, "beta": 120, "gamma": 360}


def add_arena(raters: list[Rater], n: int, seed: int = 0) -> None:
    """`n` votes among alpha, beta and gamma, cast in turn by `raters`, by people who favour
    the better answer and also the longer one (committed)."""
    rng = random.Random(seed)
    names = list(ARENA_STRENGTH)
    rater_ids = [r.id for r in raters]  # read now: a read later would flush a half-made turn
    conversation = None
    for i in range(n):
        rater_id = rater_ids[i % len(rater_ids)]
        if i % 20 == 0:
            conversation = Conversation(rater_id=rater_id, created_at=T0)
            db.session.add(conversation)
        a, b = rng.sample(names, 2)
        words = {s: max(5, int(rng.lognormvariate(math.log(ARENA_WORDS[s]), 0.4))) for s in (a, b)}
        diff = (words[a] - words[b]) / (words[a] + words[b] + 1)
        logit = ARENA_STRENGTH[a] - ARENA_STRENGTH[b] + 2.0 * diff
        draw = rng.random()
        p_a = 1 / (1 + math.exp(-logit))
        choice = "tie" if draw < 0.08 else ("a" if rng.random() < p_a else "b")
        created = T0 + timedelta(minutes=3 * i)
        turn = Turn(
            conversation=conversation,
            position=i % 20,
            content=f"arena question {i}",
            trigger="reroll" if i % 25 == 0 else "sampled",
            context=[{"role": "user", "content": f"arena question {i}"}],
            created_at=created,
        )
        for slot, endpoint in (("a", a), ("b", b)):
            emphatic = rng.random() < (0.7 if endpoint == "gamma" else 0.15)
            bold = "**Note:** " if emphatic else ""
            Response(
                turn=turn,
                slot=slot,
                endpoint_name=endpoint,
                model=f"{endpoint}-model",
                params={},
                status=DONE,
                content=bold + " ".join(["word"] * words[endpoint]),
                finish_reason="stop",
                token_count=words[endpoint],
                queued_at=created,
                started_at=created,
                first_token_at=created + timedelta(seconds=1),
                finished_at=created + timedelta(seconds=10),
            )
        voted = created + timedelta(seconds=10 + rng.uniform(20, 120))
        Feedback(turn=turn, choice=choice, rater_id=rater_id, created_at=voted)
        db.session.add(turn)
    db.session.commit()
