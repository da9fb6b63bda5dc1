"""The rules of ideas, as data and pure predicates: statuses, which decision moves an idea from which
status to which, and who may do what. The keyboards show a button exactly when the predicate allows the
action, and the services enforce the same predicate (a decision is a conditional update on `DECISIONS`).
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from bot.i18n import N_

TITLE_MIN, TITLE_MAX = 3, 120
DESCRIPTION_MIN, DESCRIPTION_MAX = 10, 2000
REASON_MIN, REASON_MAX = 3, 500

PENDING, APPROVED, REJECTED, MERGED, PROJECT, WITHDRAWN, HIDDEN = (
    "pending",
    "approved",
    "rejected",
    "merged",
    "project",
    "withdrawn",
    "hidden",
)
VISIBLE = (APPROVED, PROJECT)  # what residents can browse
SCOPE_NEIGHBORHOOD, SCOPE_CITY = "neighborhood", "city"
SCOPES = (SCOPE_NEIGHBORHOOD, SCOPE_CITY)

# flood control: at most this many ideas from one resident in this span, whatever the process
FLOOD_COUNT, FLOOD_SPAN = 3, timedelta(minutes=10)

CATEGORY = "ideas"  # the notification category of decisions on a person's ideas


class Decision(StrEnum):
    """What staff can decide about an idea."""

    APPROVE = "approve"
    REJECT = "reject"
    HIDE = "hide"
    UNHIDE = "unhide"
    PROJECT = "project"
    MERGE = "merge"
    EDIT = "edit"  # title, description, theme


# decision → (the statuses it applies to, the status it leads to; None: the status stays)
DECISIONS: dict[Decision, tuple[tuple[str, ...], str | None]] = {
    Decision.APPROVE: ((PENDING,), APPROVED),
    Decision.REJECT: ((PENDING,), REJECTED),
    Decision.HIDE: ((PENDING, APPROVED), HIDDEN),
    Decision.UNHIDE: ((HIDDEN,), APPROVED),
    Decision.PROJECT: ((APPROVED,), PROJECT),
    Decision.MERGE: ((PENDING, APPROVED), MERGED),
    Decision.EDIT: ((PENDING, APPROVED), None),
}
MERGE_TARGETS = (PENDING, APPROVED)  # an idea may be merged into a published or a pending duplicate


def can_decide(decision: Decision, status: str) -> bool:
    return status in DECISIONS[decision][0]


def decisions_for(status: str) -> list[Decision]:
    """The decisions staff may take on an idea in `status`, in the order the card shows them."""
    return [d for d in Decision if can_decide(d, status)]


def can_support(status: str, *, is_author: bool) -> bool:
    """A published idea can be supported by anyone but its author."""
    return status == APPROVED and not is_author


def can_withdraw(status: str, *, is_author: bool) -> bool:
    """An author can withdraw their idea while it waits for review."""
    return status == PENDING and is_author


def can_read(status: str, *, is_author: bool) -> bool:
    """Residents read published ideas (and projects); an author always reads their own."""
    return status in VISIBLE or is_author


def can_merge_into(status: str, target_status: str, same_process: bool, same_idea: bool) -> bool:
    return (
        can_decide(Decision.MERGE, status)
        and target_status in MERGE_TARGETS
        and same_process
        and not same_idea
    )


def takes_part(process_neighborhood_id: int | None, resident_neighborhood_id: int | None) -> bool:
    """Who may take part in a process: everyone for a citywide one, its neighborhood's residents else."""
    return process_neighborhood_id is None or process_neighborhood_id == resident_neighborhood_id


REJECT_REASONS: dict[str, str] = {
    "duplicate": N_("It repeats an idea already shared."),
    "remit": N_("It is outside what the municipality can do."),
    "vague": N_("It is not specific enough to act on."),
    "scope": N_("It does not fit this process."),
    "conduct": N_("It breaks the participation rules (personal, offensive or commercial content)."),
}
HIDE_REASONS: dict[str, str] = {
    "conduct": N_("It breaks the participation rules (personal, offensive or commercial content)."),
    "personal": N_("It shares someone's personal data."),
    "spam": N_("It is advertising or spam."),
}

STATUS_LABELS: dict[str, str] = {
    PENDING: N_("waiting for review"),
    APPROVED: N_("published"),
    REJECTED: N_("not accepted"),
    MERGED: N_("merged"),
    PROJECT: N_("became a project"),
    WITHDRAWN: N_("withdrawn"),
    HIDDEN: N_("hidden"),
}
