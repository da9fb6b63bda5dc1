"""`bench.routing` routes each row's updates to the handlers they are meant for, through the bot's tree."""

from __future__ import annotations

from bench import routing


async def test_each_row_reaches_its_own_handlers() -> None:
    rows = {name: (figures, reached) for name, figures, reached in await routing.routed(6, 1, warmup=12)}
    assert rows["ballot presses"][1] == [
        "ballot.card",
        "ballot.pot",
        "ballot.tick",
        "confirm.confirm",
        "confirm.review",
    ]
    assert rows["ideas presses"][1] == ["browse.listing", "browse.support", "browse.view"]
    assert rows["typed commands"][1] == [
        "actions.settings_command",
        "ballot.home",
        "commands.help_command",
        "home.home",
    ]
    assert all(len(figures) == 1 and figures[0] > 0 for figures, _reached in rows.values())
