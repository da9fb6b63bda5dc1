"""`meydan tally FILE.pb`: count a Pabulib election and compare with the file's official winners."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bot.tally import pabulib
from bot.tally.election import Election
from bot.tally.numbers import Number, normalize
from bot.tally.outcome import Outcome, TallyError, money
from bot.tally.rules import RULES, official_rule, tally
from bot.tally.tiebreak import TieBreaking

RULE_NAMES = {
    "greedy": "greedy (by votes, skipping what does not fit)",
    "greedy-no-skip": "greedy, stopping at the first project that does not fit",
    "greedy-threshold": "greedy among projects reaching the score threshold",
    "mes": "Method of Equal Shares, cost utilities, add1 completion",
    "mes-cardinality": "Method of Equal Shares, cardinality utilities, add1 completion",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE.pb", help="a Pabulib election file")
    parser.add_argument(
        "--rule", choices=RULES, default=None, help="the counting rule (default: the one the file names)"
    )
    parser.add_argument(
        "--tie-breaking",
        choices=[t.value for t in TieBreaking],
        default=TieBreaking.OURS.value,
        help="ours: lower cost, then more votes, then project id; lexicographic: project id as text",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--explain", action="store_true", help="say why each project won or lost")


def run(args: argparse.Namespace) -> int:
    try:
        election = pabulib.read(args.file)
        rule = args.rule or official_rule(election)
        outcome = tally(election, rule, tie_breaking=args.tie_breaking)
    except (pabulib.PabulibError, TallyError) as exc:
        print(f"meydan tally: {exc}", file=sys.stderr)
        return 1
    except UnicodeDecodeError:
        print(f"meydan tally: {args.file}: not UTF-8 text", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"meydan tally: {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    matches = outcome.matches(election.official_winners)
    if args.json:
        print(
            json.dumps(
                {
                    "rule": rule,
                    "selected": list(outcome.selected),
                    "cost": _json_number(outcome.cost),
                    "matches_official": matches,
                }
            )
        )
        return 0
    print(report(args.file, election, outcome, explain=args.explain))
    return 0


def _json_number(value: Number) -> int | float:
    value = normalize(value)
    return value if isinstance(value, int) else float(value)


def report(path: str, election: Election, outcome: Outcome, explain: bool = False) -> str:
    """The human-readable result."""
    currency = election.meta.get("currency", "")
    unit = f" {currency}" if currency else ""
    lines = [f"{Path(path).name}: {election.meta.get('description', '').strip() or 'election'}"]
    lines.append(
        f"{len(election.ballots):,} voters, {len(election.projects)} projects, budget {money(election.budget)}{unit}"
    )
    rule = f"Rule: {outcome.rule} ({RULE_NAMES.get(outcome.rule, outcome.rule)})"
    if "voter_budget" in outcome.details:
        rule += f"; each voter's share: {money(outcome.details['voter_budget'])}{unit}"
        runs = outcome.details.get("runs", outcome.details["steps"])
        rule += f" after {runs} run{'s' if runs != 1 else ''}"
    lines.append(f"{rule}; ties: {outcome.tie_breaking}")
    left = election.budget - outcome.cost
    lines.append(
        f"Winners: {len(outcome.selected)} projects, total cost {money(outcome.cost)}{unit} ({money(left)}{unit} left)"
    )
    width = max((len(p) for p in outcome.selected), default=2)
    for place, project_id in enumerate(outcome.selected, start=1):
        project = election.project_index[project_id]
        name = project.name if len(project.name) <= 70 else project.name[:69] + "…"
        lines.append(
            f"  {place:>3}. {project_id:<{width}}  {money(project.cost):>12}  {election.votes[project_id]:>7,} votes  {name}"
        )
    official = election.official_winners
    if official is None:
        lines.append("Official winners: the file has no 'selected' column.")
    elif frozenset(outcome.selected) == official:
        lines.append(f"Official winners: the same {len(official)} projects.")
    else:
        missing = sorted(official - set(outcome.selected))
        extra = sorted(set(outcome.selected) - official)
        lines.append(
            "Official winners: different; "
            f"not chosen here: {', '.join(missing) or 'none'}; chosen only here: {', '.join(extra) or 'none'}."
        )
    if explain:
        lines.append("Why:")
        for project in election.projects:
            lines.append(f"  {outcome.explanations[project.id].describe()}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.tally", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))
