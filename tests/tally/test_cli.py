"""`meydan tally FILE.pb` through its `run()` and as `python -m bot.tally`."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.tally import cli
from tests.tally.conftest import AMSTERDAM, ASSEN, MOKOTOW, TOULOUSE, WIELICZKA, path_of

ROOT = Path(__file__).resolve().parents[2]


def invoke(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_json_for_an_official_mes_result(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(invoke(str(path_of(WIELICZKA)), "--json")) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"rule", "selected", "cost", "matches_official"}
    assert out["rule"] == "mes"
    assert out["cost"] == 995_079
    assert len(out["selected"]) == 30
    assert out["matches_official"] is True


def test_json_for_another_rule_that_misses_the_official_result(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(invoke(str(path_of(ASSEN)), "--rule", "greedy", "--json")) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rule"] == "greedy"
    assert out["matches_official"] is False
    assert out["cost"] <= 100_000


def test_no_selected_column_gives_null(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(invoke(str(path_of(AMSTERDAM)), "--json")) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rule"] == "greedy"
    assert out["matches_official"] is None
    assert out["cost"] <= 300_000


def test_text_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(invoke(str(path_of(MOKOTOW)))) == 0
    out = capsys.readouterr().out
    assert "11,067 voters, 81 projects, budget 8,697,250 PLN" in out
    assert "Winners: 24 projects, total cost 8,693,845 PLN" in out
    assert "Official winners: the same 24 projects." in out


def test_explain_for_point_ballots(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(invoke(str(path_of(TOULOUSE)), "--rule", "mes-cardinality", "--explain")) == 0
    out = capsys.readouterr().out
    assert "Official winners: the file has no 'selected' column." in out
    why = out.split("Why:\n", 1)[1].splitlines()
    assert len(why) == 30
    assert all(line.startswith("  Project ") for line in why)


def test_a_malformed_file_gives_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = path_of(ASSEN).read_text(encoding="utf-8").replace("8;40000;25;", "8;forty;25;")
    bad = tmp_path / "bad.pb"
    bad.write_text(text, encoding="utf-8")
    assert cli.run(invoke(str(bad))) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert f"{bad}:22: field 'cost': not a number: 'forty'" in lines[0]


@pytest.mark.parametrize("make", ["missing", "directory", "binary"])
def test_unreadable_files_give_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: str
) -> None:
    target = tmp_path / "x.pb"
    if make == "directory":
        target.mkdir()
    elif make == "binary":
        target.write_bytes(b"\xff\xfe\x00META")
    assert cli.run(invoke(str(target))) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert err.startswith("meydan tally: ")


def test_as_a_module() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot.tally", str(path_of(ASSEN)), "--json", "--tie-breaking", "lexicographic"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["matches_official"] is True
    assert out["cost"] == 76_700


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(SystemExit):
        invoke("x.pb", "--rule", "borda")
