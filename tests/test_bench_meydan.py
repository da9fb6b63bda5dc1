"""`bench.meydan`'s closed loop repeated: the median of the pairs' ratios, and the options it refuses."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bench import meydan


def _run(name: str, cpu_s: float, updates: int = 1000) -> SimpleNamespace:
    return SimpleNamespace(name=name, mode="webhook", bot=SimpleNamespace(cpu_s=cpu_s), bot_updates=updates)


def test_the_median_of_each_pairs_ratio_leaves_out_the_odd_run() -> None:
    # echo and Meydan CPU seconds over 1,000 updates: ratios 3.0, 4.0 and 10.0 (a noisy last pair)
    pairs = [
        (_run("echo", 0.5), _run("meydan", 1.5)),
        (_run("echo", 0.6), _run("meydan", 2.4)),
        (_run("echo", 0.2), _run("meydan", 2.0)),
    ]
    note = meydan.repeats_note(pairs)
    assert note.startswith("meydan webhook, 3 pairs: bot CPU/update vs echo median 4.00")
    assert "(each: 3.00 / 4.00 / 10.00)" in note
    assert "bot CPU ms/update 1.50 to 2.40, the echo's 0.20 to 0.60" in note


@pytest.mark.parametrize(
    "argv", [["--repeats", "0"], ["--repeats", "3", "--rates", "25"], ["--repeats", "3", "--profile", "p"]]
)
def test_repeats_are_refused_outside_the_closed_loop(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        meydan.main(argv)
    assert "--repeats takes a count of 1 or more" in capsys.readouterr().err
