"""Budgets, the staff side: a process's budget screen from the staff hub, the pot, project and
infeasible, voting-dates and project-update forms, and the place picker of the pot form. Registered on the router only staff pass
(`handlers/budgets/__init__.py` guards `StaffCb` and the three forms' buttons with `guarded`)."""

from __future__ import annotations

from aiogram import F, Router

from bot.ui.budgets.staff import StaffAction as A
from bot.ui.budgets.staff import StaffCb, picker_back
from bot.ui.callbacks import HubCb
from bot.ui.places import picker_router
from handlers.budgets.staff import infeasible, pot_form, project_form, screens, update_form, voting_form
from handlers.budgets.staff.states import PotPlace

FORMS = (
    pot_form.POT_FORM, project_form.PROJECT_FORM, infeasible.INFEASIBLE_FORM, voting_form.VOTING_FORM,
    update_form.UPDATE_FORM,
)  # fmt: skip
FORM_NAMES = frozenset(form.name for form in FORMS)


def register(router: Router) -> Router:
    cb = router.callback_query.register
    cb(screens.listing, HubCb.filter(F.section == "budgets"))
    cb(screens.listing, StaffCb.filter(F.action == A.PROCESSES))
    cb(screens.process, StaffCb.filter(F.action == A.PROCESS))
    cb(screens.pot, StaffCb.filter(F.action == A.POT))
    cb(screens.project, StaffCb.filter(F.action == A.PROJECT))
    cb(screens.ideas, StaffCb.filter(F.action == A.IDEAS))
    cb(pot_form.start_new, StaffCb.filter(F.action == A.NEW_POT))
    cb(pot_form.start_edit, StaffCb.filter(F.action == A.EDIT_POT))
    cb(pot_form.places, StaffCb.filter(F.action == A.PLACES))
    cb(pot_form.places_back, StaffCb.filter(F.action == A.PLACES_BACK), PotPlace.district)
    cb(pot_form.places_back, StaffCb.filter(F.action == A.PLACES_BACK), PotPlace.neighborhood)
    cb(project_form.start_new, StaffCb.filter(F.action == A.NEW_PROJECT))
    cb(project_form.start_from_idea, StaffCb.filter(F.action == A.FROM_IDEA))
    cb(project_form.start_edit, StaffCb.filter(F.action == A.EDIT_PROJECT))
    cb(infeasible.start, StaffCb.filter(F.action == A.INFEASIBLE))
    cb(voting_form.start, StaffCb.filter(F.action == A.VOTING))
    cb(update_form.start, StaffCb.filter(F.action == A.UPDATE))
    router.include_router(
        picker_router(
            "budgets.staff", PotPlace.district, PotPlace.neighborhood, pot_form.place_chosen, picker_back
        )
    )
    for form in FORMS:
        router.include_router(form.make_router())
    return router
