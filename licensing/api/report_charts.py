"""The report page's charts (D18): the geometry of its inline SVG bar charts, laid out here
and drawn by `renewals.html`; no blueprint of its own, the page's view is in `reports`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from licensing.domain.money import format_decimal
from licensing.services.reports import RenewalReport
from licensing.services.revenue_report import RevenueReport

RATES = ("preferential", "standard")
# The chart is drawn in these viewBox units and scaled to its column (width 100%), so its
# size does not depend on the number of months; 960 units show at about 1:1.17 in a 1280 px
# window and 3:4 on an A4 page, where its 12-unit text (the template's) stays legible.
CHART_WIDTH, CHART_HEIGHT = 960, 300
CHART_TOP, CHART_BOTTOM, CHART_RIGHT = 12, 36, 16
DIGIT = 7.2  # the width of a digit of 12-unit system-ui text, for the axis' margin
LABEL_GAP = 66  # at least this far between month labels: a YYYY-MM label is about 50 wide
LABEL_EVERY = (1, 2, 3, 6, 12)  # divisors of 12: labels fall on the same months every year
# One colour per order kind, in the kinds' order; a kind added later takes the next one.
KIND_COLOURS = ("#2f6db5", "#e39b2d", "#3a9a5b", "#8e5bb5", "#c4493f", "#5b6770")


@dataclass(frozen=True)
class _Frame:
    """What both charts share in viewBox units: the amount axis' ticks, the plot's left edge,
    baseline and height, a slot per month, and every how many months a label falls."""

    ticks: list[int]
    left: float
    base: int
    plot: int
    slot: float
    every: int

    @classmethod
    def fit(cls, months: int, top: int) -> _Frame:
        """The frame for `months` months whose highest bar is `top` (minor units)."""
        ticks = _ticks(top)
        left = 10 + DIGIT * max(len(format_decimal(t)) for t in ticks)
        base = CHART_HEIGHT - CHART_BOTTOM
        slot = (CHART_WIDTH - CHART_RIGHT - left) / months
        every = next((k for k in LABEL_EVERY if k * slot >= LABEL_GAP), LABEL_EVERY[-1])
        return cls(ticks, left, base, base - CHART_TOP, slot, every)

    def height(self, amount: int) -> float:
        return self.plot * amount / self.ticks[-1]

    def month_label(self, n: int, month: str) -> dict[str, Any]:
        """The `n`th month's label, thinned to every `every` months, centred in its slot."""
        labelled = (int(month[5:]) - 1) % self.every == 0
        return {
            "label": month if labelled else None,
            "label_x": round(self.left + n * self.slot + self.slot / 2, 2),
        }

    def outline(self, bar: float) -> dict[str, Any]:
        return {
            "width": CHART_WIDTH,
            "height": CHART_HEIGHT,
            "left": round(self.left, 2),
            "right": CHART_WIDTH - CHART_RIGHT,
            "base": self.base,
            "bar": round(bar, 2),
        }

    def tick_marks(self) -> list[dict[str, Any]]:
        return [{"y": round(self.base - self.height(t), 2), "value": t} for t in self.ticks]


def chart(report: RenewalReport) -> dict[str, Any]:
    """Bars for the net revenue of each month, one group per month, split by rate, laid out
    in a fixed viewBox: the more months, the narrower the bars and the fewer month labels."""
    months = report.period.months()
    by = {(m, rate): 0 for m in months for rate in RATES}
    for r in report.rows:
        by[(r.month, r.rate)] += r.net.amount
    frame = _Frame.fit(len(months), max(by.values()))
    bar = min(32.0, frame.slot * 0.36)  # two bars take 72% of a month's slot at most
    groups = []
    for n, m in enumerate(months):
        x = frame.left + n * frame.slot + (frame.slot - 2 * bar) / 2
        bars = [_rate_bar(frame, rate, x + k * bar, by[(m, rate)]) for k, rate in enumerate(RATES)]
        groups.append({"month": m, **frame.month_label(n, m), "bars": bars})
    return {**frame.outline(bar), "groups": groups, "ticks": frame.tick_marks()}


def _rate_bar(frame: _Frame, rate: str, x: float, value: int) -> dict[str, Any]:
    h = frame.height(value)
    return {
        "rate": rate,
        "x": round(x, 2),
        "y": round(frame.base - h, 2),
        "h": round(h, 2),
        "value": value,
    }


def revenue_chart(report: RevenueReport) -> dict[str, Any]:
    """Stacked bars of each month's net revenue, one segment per order kind, in the same
    viewBox as the renewals chart and thinned month labels alike."""
    months = report.period.months()
    kinds = [k.kind for k in report.by_kind]
    net = {(r.month, r.kind): r.net.amount for r in report.rows}
    frame = _Frame.fit(len(months), max(sum(net[(m, k)] for k in kinds) for m in months))
    bar = min(48.0, frame.slot * 0.6)
    groups = []
    for n, m in enumerate(months):
        x = frame.left + n * frame.slot + (frame.slot - bar) / 2
        segments = _stacked(frame, kinds, [net[(m, kind)] for kind in kinds])
        groups.append({"month": m, "x": round(x, 2), **frame.month_label(n, m), "bars": segments})
    legend = [{"kind": kind, "colour": _colour(k)} for k, kind in enumerate(kinds)]
    return {**frame.outline(bar), "groups": groups, "legend": legend, "ticks": frame.tick_marks()}


def _stacked(frame: _Frame, kinds: list[str], values: list[int]) -> list[dict[str, Any]]:
    """A month's segments, one per kind in the kinds' order, stacked up from the baseline."""
    top, segments = float(frame.base), []
    for k, (kind, value) in enumerate(zip(kinds, values, strict=True)):
        h = frame.height(value)
        top -= h
        segments.append(
            {
                "kind": kind,
                "colour": _colour(k),
                "y": round(top, 2),
                "h": round(h, 2),
                "value": value,
            }
        )
    return segments


def _colour(k: int) -> str:
    return KIND_COLOURS[k % len(KIND_COLOURS)]


def _ticks(top: int) -> list[int]:
    """Round amounts (minor units) from 0 past `top`, 1, 2, 2.5 or 5 times a power of ten
    apart, at most five ticks; whole currency units even when there is nothing to show."""
    raw = max(top, 400) / 4
    power = 10 ** math.floor(math.log10(raw))
    step = next(int(f * power) for f in (1, 2, 2.5, 5, 10) if f * power >= raw)
    return [step * k for k in range(-(-max(top, 1) // step) + 1)]
