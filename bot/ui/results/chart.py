"""The results chart: horizontal bars of votes per project, winners highlighted, the cost in each label.

Made with matplotlib's Agg backend on a `Figure` of its own (no pyplot state, so it is safe in a worker
thread): call `render` through `asyncio.to_thread`. It draws only project names, costs and vote counts.
matplotlib (28 MiB) is imported by the first chart drawn, not when the bot starts: most processes never
draw one.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

MAX_BARS = 30
WINNER, OTHER = "#2e7d32", "#b0bec5"


@dataclass(frozen=True)
class Bar:
    label: str  # "Library garden · ₺900.000"
    votes: int
    winner: bool


@dataclass(frozen=True)
class Labels:
    title: str
    votes: str
    selected: str
    not_selected: str


def render(bars: Sequence[Bar], labels: Labels) -> bytes:
    """A PNG; the `MAX_BARS` most voted projects when there are more."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    shown = sorted(bars, key=lambda b: -b.votes)[:MAX_BARS]
    shown.reverse()  # the most voted on top
    height = 1.6 + 0.42 * max(len(shown), 1)
    figure = Figure(figsize=(8.0, height), dpi=110)
    axes = figure.add_subplot()
    names = [b.label if len(b.label) <= 48 else b.label[:47] + "…" for b in shown]
    colours = [WINNER if b.winner else OTHER for b in shown]
    bars_drawn = axes.barh(range(len(shown)), [b.votes for b in shown], color=colours)
    axes.set_yticks(range(len(shown)), names, fontsize=9)
    axes.bar_label(bars_drawn, padding=3, fontsize=8)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel(labels.votes)
    axes.set_title(labels.title, fontsize=11, loc="left")
    axes.spines[["top", "right"]].set_visible(False)
    axes.margins(x=0.12)
    axes.legend(
        handles=[Patch(color=WINNER, label=labels.selected), Patch(color=OTHER, label=labels.not_selected)],
        loc="lower right",
        fontsize=8,
        frameon=False,
    )
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
