"""The rules of a budget ballot, as data and pure predicates (no database, no aiogram).

A ballot is a cart (Decidim's model): a resident puts projects in and takes them out, and every tick is
checked against the pot's limits; confirming checks the limits a cart can only meet once it is full
enough (at least n projects, at least a share of the budget). The keyboards show a button exactly when
the predicate here allows the action, and the services enforce the same predicate.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.services.errors import DomainError

KNAPSACK, APPROVAL, CUMULATIVE = "knapsack", "approval", "cumulative"
BALLOT_KINDS = (KNAPSACK, APPROVAL)  # CUMULATIVE: only imported from Pabulib, not offered in the chat
CITY, DISTRICT, NEIGHBORHOOD = "city", "district", "neighborhood"
SCOPES = (CITY, DISTRICT, NEIGHBORHOOD)
GREEDY, GREEDY_THRESHOLD, TOP_K, MES = "greedy", "greedy-threshold", "top-k", "mes"
COUNTING_RULES = (GREEDY, GREEDY_THRESHOLD, TOP_K, MES)
PROPOSED, INFEASIBLE, SELECTED = "proposed", "infeasible", "selected"
ON_BALLOT = (PROPOSED, SELECTED)  # what a resident can choose (SELECTED once results are published)
VOTING = "voting"
RECEIPT_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L
RECEIPT_LENGTH = 8


# --- refusals --------------------------------------------------------------------------------------


class BudgetError(DomainError):
    """A ballot action that cannot be done; the UI's error table says why."""


class VotingNotOpen(BudgetError):
    """The process's voting phase is not current: `state` upcoming/closed (None: no voting phase)."""

    def __init__(self, state: str | None, at: datetime | None = None) -> None:
        super().__init__(f"voting is {state or 'not set up'}")
        self.state, self.at = state, at


class NotYourPot(BudgetError):
    """The pot does not exist, or is for another neighborhood or district."""


class NotOnBallot(BudgetError):
    """The project is not on this pot's ballot (another pot's, infeasible, gone)."""


class NoNumbers(BudgetError):
    """A message typed as a list of project numbers holds none (or far more than any ballot)."""


class UnknownNumbers(BudgetError):
    """Typed project numbers that are not on this pot's ballot, as typed."""

    def __init__(self, numbers: Iterable[str]) -> None:
        self.numbers = tuple(numbers)
        super().__init__(f"not on the ballot: {', '.join(self.numbers)}")


class OverBudget(BudgetError):
    def __init__(self, total: int, budget: int) -> None:
        super().__init__(f"{total} > {budget}")
        self.total, self.budget = total, budget


class TooMany(BudgetError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} projects")
        self.limit = limit


class TooFew(BudgetError):
    def __init__(self, limit: int, count: int) -> None:
        super().__init__(f"at least {limit} projects")
        self.limit, self.count = limit, count


class UnderShare(BudgetError):
    """A knapsack ballot must use at least `share` percent of the budget: `needed` in money."""

    def __init__(self, share: int, needed: int, total: int) -> None:
        super().__init__(f"at least {share}% of the budget")
        self.share, self.needed, self.total = share, needed, total


