"""The tiny in-memory service and the words every candidate shows, so that only the form layer differs.

Each implementation (``dialog_impl``, ``scene_impl``, ``inhouse_impl``) builds the same idea form and the
same paged idea list over this module: the themes, about 200 published ideas, the field rules, a
``submit`` that records the draft, and the texts and button labels (which the benchmark's people and the
behaviour checks look for). None of this is counted in the lines of code of a candidate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import Any

PAGE_SIZE = 5
IDEA_COUNT = 200

# ---- the steps of the idea form, in order ------------------------------------------------------------

STEPS = ("theme", "title", "description", "photo", "location", "scope")

PROMPTS = {
    "theme": "Which theme does your idea belong to?",
    "title": "Give your idea a short title (3 to 80 characters).",
    "description": "Describe your idea: what should change, where, and why.",
    "photo": "Send a photo of the place or of your idea, or press Skip.",
    "location": "Share the location of the place (📎 → Location), or press Skip.",
    "scope": "Is your idea for your neighborhood or for the whole city?",
}
FIELD_LABELS = {
    "theme": "🏷 Theme",
    "title": "📝 Title",
    "description": "📄 Description",
    "photo": "🖼 Photo",
    "location": "📌 Location",
    "scope": "🌆 Neighborhood or city",
}
HEADER = "✍️ <b>New idea</b>"
EDIT_MENU = "What would you like to change?"
PREVIEW_HEAD = "👀 <b>Your idea</b>"
CANCELLED = "Cancelled. Nothing was saved."
STALE = "This button is out of date."
WRONG_INPUT = "Please answer the question above, or press a button."

BACK = "« Back"
SKIP = "Skip ⏭"
CANCEL = "✖️ Cancel"
SEND = "📨 Send"
EDIT = "✏️ Edit"
TO_PREVIEW = "« Back to the preview"
PREV = "« Prev"
NEXT = "Next »"
TO_LIST = "« Back to the list"

SCOPES = {"neighborhood": "🏘 My neighborhood", "city": "🌆 The whole city"}


class Invalid(ValueError):
    """A typed answer that breaks a field's rule; ``str(error)`` is what to tell the person."""


def clean_title(text: str) -> str:
    title = " ".join(text.split())
    if len(title) < 3:
        raise Invalid("The title is too short: please use at least 3 characters.")
    if len(title) > 80:
        raise Invalid("The title is too long: please keep it to 80 characters.")
    return title


def clean_description(text: str) -> str:
    description = text.strip()
    if len(description) < 10:
        raise Invalid("The description is too short: please use at least 10 characters.")
    if len(description) > 1000:
        raise Invalid("The description is too long: please keep it to 1000 characters.")
    return description


# ---- the data ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Theme:
    id: int
    name: str


@dataclass(frozen=True)
class Idea:
    id: int
    title: str
    theme_id: int
    supporters: int


THEME_NAMES = ("Parks", "Streets", "Culture", "Sports", "Environment", "Children")


@dataclass
class Service:
    """Themes, published ideas and the drafts sent, all in memory."""

    themes: tuple[Theme, ...] = tuple(Theme(i + 1, name) for i, name in enumerate(THEME_NAMES))
    ideas: tuple[Idea, ...] = tuple(
        Idea(i + 1, f"Idea number {i + 1} for the city", i % 6 + 1, (i * 37) % 120) for i in range(IDEA_COUNT)
    )
    sent: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    def theme(self, theme_id: int) -> Theme | None:
        return next((t for t in self.themes if t.id == theme_id), None)

    def idea(self, idea_id: int) -> Idea | None:
        return self.ideas[idea_id - 1] if 0 < idea_id <= len(self.ideas) else None

    def pages(self, size: int = PAGE_SIZE) -> int:
        return max(1, -(-len(self.ideas) // size))

    def page(self, number: int, size: int = PAGE_SIZE) -> tuple[Idea, ...]:
        """Page ``number`` (from 0) of the published ideas."""
        return self.ideas[number * size : (number + 1) * size]

    def submit(self, user_id: int, draft: dict[str, Any]) -> int:
        """Record a complete draft; the new idea's number."""
        missing = [
            name for name in ("theme", "title", "description", "scope") if draft.get(name) in (None, "")
        ]
        if missing:
            raise Invalid(f"The draft misses {', '.join(missing)}.")
        self.sent.append((user_id, dict(draft)))
        return len(self.ideas) + len(self.sent)


SERVICE = Service()


# ---- rendering shared by the candidates --------------------------------------------------------------


def step_line(step: str) -> str:
    return f"Step {STEPS.index(step) + 1} of {len(STEPS)}"


def prompt_text(step: str) -> str:
    return f"{HEADER}\n{step_line(step)}\n{PROMPTS[step]}"


def preview_text(draft: dict[str, Any]) -> str:
    theme = SERVICE.theme(int(draft.get("theme") or 0))
    lines = [
        PREVIEW_HEAD,
        f"🏷 {escape(theme.name) if theme else '—'}",
        f"<b>{escape(str(draft.get('title') or '—'))}</b>",
        escape(str(draft.get("description") or "—")),
        "🖼 photo attached" if draft.get("photo") else "🖼 no photo",
        "📌 {:.4f}, {:.4f}".format(*draft["location"]) if draft.get("location") else "📌 no location",
        SCOPES.get(str(draft.get("scope")), "—"),
    ]
    return "\n".join(lines)


def thanks_text(number: int) -> str:
    return f"📨 Thank you! Your idea is number <b>#{number}</b>."


def list_text(page: int, pages: int) -> str:
    return f"🔎 <b>Ideas</b> · page {page + 1} of {pages}"


def idea_label(idea: Idea) -> str:
    return f"#{idea.id} {idea.title} · 👍 {idea.supporters}"


def idea_text(idea: Idea) -> str:
    theme = SERVICE.theme(idea.theme_id)
    return (
        f"💡 <b>Idea #{idea.id}</b>\n<b>{escape(idea.title)}</b>\n"
        f"🏷 {escape(theme.name) if theme else '—'} · 👍 {idea.supporters}"
    )


HELLO = "Hello! /new shares an idea, /ideas browses them, /cancel stops a form."
