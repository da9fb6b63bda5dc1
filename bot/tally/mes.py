"""The Method of Equal Shares (MES), with cost or cardinality utilities, and its add1 completion.

Every voter gets an equal share of the budget. Round by round, among the projects its supporters can still
pay for, MES picks the one that is cheapest for them per unit of utility: each supporter pays the same price
per point of utility (`rho`), or all they have left if that is less. A supporter of project `p` with `w`
points (1 for an approval) pays `min(budget, beta * w)`, where `beta` is the lowest amount per point that
covers the cost. With cost utilities a supporter's utility is `w * cost`, so `rho = beta / cost`; with
cardinality utilities it is `w`, so `rho = beta`. Rounds stop when no project can be paid for.

The add1 completion (`Completion.ADD1`, the default) starts every voter at `floor(budget / voters)` and
raises each voter's share by 1 per step, until the next outcome would cost more than the budget; the last
outcome that fits is the result. It also stops when an outcome already holds every project someone voted
for. `Completion.ADD1_EXHAUSTIVE` is pabutools' variant (start at `budget / voters`, stop at the first
exhaustive outcome); `Completion.NONE` runs MES once at `budget / voters`. Both completions skip the shares
whose outcome provably equals that of the last run (`_Span`): MES runs again only at a share where the
outcome may change, so the result, the final share and the number of steps are those of running MES at
every share, and the number of runs does not grow with the size of the amounts.

Arithmetic. Every decision is taken on exact values. Budgets are also kept as floats, used to find the few
projects that could be the cheapest this round and to split supporters into those who pay the full price
and those who pay all they have; only values within a proven error bound of a decision boundary are
computed exactly, from the exact prices of earlier rounds (fractions over a common denominator). Exact ties
in `rho` are broken by the tie-breaking order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from bot.tally.election import POINT_VOTE_TYPES, Election
from bot.tally.numbers import Number, normalize
from bot.tally.options import Completion, Utility
from bot.tally.outcome import Explanation, Outcome, Param, Reason, TallyError
from bot.tally.tiebreak import TieBreaking, tie_order

EPS = float(np.finfo(np.float64).eps)
SAFETY = 16.0


class _Instance:
    """The election in arrays: supporters (and their points) per project, costs, tie-breaking places."""

    def __init__(self, election: Election, tie_breaking: TieBreaking) -> None:
        if election.vote_type == "ordinal":
            raise TallyError("the Method of Equal Shares does not apply to ordinal ballots")
        self.ids = [p.id for p in election.projects]
        index = {project_id: j for j, project_id in enumerate(self.ids)}
        self.n = len(election.ballots)
        self.weighted = election.vote_type in POINT_VOTE_TYPES
        voters: list[list[int]] = [[] for _ in self.ids]
        weights: list[list[int]] = [[] for _ in self.ids]
        for i, ballot in enumerate(election.ballots):
            if not self.weighted:
                for project_id in ballot.projects:
                    voters[index[project_id]].append(i)
                continue
            for project_id, points in zip(ballot.projects, ballot.points or (), strict=True):
                if points < 0 or normalize(points) != int(points):
                    raise TallyError("the Method of Equal Shares needs whole, non-negative points")
                if points:
                    voters[index[project_id]].append(i)
                    weights[index[project_id]].append(int(points))
        self.supporters = [np.array(v, dtype=np.int64) for v in voters]
        self.weights = [np.array(w, dtype=np.int64) for w in weights] if self.weighted else []
        self.weights_f = [w.astype(np.float64) for w in self.weights]
        self.weight_sum = [int(w.sum()) for w in self.weights] if self.weighted else [len(v) for v in voters]
        self.costs: list[Number] = [normalize(p.cost) for p in election.projects]
        self.cost_list = [float(c) for c in self.costs]
        self.cost_fractions = [Fraction(c) for c in self.costs]
        self.first_lower_cost = [(1.0 / w if w else math.inf) * (1 - 8 * EPS) for w in self.weight_sum]
        self.first_lower_cardinality = [
            (c / w if w else math.inf) * (1 - 8 * EPS)
            for c, w in zip(self.cost_list, self.weight_sum, strict=True)
        ]
        self.cost_den = math.lcm(1, *(Fraction(c).denominator for c in self.costs))
        place = tie_order(election, tie_breaking)
        self.place = [place[project_id] for project_id in self.ids]
        self.free = sorted(
            (j for j, c in enumerate(self.costs) if c == 0 and self.weight_sum[j] > 0),
            key=self.place.__getitem__,
        )
        self.candidates = [j for j, c in enumerate(self.costs) if c > 0 and self.weight_sum[j] > 0]
        self.supported = frozenset(self.free) | frozenset(self.candidates)
        max_weight = max((int(w.max()) for w in self.weights if len(w)), default=1)
        dtype = np.int8 if max_weight < 2**7 else np.int32 if max_weight < 2**31 else np.int64
        # voter x round: the points a voter paid the full price for, in that round (column-major: a round
        # writes one column)
        self.paid = np.zeros((self.n, max(1, len(self.candidates))), dtype=dtype, order="F")
        self.paid_columns = 0


@dataclass
class _Round:
    project: int
    beta: Fraction
    rich: np.ndarray
    rich_weights: np.ndarray | None
    poor: np.ndarray
    poor_paid: list[int]  # what each of `poor` paid, times `scale`
    scale: int
    broke: int


@dataclass
class _RunResult:
    selected: list[int]
    cost: Number
    rounds: list[_Round]
    run: _Run | None = None


class _Run:
    """One run of MES from a given per-voter budget."""

    def __init__(self, inst: _Instance, voter_budget: Number, utility: Utility, record: bool) -> None:
        self.inst = inst
        self.cost_utility = utility is Utility.COST
        self.record = record
        b0 = Fraction(voter_budget)
        self.D = math.lcm(inst.cost_den, b0.denominator)
        self.b0_scaled = b0.numerator * (self.D // b0.denominator)
        self.betas: list[Fraction] = []
        self.betas_scaled: list[int] = []
        self.budget_f = np.full(inst.n, float(b0))
        self.gone = np.zeros(inst.n, dtype=bool)
        if record:  # a recorded run keeps its own matrix: the outcome reads it after later runs
            self.paid = np.zeros_like(inst.paid)
        else:  # other runs reuse the instance's, cleared
            inst.paid[:, : inst.paid_columns] = 0
            inst.paid_columns = 0
            self.paid = inst.paid
        self.err = 3.0 * (len(inst.candidates) + 1) * EPS * max(float(b0), 1.0)
        self.rounds: list[_Round] = []
        # a price per point only rises during a run: the last estimate, less its error, is a safe start
        self.start = [0.0] * len(inst.ids)

    # exact values, scaled by the common denominator D

    def cost_scaled(self, p: int) -> int:
        c = self.inst.cost_fractions[p]
        return c.numerator * (self.D // c.denominator) if c.denominator != 1 else c.numerator * self.D

    def exact_sum(self, voters: np.ndarray, live: bool = False) -> int:
        """The exact total budget of these voters (scaled by D); `live` says none of them is out of money."""
        if not live:
            voters = voters[~self.gone[voters]]
        if not len(voters):
            return 0
        total = len(voters) * self.b0_scaled
        r = len(self.betas_scaled)
        if r:
            counts = self.paid[voters, :r].sum(axis=0, dtype=np.int64).tolist()
            for scaled, count in zip(self.betas_scaled, counts, strict=True):
                if count:
                    total -= scaled * count
        return total

    def exact_groups(
        self, voters: np.ndarray, weights: np.ndarray | None
    ) -> tuple[list[tuple[int, int, int]], np.ndarray]:
        """Group voters with equal budgets (and points): [(budget scaled, points, count)], voter -> group."""
        r = len(self.betas_scaled)
        w = weights if weights is not None else np.ones(len(voters), dtype=np.int64)
        key = np.column_stack([self.gone[voters].astype(np.int64), w, self.paid[voters, :r].astype(np.int64)])
        unique, inverse, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
        groups = []
        for row, count in zip(unique.tolist(), counts.tolist(), strict=True):
            if row[0]:
                value = 0
            else:
                value = self.b0_scaled
                for q, times in enumerate(row[2:]):
                    if times:
                        value -= self.betas_scaled[q] * times
            groups.append((value, row[1], count))
        return groups, inverse.reshape(-1)

    def scan(self, groups: list[tuple[int, int, int]], spent: int, weight: int, p: int) -> tuple[int, int]:
        """Move groups, cheapest budget per point first, to those paying all they have while below the price."""
        need = self.cost_scaled(p)
        for value, w, count in sorted(groups, key=lambda g: Fraction(g[0], g[1])):
            if weight > 0 and value * weight < (need - spent) * w:
                spent += value * count
                weight -= w * count
            else:
                break
        return spent, weight

    def exact_beta_full(self, p: int) -> tuple[Fraction, np.ndarray] | None:
        """The exact price per point of project p, computed from every supporter; None if unaffordable."""
        inst = self.inst
        voters = inst.supporters[p]
        weights = inst.weights[p] if inst.weighted else None
        groups, inverse = self.exact_groups(voters, weights)
        if sum(v * c for v, _, c in groups) < self.cost_scaled(p):
            return None
        spent, weight = self.scan(groups, 0, sum(w * c for _, w, c in groups), p)
        beta = Fraction(self.cost_scaled(p) - spent, self.D * weight)
        bound = beta * self.D
        pays_all = np.array([Fraction(v) <= bound * w for v, w, _ in groups], dtype=bool)
        return beta, pays_all[inverse]

    def exact_beta(
        self, p: int, beta_f: float, dbeta: float, b: np.ndarray
    ) -> tuple[Fraction, np.ndarray] | None:
        """The exact price per point of p; only supporters near the float price are looked at exactly.

        `b` holds the supporters' float budgets."""
        inst = self.inst
        voters = inst.supporters[p]
        if inst.weighted:
            w = inst.weights[p]
            diff = b - beta_f * w
            tol = self.err + dbeta * w
            poor = diff < -tol
            band = (diff <= tol) ^ poor
            weight = inst.weight_sum[p] - int(np.dot(w, poor)) - int(np.dot(w, band))
        else:
            w = None
            diff = b - beta_f
            tol = self.err + dbeta
            poor = diff < -tol
            band = (diff <= tol) ^ poor
            weight = len(voters) - int(np.count_nonzero(poor)) - int(np.count_nonzero(band))
        spent = self.exact_sum(voters[poor & ~self.gone[voters]], live=True)
        band_idx = np.flatnonzero(band)
        groups: list[tuple[int, int, int]] = []
        inverse = np.zeros(0, dtype=np.int64)
        if len(band_idx):
            groups, inverse = self.exact_groups(voters[band_idx], w[band_idx] if w is not None else None)
            weight += sum(gw * c for _, gw, c in groups)
        if weight <= 0:
            return self.exact_beta_full(p)
        spent, weight = self.scan(groups, spent, weight, p)
        if weight == 0:
            return self.exact_beta_full(p)
        beta = Fraction(self.cost_scaled(p) - spent, self.D * weight)
        if abs(float(beta) - beta_f) > dbeta + 4 * EPS * abs(beta_f):
            return self.exact_beta_full(p)
        pays_all = poor.copy()
        if len(band_idx):
            bound = beta * self.D
            group_pays = np.array([Fraction(v) <= bound * gw for v, gw, _ in groups], dtype=bool)
            pays_all[band_idx] = group_pays[inverse]
        return beta, pays_all

    # the float estimate

    def float_beta(self, p: int) -> tuple[float, float, np.ndarray] | str:
        """(price per point, its error bound, supporters' budgets), 'unaffordable', or 'near' (exact needed)."""
        inst = self.inst
        b = self.budget_f[inst.supporters[p]]
        c = inst.cost_list[p]
        weight = inst.weight_sum[p]
        k = len(b)
        total = float(b.sum())
        if total < c - SAFETY * (k * self.err + k * EPS * (total + c)):
            return "unaffordable"
        beta = max(c / weight, self.start[p])
        spent = 0.0
        rich_weight = weight
        if inst.weighted:
            w = inst.weights_f[p]
            poor = b < beta * w
            count = int(np.count_nonzero(poor))
            while count:
                spent = float(np.dot(b, poor))
                rich_weight = weight - round(float(np.dot(w, poor)))
                if rich_weight <= 0:
                    break
                beta = (c - spent) / rich_weight
                poor |= b < beta * w
                new_count = int(np.count_nonzero(poor))
                if new_count == count:
                    break
                count = new_count
        else:
            poor = b < beta
            count = int(np.count_nonzero(poor))
            while count:
                spent = float(np.dot(b, poor))
                rich_weight = weight - count
                if rich_weight <= 0:
                    break
                beta = (c - spent) / rich_weight
                poor |= b < beta
                new_count = int(np.count_nonzero(poor))
                if new_count == count:
                    break
                count = new_count
        slack = SAFETY * (k * self.err + k * EPS * (spent + c))
        if rich_weight <= 0:
            return "unaffordable" if spent < c - slack else "near"
        dbeta = slack / rich_weight + SAFETY * 2 * EPS * beta
        self.start[p] = beta - dbeta
        return beta, dbeta, b

    # the rounds

    def rho(self, p: int, beta: Fraction) -> Fraction:
        return beta / self.inst.cost_fractions[p] if self.cost_utility else beta

    def run(self) -> _RunResult:
        inst = self.inst
        cost_utility = self.cost_utility
        selected = list(inst.free)
        alive = list(inst.candidates)
        lower = list(inst.first_lower_cost if cost_utility else inst.first_lower_cardinality)
        Entry = tuple[int, float, float, float, np.ndarray | None, tuple[Fraction, np.ndarray] | None]
        while alive:
            best_hi = math.inf
            looked: list[Entry] = []
            for p in sorted(alive, key=lower.__getitem__):
                if lower[p] > best_hi:
                    break
                estimate = self.float_beta(p)
                if isinstance(estimate, tuple):
                    beta_f, dbeta, budgets = estimate
                    scale = inst.cost_list[p] if cost_utility else 1.0
                    rho_f = beta_f / scale
                    drho = (dbeta + 4 * EPS * beta_f) / scale
                    lo, hi = rho_f - drho, rho_f + drho
                    looked.append((p, lo, beta_f, dbeta, budgets, None))
                elif estimate == "near" and (exact := self.exact_beta_full(p)) is not None:
                    rho_f = float(self.rho(p, exact[0]))
                    lo, hi = rho_f * (1 - 4 * EPS), rho_f * (1 + 4 * EPS)
                    looked.append((p, lo, float(exact[0]), 0.0, None, exact))
                else:
                    alive.remove(p)
                    continue
                lower[p] = lo
                if hi < best_hi:
                    best_hi = hi
            contenders = [entry for entry in looked if entry[1] <= best_hi]
            if not contenders:
                break
            best: tuple[Fraction | None, int, int, Fraction, np.ndarray] | None = None
            for p, _, beta_f, dbeta, budgets, found in contenders:
                if found is None:
                    assert budgets is not None
                    found = self.exact_beta(p, beta_f, dbeta, budgets)
                if found is None:
                    alive.remove(p)
                    continue
                beta, pays_all = found
                if len(contenders) == 1:
                    best = (None, 0, p, beta, pays_all)
                    break
                rho = self.rho(p, beta)
                if best is None or (rho, inst.place[p]) < (best[0], best[1]):
                    best = (rho, inst.place[p], p, beta, pays_all)
            if best is None:
                continue
            _, _, p, beta, pays_all = best
            self.select(p, beta, pays_all)
            selected.append(p)
            alive.remove(p)
        cost = sum((inst.costs[p] for p in selected), 0)
        return _RunResult(selected, normalize(cost), self.rounds, self if self.record else None)

    def select(self, p: int, beta: Fraction, pays_all: np.ndarray) -> None:
        inst = self.inst
        voters = inst.supporters[p]
        rich = voters[~pays_all]
        poor = voters[pays_all]
        r = len(self.betas)
        if self.record:
            self.record_round(p, beta, pays_all)
        self.budget_f[poor] = 0.0
        self.gone[poor] = True
        beta_f = float(beta)
        if inst.weighted:
            w = inst.weights[p][~pays_all]
            np.subtract.at(self.budget_f, rich, beta_f * w)
            self.paid[:, r][rich] = w
        else:
            np.subtract.at(self.budget_f, rich, beta_f)
            self.paid[:, r][rich] = 1
        if not self.record:
            inst.paid_columns = r + 1
        new_d = math.lcm(self.D, beta.denominator)
        if new_d != self.D:
            factor = new_d // self.D
            self.betas_scaled = [x * factor for x in self.betas_scaled]
            self.b0_scaled *= factor
            self.D = new_d
        self.betas.append(beta)
        self.betas_scaled.append(beta.numerator * (self.D // beta.denominator))

    def record_round(self, p: int, beta: Fraction, pays_all: np.ndarray) -> None:
        """Keep who paid what for project p: the full price (`beta` per point), or all they had, which was less."""
        inst = self.inst
        voters = inst.supporters[p]
        weights = inst.weights[p] if inst.weighted else np.ones(len(voters), dtype=np.int64)
        gone = self.gone[voters]
        full = ~pays_all
        partial = pays_all & ~gone
        partial_paid: list[int] = []
        where = np.flatnonzero(partial)
        if len(where):
            groups, inverse = self.exact_groups(voters[where], weights[where])
            bound = beta * self.D
            for k, g in zip(where.tolist(), inverse.tolist(), strict=True):
                value, w, _ = groups[g]
                if value == bound * w:
                    full[k] = True
                    partial[k] = False
                else:
                    partial_paid.append(value)
        rich_weights = weights[full] if inst.weighted else None
        broke = int(np.count_nonzero(pays_all & gone))
        self.rounds.append(
            _Round(p, beta, voters[full], rich_weights, voters[partial], partial_paid, self.D, broke)
        )


class _Span:
    """How far a voter's share can rise above the share of a run before the run's outcome can change.

    Voters with the same ballot keep the same budget in every run, so they form one class. Along a run that
    picks the same projects in the same order, with the same supporters paying the full price or all they
    have, every budget, price and `rho` is an affine function of the share `b`. The outcome stays the same
    while every decision of the run keeps its sign: each winner's `rho` stays below that of every other
    affordable project (or equal, when the winner comes first in the tie-breaking order), each project's
    supporters stay on the same side of its price, and each unaffordable project stays short of its cost.
    `jump` replays a run exactly, finds the smallest increase of the share at which one of these may fail,
    and returns the number of whole units to the first share that has to be run again (at least 1).

    A replay costs a few runs. Where it finds the outcome changing within 2 units, the next replays are put
    off (1 share, then 2, 4... up to 64, stepping by one meanwhile); and elections with more than `LIMIT`
    pairs of a class and a project it supports always step by one. Either way the result is the same.
    """

    LIMIT = 1_000
    MAX_WAIT = 64

    def __init__(self, inst: _Instance, utility: Utility) -> None:
        self.inst = inst
        self.cost_utility = utility is Utility.COST
        candidates = inst.candidates
        ballots = np.zeros((inst.n, len(candidates)), dtype=inst.paid.dtype)  # voter x candidate: points
        for j, p in enumerate(candidates):
            ballots[inst.supporters[p], j] = inst.weights[p] if inst.weighted else 1
        ballots = ballots[ballots.any(axis=1)]
        rows = np.ascontiguousarray(ballots).view(np.dtype((np.void, ballots.itemsize * len(candidates))))
        _, first, counts = np.unique(rows, return_index=True, return_counts=True)
        classes = ballots[first]
        self.enabled = int(np.count_nonzero(classes)) <= self.LIMIT
        self.counts: list[int] = counts.tolist()
        self.members: dict[int, list[tuple[int, int]]] = {p: [] for p in candidates}
        self.lcm = 1
        if self.enabled:
            for k, row in enumerate(classes.tolist()):
                for j, w in enumerate(row):
                    if w:
                        self.members[candidates[j]].append((k, w))
            self.lcm = math.lcm(1, *(w for m in self.members.values() for _, w in m))
        self.wait = 0  # shares to step by one before the next replay
        self.pause = 0  # how many shares the last short jump put replays off by

    def jump(self, voter_budget: Number, selected: list[int]) -> int:
        """How many units to add to `voter_budget` to reach the first share whose outcome may differ from
        that of the run at `voter_budget` (which chose `selected`)."""
        if not self.enabled:
            return 1
        if self.wait:
            self.wait -= 1
            return 1
        t = self.span(Fraction(voter_budget), selected)
        units = 1 if t is None else max(1, math.ceil(t))
        if units <= 2:
            self.pause = min(self.MAX_WAIT, max(1, 2 * self.pause))
            self.wait = self.pause
        else:
            self.pause = 0
        return units

    def span(self, b: Fraction, selected: list[int]) -> Fraction | None:
        """The smallest increase of the share `b` at which the run choosing `selected` may change; None if
        nothing can change it.

        Exact, in integers: every budget and its rate of change with the share are numerators over a common
        denominator `D`, and a price (per point) is `(cost - spent) / (D * weight)`."""
        inst = self.inst
        counts = self.counts
        base = inst.cost_den
        D = math.lcm(base, b.denominator)
        budget = [b.numerator * (D // b.denominator)] * len(counts)  # each class's budget, times D
        rate = [D] * len(counts)  # its rate of change with the share, times D
        order = [p for p in selected if inst.costs[p] != 0]
        alive = sorted(inst.candidates, key=inst.place.__getitem__)
        first: tuple[int, int] | None = None  # the earliest failure found, as a fraction

        def keep(value: int, change: int) -> None:
            """`value + change * t` (value >= 0) must keep its sign as t grows from 0."""
            nonlocal first
            if change < 0 and (first is None or value * first[1] < first[0] * -change):
                first = (value, -change)

        for chosen in [*order, None]:
            # (rho numerator, rho denominator, rho rate numerator, project, ranked, poor, spent, spent rate, weight)
            priced = []
            for p in list(alive):
                members = self.members[p]
                cost_fraction = inst.cost_fractions[p]
                cost = cost_fraction.numerator * (D // cost_fraction.denominator)
                total = sum(budget[k] * counts[k] for k, _ in members)
                if total < cost:
                    keep(cost - total, -sum(rate[k] * counts[k] for k, _ in members))
                    alive.remove(p)
                    continue
                spent = spent_rate = 0
                weight = sum(counts[k] * w for k, w in members)
                ranked = sorted(members, key=lambda m: budget[m[0]] * (self.lcm // m[1]))
                poor = 0  # the first `poor` classes of `ranked` pay all they have
                for k, w in ranked:
                    if budget[k] * weight >= (cost - spent) * w:
                        break
                    spent += budget[k] * counts[k]
                    spent_rate += rate[k] * counts[k]
                    weight -= counts[k] * w
                    poor += 1
                # price = (cost - spent) / (D * weight), its rate -spent_rate / (D * weight)
                left = cost - spent
                for k, w in ranked[:poor]:  # below the price
                    keep(left * w - budget[k] * weight, -spent_rate * w - rate[k] * weight)
                for k, w in ranked[poor:]:  # at or above it
                    keep(budget[k] * weight - left * w, rate[k] * weight + spent_rate * w)
                # rho = left / den (times D for cardinality utilities, the same for every project)
                den = weight * cost if self.cost_utility else weight
                priced.append((left, den, -spent_rate, p, ranked, poor, left, spent_rate, weight))
            if not priced:
                break
            best = min(priced, key=lambda e: (Fraction(e[0], e[1]), inst.place[e[3]]))
            if chosen is None or best[3] != chosen:
                return Fraction(0)  # not the run that was given: run the next share
            num, den, num_rate, p, ranked, poor, left, spent_rate, weight = best
            for other_num, other_den, other_rate, q, *_ in priced:
                if q != p:
                    keep(other_num * den - num * other_den, other_rate * den - num_rate * other_den)
            # pay: everything over D * weight from now on
            budget = [x * weight for x in budget]
            rate = [x * weight for x in rate]
            D *= weight
            for k, _ in ranked[:poor]:
                budget[k] = rate[k] = 0
            for k, w in ranked[poor:]:
                budget[k] -= left * w
                rate[k] += spent_rate * w
            g = math.gcd(D // base, *budget, *rate)
            if g > 1:
                D //= g
                budget = [x // g for x in budget]
                rate = [x // g for x in rate]
            alive.remove(p)
        if chosen is not None:
            return Fraction(0)
        return None if first is None else Fraction(*first)


def _run(inst: _Instance, voter_budget: Number, utility: Utility, record: bool = False) -> _RunResult:
    return _Run(inst, voter_budget, utility, record).run()


def _exhaustive(inst: _Instance, selected: list[int], budget: Number, cost: Number) -> bool:
    chosen = set(selected)
    return all(p in chosen or cost + inst.costs[p] > budget for p in inst.candidates)


def equal_shares(
    election: Election,
    *,
    utility: Utility | str = Utility.COST,
    completion: Completion | str = Completion.ADD1,
    tie_breaking: TieBreaking | str = TieBreaking.OURS,
    rule: str | None = None,
) -> Outcome:
    """The Method of Equal Shares; see the module documentation for the variants."""
    utility = Utility(utility)
    completion = Completion(completion)
    tie_breaking = TieBreaking(tie_breaking)
    inst = _Instance(election, tie_breaking)
    budget = election.budget
    rule = rule or ("mes" if utility is Utility.COST else "mes-cardinality")
    if inst.n == 0:
        return _outcome(
            election, inst, rule, tie_breaking, _RunResult([], 0, []), 0, utility, completion, 0, 0
        )
    voter_budget: Number
    runs = 1
    if completion is Completion.NONE:
        voter_budget = normalize(Fraction(budget) / inst.n)
        steps = 1
    elif completion is Completion.ADD1:
        span = _Span(inst, utility)
        start = voter_budget = math.floor(Fraction(budget) / inst.n)
        result = _run(inst, voter_budget, utility)
        last = voter_budget  # the last share run
        while set(result.selected) != inst.supported:
            # every share below `following_budget` gives the same outcome, which fits the budget
            following_budget = voter_budget + span.jump(voter_budget, result.selected)
            following = _run(inst, following_budget, utility)
            runs += 1
            last = following_budget
            if following.cost > budget:
                voter_budget = following_budget - 1
                break
            result = following
            voter_budget = following_budget
        steps = last - start + 1
    else:
        span = _Span(inst, utility)
        start = voter_budget = normalize(Fraction(budget) / inst.n)
        result = _run(inst, voter_budget, utility)
        previous: Number | None = None
        last = voter_budget
        while True:
            if result.cost > budget:
                if previous is not None:
                    voter_budget = previous
                break
            if _exhaustive(inst, result.selected, budget, result.cost):
                break
            following_budget = normalize(voter_budget + span.jump(voter_budget, result.selected))
            previous = normalize(following_budget - 1)
            voter_budget = following_budget
            result = _run(inst, voter_budget, utility)
            runs += 1
            last = voter_budget
        steps = int(last - start) + 1
    final = _run(inst, voter_budget, utility, record=True)
    return _outcome(election, inst, rule, tie_breaking, final, voter_budget, utility, completion, steps, runs)


def _outcome(
    election: Election,
    inst: _Instance,
    rule: str,
    tie_breaking: TieBreaking,
    result: _RunResult,
    voter_budget: Number,
    utility: Utility,
    completion: Completion,
    steps: int,
    runs: int,
) -> Outcome:
    votes = election.votes
    explanations: dict[str, Explanation] = {}
    rounds = len(result.rounds)
    for p in inst.free:
        if p in result.selected:
            explanations[inst.ids[p]] = _win(inst, p, votes, 0, rounds, None, voter_budget)
    for number, rnd in enumerate(result.rounds, start=1):
        explanations[inst.ids[rnd.project]] = _win(
            inst, rnd.project, votes, number, rounds, rnd, voter_budget
        )
    for j, project_id in enumerate(inst.ids):
        if project_id in explanations:
            continue
        cost = inst.costs[j]
        if inst.weight_sum[j] == 0:
            explanations[project_id] = Explanation(project_id, False, Reason.NO_SUPPORT, {"cost": cost})
            continue
        explanations[project_id] = _loss(inst, j, votes[project_id], result, voter_budget)
    selected = tuple(inst.ids[p] for p in result.selected)
    return Outcome(
        rule=rule,
        tie_breaking=str(tie_breaking),
        budget=election.budget,
        selected=selected,
        cost=result.cost,
        explanations={p.id: explanations[p.id] for p in election.projects},
        details={
            "utility": str(utility),
            "completion": str(completion),
            "voter_budget": voter_budget,
            "steps": steps,
            "runs": runs,
            "rounds": rounds,
        },
    )


def _win(
    inst: _Instance,
    p: int,
    votes: dict[str, int],
    number: int,
    rounds: int,
    rnd: _Round | None,
    voter_budget: Number,
) -> Explanation:
    cost = inst.costs[p]
    beta = rnd.beta if rnd else Fraction(0)
    full_points = 0
    if rnd is not None:
        full_points = int(rnd.rich_weights.sum()) if rnd.rich_weights is not None else len(rnd.rich)
    params: dict[str, Param] = {
        "round": number,
        "rounds": rounds,
        "votes": votes[inst.ids[p]],
        "score": inst.weight_sum[p],
        "cost": cost,
        "price": normalize(beta),
        "effective_votes": normalize(Fraction(cost) / beta) if beta else None,
        "full_payers": len(rnd.rich) if rnd else 0,
        "full_points": full_points,
        "partial_payers": len(rnd.poor) if rnd else 0,
        "partial_amount": normalize(Fraction(sum(rnd.poor_paid), rnd.scale)) if rnd else 0,
        "broke": rnd.broke if rnd else 0,
        "voter_budget": voter_budget,
    }
    return Explanation(inst.ids[p], True, Reason.MES_SELECTED, params)


def _loss(inst: _Instance, j: int, votes: int, result: _RunResult, voter_budget: Number) -> Explanation:
    supporters = inst.supporters[j]
    mask = np.zeros(inst.n, dtype=bool)
    mask[supporters] = True
    run = result.run
    money_left = (
        normalize(Fraction(run.exact_sum(supporters), run.D))
        if run
        else normalize(voter_budget * len(supporters))
    )
    paid_to: list[tuple[str, Number]] = []
    for rnd in result.rounds:
        inside = mask[rnd.rich]
        if rnd.rich_weights is None:
            amount = rnd.beta * int(np.count_nonzero(inside))
        else:
            amount = rnd.beta * int(rnd.rich_weights[inside].sum())
        if len(rnd.poor):
            inside = np.flatnonzero(mask[rnd.poor]).tolist()
            amount += Fraction(sum(rnd.poor_paid[k] for k in inside), rnd.scale)
        if amount:
            paid_to.append((inst.ids[rnd.project], normalize(amount)))
    paid_to.sort(key=lambda item: -item[1])
    cost = inst.costs[j]
    return Explanation(
        inst.ids[j],
        False,
        Reason.MES_UNAFFORDABLE,
        {
            "votes": votes,
            "score": inst.weight_sum[j],
            "cost": cost,
            "money_left": money_left,
            "shortfall": normalize(cost - money_left),
            "spent": normalize(sum((a for _, a in paid_to), Fraction(0))),
            "paid_to": tuple(paid_to),
            "voter_budget": voter_budget,
        },
    )