# --- the limits ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """A pot's ballot rules, as plain values."""

    kind: str
    budget: int
    min_projects: int | None = None
    max_projects: int | None = None
    min_share: int | None = None  # percent
    approval_limit: int | None = None

    @property
    def most(self) -> int | None:
        """The most projects a ballot may hold (approval ballots: the approval limit too)."""
        found = [n for n in (self.max_projects, self.approval_limit if self.kind == APPROVAL else None) if n]
        return min(found) if found else None

    @property
    def least(self) -> int:
        return self.min_projects or 0

    @property
    def counts_money(self) -> bool:
        return self.kind == KNAPSACK

    def min_total(self) -> int:
        """The least a knapsack ballot must spend (0 without a minimum share): rounded up."""
        if not self.counts_money or not self.min_share:
            return 0
        return -(-self.budget * self.min_share // 100)


@dataclass(frozen=True)
class Cart:
    """What a draft holds: the count and the total cost."""

    count: int
    total: int

    @classmethod
    def of(cls, costs: Iterable[int]) -> Cart:
        values = list(costs)
        return cls(len(values), sum(values))


def refusal_to_add(limits: Limits, cart: Cart, cost: int) -> BudgetError | None:
    """Why a project of `cost` cannot join the cart (None: it can)."""
    most = limits.most
    if most is not None and cart.count + 1 > most:
        return TooMany(most)
    if limits.counts_money and cart.total + cost > limits.budget:
        return OverBudget(cart.total + cost, limits.budget)
    return None


def can_add(limits: Limits, cart: Cart, cost: int) -> bool:
    return refusal_to_add(limits, cart, cost) is None


# A typed list of project numbers: "217, 1711 1794;569". Numbers are the projects' codes (a Pabulib
# file's project ids, or 1, 2, 3… for projects staff add), shown before each project's name.
_NUMBER_SEPARATORS = re.compile(r"[\s,;]+")
MOST_TYPED = 100  # numbers read from one message; no ballot here holds more


def typed_numbers(text: str) -> tuple[str, ...]:
    """The project numbers in a typed message, in order, each once; "#" or "№" before one and a full
    stop after it are dropped. A message with no digit, or with more than `MOST_TYPED`, is `NoNumbers`."""
    found = [token.lstrip("#№").rstrip(".") for token in _NUMBER_SEPARATORS.split(text.strip())]
    numbers = tuple(dict.fromkeys(token for token in found if token))
    if not numbers or len(numbers) > MOST_TYPED or not any(c.isdigit() for n in numbers for c in n):
        raise NoNumbers("no project numbers typed")
    return numbers


def refusal_of_list(limits: Limits, cart: Cart) -> BudgetError | None:
    """Why a whole list, typed at once, cannot be the draft (None: it can). Only the limits that a
    tick checks: the others (at least n projects, a share of the budget) are for confirming."""
    most = limits.most
    if most is not None and cart.count > most:
        return TooMany(most)
    if limits.counts_money and cart.total > limits.budget:
        return OverBudget(cart.total, limits.budget)
    return None


def refusal_to_confirm(limits: Limits, cart: Cart) -> BudgetError | None:
    """Why the cart cannot be confirmed as it is (None: it can). Every limit, including those a tick
    already checks: the cart may come from a form days old, or from forged data."""
    over = refusal_of_list(limits, cart)
    if over is not None:
        return over
    if cart.count < max(limits.least, 1):
        return TooFew(max(limits.least, 1), cart.count)
    needed = limits.min_total()
    if cart.total < needed:
        return UnderShare(limits.min_share or 0, needed, cart.total)
    return None


def can_confirm(limits: Limits, cart: Cart) -> bool:
    return refusal_to_confirm(limits, cart) is None


def open_to(
    scope: str,
    district_id: int | None,
    neighborhood_id: int | None,
    resident_neighborhood: int | None,
    resident_district: int | None,
) -> bool:
    """Whose pot it is: the city's is everyone's, a district's its residents', a neighborhood's its own."""
    if scope == CITY:
        return True
    if scope == DISTRICT:
        return district_id is not None and district_id == resident_district
    return neighborhood_id is not None and neighborhood_id == resident_neighborhood


# --- setting up (staff) ----------------------------------------------------------------------------

AMOUNT_MAX = 10**13  # whole currency units: far above any city's budget, far below BIGINT
NOTE_MAX, REASON_MIN, REASON_MAX, TEXT_MAX, NAME_MAX = 1000, 3, 500, 1000, 120
_GROUPED = re.compile(r"^\d{1,3}(?:(?P<sep>[.,' ])\d{3})(?:(?P=sep)\d{3})*$")  # 5.000.000, 5,000,000
_CURRENCY = re.compile(r"(?i)(₺|tl|try|€|eur|\$|usd)")


class VotingStarted(BudgetError):
    """A pot's rules or its projects cannot change once its process's voting phase has begun."""


class BadAmount(BudgetError):
    """A typed amount that is not a whole number of currency units: `problem` format / small / large."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def parse_amount(text: str, minimum: int = 1) -> int:
    """A typed amount of whole currency units: "5000000", "5.000.000", "5,000,000", "5 000 000",
    "₺5.000.000" or "5.000.000 TL". Decimals ("5,5") and mixed separators are refused as unreadable,
    not guessed."""
    cleaned = _CURRENCY.sub("", text or "").replace("\u00a0", " ").replace("\u202f", " ").strip()
    if not cleaned.isascii():
        raise BadAmount("format")
    if cleaned.isdigit():
        value = int(cleaned)
    elif _GROUPED.match(cleaned):
        value = int(re.sub(r"\D", "", cleaned))
    else:
        raise BadAmount("format")
    if value < minimum:
        raise BadAmount("small")
    if value > AMOUNT_MAX:
        raise BadAmount("large")
    return value


def can_edit(voting_state: str | None) -> bool:
    """Whether staff may change a pot's rules and projects: until its process's voting phase begins
    (no voting phase yet, or one still to come)."""
    return voting_state in (None, "upcoming")


# --- verification: one person, one ballot, as strictly as the process asks -------------------------

NONE, PHONE, CODE = "none", "phone", "code"
VERIFICATION_LEVELS = (NONE, PHONE, CODE)
CODE_ALPHABET = RECEIPT_ALPHABET  # no 0/O, 1/I/L: codes are read off paper and typed on a phone
CODE_LENGTH = 10  # printed as two groups of five: 31^10 ≈ 8·10^14 codes
MAX_WRONG_CODES, WRONG_CODES_WINDOW_MINUTES = 5, 10


def must_verify(level: str, verified: bool) -> bool:
    """Whether the person must verify before they may see or confirm a ballot of a process of this
    level. The one predicate behind the prompt on opening a pot and the refusal at every ballot action."""
    return level in (PHONE, CODE) and not verified


def own_contact(contact_user_id: int | None, sender_id: int | None) -> bool:
    """A shared contact proves a phone number only when it is the sender's own (Telegram fills
    `user_id` for the sender's own contact shared with the request_contact button)."""
    return contact_user_id is not None and sender_id is not None and contact_user_id == sender_id


def normalise_phone(phone: str) -> str | None:
    """A phone number as digits only, with its country code (Telegram sends "905551112233", some
    clients "+90 555 111 22 33"); None when it cannot be one (E.164: 8 to 15 ASCII digits, nothing but
    "+", spaces, dashes, dots and brackets around them)."""
    if any(not (c.isascii() and c.isdigit()) and c not in " +-().\u00a0" for c in phone):
        return None
    digits = "".join(c for c in phone if c.isdigit())
    return digits if 8 <= len(digits) <= 15 else None


def normalise_code(typed: str) -> str | None:
    """A typed one-time code: upper case, spaces and dashes dropped; None when it cannot be a code."""
    code = "".join(c for c in typed.upper() if c not in " -\u00a0\t")
    if len(code) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in code):
        return None
    return code


