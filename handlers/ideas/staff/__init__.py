"""Ideas, the staff side: the review queue (one idea per card), decisions, merges, edits and the author.

One module per flow; each has its `handlers`, registered here on the router that only staff pass
(`handlers/ideas/__init__.py` guards it with `guarded("ideas.staff", callbacks=(ModCb,))`). Each decision
is a conditional update in the service: of two staff members deciding at once, one wins, and the other's
card is refreshed with the reason.
"""

from __future__ import annotations

from aiogram import Router

from handlers.ideas.staff import author, common, decide, edit, merge, queue, reasons

FLOWS = (queue, decide, reasons, merge, edit, author, common)  # common last: its catch-all for forms


def register(router: Router) -> Router:
    for flow in FLOWS:
        flow.handlers.register(router)
    return router
