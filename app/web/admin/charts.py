"""Coordinates for the admin pages' bars, drawn as SVG shapes: the page's CSP allows no inline
styles, so positions are SVG attributes and colours are classes in admin.css."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

WIDTH = 320.0  # the bars' SVG viewBox width


@dataclass(frozen=True)
class Scale:
    """A linear map of [low, high] onto [0, WIDTH]."""

    low: float
    high: float

    def x(self, value: float) -> float:
        """Where `value` falls, rounded to a tenth of a unit."""
        span = self.high - self.low or 1.0
        return round((value - self.low) / span * WIDTH, 1)


@dataclass(frozen=True)
class Bar:
    """An interval and its point estimate, in SVG x coordinates."""

    x1: float
    x2: float
    cx: float

    @property
    def width(self) -> float:
        """The interval's length, at least a hair so a degenerate one still shows."""
        return max(self.x2 - self.x1, 1.0)


def rating_scale(bounds: Iterable[float], centre: float = 1000.0) -> Scale:
    """A scale that holds every bound and the centre line, with a margin, in round steps."""
    values = [centre, *bounds]
    low, high = min(values), max(values)
    pad = max((high - low) * 0.05, 10.0)
    step = 50.0
    return Scale(math.floor((low - pad) / step) * step, math.ceil((high + pad) / step) * step)


def bar(scale: Scale, value: float | None, ci95: Iterable[float] | None) -> Bar | None:
    """The bar of `value` and its interval on `scale`, or None when there is none."""
    if value is None or ci95 is None:
        return None
    low, high = ci95
    return Bar(scale.x(low), scale.x(high), scale.x(value))


SHARE = Scale(0.0, 1.0)


def heat(rate: float | None) -> str:
    """The class of a win-rate cell: wr-0 (never won) to wr-10 (always won), wr-none."""
    return "wr-none" if rate is None else f"wr-{round(rate * 10)}"