def can_make_codes(level: str, voting_state: str | None) -> bool:
    """Staff make one-time codes for a process at the code level whose voting has not closed."""
    return level == CODE and voting_state != "closed"


def can_change_level(voting_state: str | None, ballots: int) -> bool:
    """Staff may change a process's verification level until its voting begins (no ballot yet)."""
    return voting_state in (None, "upcoming") and ballots == 0


class NotVerified(BudgetError):
    """The process asks for verification (`level`) and this person has not verified yet."""

    def __init__(self, level: str) -> None:
        super().__init__(f"verification {level} needed")
        self.level = level


class NotOwnContact(BudgetError):
    """A contact that is not the sender's own (someone else's, or one without a Telegram user)."""


class BadPhone(BudgetError):
    """A contact whose number cannot be a phone number."""


class PhoneTaken(BudgetError):
    """The phone number already verified another account in this process."""


class AlreadyVerified(BudgetError):
    """This person has verified in this process already (a code would be wasted)."""


class CodeRefused(BudgetError):
    """A wrong or used one-time code; `left` tries before the person must wait."""

    def __init__(self, used: bool, left: int) -> None:
        super().__init__("code already used" if used else "wrong code")
        self.used, self.left = used, left


class TooManyTries(BudgetError):
    """Too many wrong codes lately: wait `minutes`."""

    def __init__(self, minutes: int) -> None:
        super().__init__(f"too many wrong codes; wait {minutes} min")
        self.minutes = minutes


class NoCodes(BudgetError):
    """Codes are made only for a process at the code level whose voting has not closed."""


class LevelLocked(BudgetError):
    """The verification level cannot change once voting has begun."""
