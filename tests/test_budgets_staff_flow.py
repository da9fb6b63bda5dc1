"""Budgets, the staff side, through the sandbox in English and Turkish: a pot created by conversation
with its preview in both languages (an unreadable budget refused with its reason), an approved idea
turned into a project from its card or from the pot's screen (its author and a supporter told, each in
their language), a project marked infeasible with a typed reason (the author told), a project edited
from its preview (title, cost, place) and the edit refused once voting has begun, a resident's forged
staff buttons refused, and editing refused once voting has begun, as adding a project is (by the form sent
late, and by buttons that are gone: the pot's and the idea card's).

The new sentences are not in the catalogs yet, so labels and texts are looked up with
`translate(msgid, lang)`: the tests read the same words people see in either language today and after
the catalogs are filled."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.app import Meydan
from bot.i18n import translate
from bot.services import budgets, geography, ideas, processes
from bot.services.budgets import staff as budget_staff
from bot.services.ideas.moderation import NOTICES
from bot.ui.budgets.staff import StaffAction, StaffCb
from bot.ui.forms import FormCb
from storage.models import AuditEntry, BudgetPot, BudgetProject, Idea, ProcessPhase, utcnow
from tests.conftest import STAFF_ID
from tests.flows import onboard
from tests.test_ideas_flow import DESCRIPTION, _seed_idea

NAMES = {"tr": "Katılımcı Bütçe", "en": "Participatory Budget"}


async def _process(meydan: Meydan, *, voting_in_days: int = 5) -> int:
    """A budgeting process whose voting phase begins in `voting_in_days` (negative: it has begun)."""
    now = utcnow()
    async with meydan.sessions.begin() as session:
        process = await processes.create(
            session,
            key="butce",
            names=NAMES,
            opens_at=now - timedelta(days=30),
            closes_at=now - timedelta(days=20),
        )
        start = now + timedelta(days=voting_in_days)
        await processes.set_phase(session, process, "voting", start, start + timedelta(days=10))
        return process.id


async def _pot(meydan: Meydan, process_id: int) -> int:
    async with meydan.sessions.begin() as session:
        process = await processes.get(session, process_id)
        pot = await budgets.create_pot(session, process, names={"tr": "Şehir bütçesi", "en": "City budget"},
                                       budget=5_000_000, max_projects=5)  # fmt: skip
        return pot.id


async def _audit(meydan: Meydan) -> list[str]:
    async with meydan.sessions() as session:
        return list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


async def press(person, label: str, lang: str, **extra):  # noqa: ANN001, ANN003, ANN201
    answer = await person.press(translate(label, lang), **extra)
    assert answer.answered, f"{label!r} was not answered"
    return answer


async def _staff(sandbox, lang: str):  # noqa: ANN001, ANN202
    staff = await onboard(sandbox, name="Selin", lang=lang, person_id=STAFF_ID)
    await staff.say("/admin")
    return staff


async def _open_process(staff, lang: str) -> None:  # noqa: ANN001
    await press(staff, "💰 Budgets", lang)
    await staff.press(f"📅 {NAMES[lang]}")


@pytest.mark.parametrize("lang", ["en", "tr"])
async def test_create_a_pot_with_a_preview_in_both_languages(meydan: Meydan, sandbox, lang: str) -> None:  # noqa: ANN001
    await _process(meydan)
    staff = await _staff(sandbox, lang)
    await _open_process(staff, lang)
    screen = await staff.last_message()
    assert translate("No pots yet.", lang) in screen.text and translate("not open yet", lang) in screen.text
    await press(staff, "➕ New pot", lang)
    await staff.say("Kazımdirik bütçesi")
    await staff.say("Kazımdirik budget")
    await press(staff, "🏘 One neighborhood", lang)
    if lang == "en":  # the place picker
        await press(staff, "🗺 Choose from the list", lang)
        kept = await staff.say("Kazımdirik")
        assert "Kazımdirik, Bornova" in kept.text
        await press(staff, "Continue »", lang)
    else:  # or the name typed at the step
        await staff.say("Kazımdirik")
    refused = await staff.say("5.000,000")
    assert translate(
        "I could not read that as an amount: type whole units with digits only, or with . or , between "
        "thousands, like {example} or 5000000.", lang, example="₺5.000.000" if lang == "tr" else "₺5,000,000",
    ) == refused.text  # fmt: skip
    await staff.say("2.500.000" if lang == "tr" else "2,500,000")
    await press(staff, "knapsack: projects up to the budget", lang)
    await press(staff, "No minimum", lang)
    await staff.press("5")
    await staff.press("50")
    if lang == "en":
        await press(staff, "Top-k: the k most voted", lang)
        preview = await staff.say("3")
    else:
        await press(staff, "Equal shares", lang)
        preview = await staff.last_message()
    text = preview.text
    assert "Kazımdirik bütçesi" in text and "Kazımdirik budget" in text  # both languages
    assert "₺2.500.000" in text and "₺2,500,000" in text  # each in its own money format
    assert translate("At most {count} projects.", "tr", count=5) in text
    assert translate("At most {count} projects.", "en", count=5) in text
    async with meydan.sessions() as session:
        assert await session.scalar(select(BudgetPot.id)) is None  # nothing before Send
    await press(staff, "📨 Send", lang)
    assert translate("✅ The pot is saved.", lang) in (await staff.last_message()).text
    async with meydan.sessions() as session:
        pot = await session.scalar(select(BudgetPot))
        hood = await geography.by_keys(session, "bornova", "kazimdirik")
    assert (pot.scope, pot.neighborhood_id, pot.budget) == (budgets.NEIGHBORHOOD, hood.id, 2_500_000)
    assert (pot.max_projects, pot.min_projects, pot.min_share) == (5, None, 50)
    assert (pot.rule, pot.rule_param) == (
        (budgets.rules.TOP_K, 3) if lang == "en" else (budgets.rules.MES, None)
    )
    assert pot.names == {"tr": "Kazımdirik bütçesi", "en": "Kazımdirik budget"}
    assert (await _audit(meydan)).count("budget.pot") == 1


@pytest.mark.parametrize(("lang", "route"), [("en", "card"), ("tr", "pot")])
async def test_an_approved_idea_becomes_a_project_and_its_people_are_told(
    meydan: Meydan,
    sandbox,
    lang: str,
    route: str,  # noqa: ANN001
) -> None:
    process_id = await _process(meydan)
    pot_id = await _pot(meydan, process_id)
    author = await onboard(sandbox, name="Ayşe", lang="tr")
    fan = await onboard(sandbox, name="John", lang="en", district="Bornova", neighborhood="Kazımdirik")
    idea_id = await _seed_idea(meydan, process_id, "Parka bank", author_tg=author.id, supporters=(fan.id,))
    staff = await _staff(sandbox, lang)
    if route == "card":
        await press(staff, "✅ Published ideas", lang)
        await staff.press(f"#{idea_id}")
        await press(staff, "🏗 Turn into a project", lang)
    else:
        await _open_process(staff, lang)
        await staff.press("Şehir bütçesi" if lang == "tr" else "City budget")
        await press(staff, "💡 From an approved idea", lang)
        await staff.press(f"#{idea_id}")
    await staff.press("📋")  # the English title copied from the Turkish one
    await staff.say("Benches under the trees of the children's park.")
    refused = await staff.say("iki yüz bin")
    assert {"tr": "tutar olarak okuyamadım", "en": "I could not read that as an amount"}[lang] in refused.text
    await staff.say("250.000")
    preview = await staff.say("Parks department: the ground is the municipality's.")
    assert "Parka bank" in preview.text and DESCRIPTION in preview.text
    assert (
        "Benches under the trees" in preview.text
        and ("₺250.000" if lang == "tr" else "₺250,000") in preview.text
    )
    await press(staff, "📨 Send", lang)
    async with meydan.sessions() as session:
        project = await session.scalar(select(BudgetProject))
        idea = await session.get(Idea, idea_id)
    assert (project.pot_id, project.idea_id, project.cost) == (pot_id, idea_id, 250_000)
    assert project.titles == {"tr": "Parka bank", "en": "Parka bank"}
    assert project.summaries["en"] == "Benches under the trees of the children's park."
    assert project.note == "Parks department: the ground is the municipality's."
    assert idea.status == ideas.PROJECT
    told = await author.last_message()
    assert told.text == translate(NOTICES[ideas.PROJECT], "tr", number=idea_id, title="Parka bank")
    told = await fan.last_message()
    assert told.text == translate(
        budget_staff.SUPPORTER_NOTICE, "en", number=idea_id, title="Parka bank", project="Parka bank"
    )
    assert told.inline_keyboard  # a button to the idea
    actions = await _audit(meydan)
    assert actions.count("budget.project") == 1 and "idea.project" not in actions  # audited once


@pytest.mark.parametrize("lang", ["tr", "en"])
async def test_a_project_marked_infeasible_with_a_reason_told_to_the_author(
    meydan: Meydan, sandbox, lang: str
) -> None:  # noqa: ANN001, E501
    process_id = await _process(meydan)
    pot_id = await _pot(meydan, process_id)
    author = await onboard(sandbox, name="John", lang="en", district="Bornova", neighborhood="Kazımdirik")
    idea_id = await _seed_idea(
        meydan, process_id, "Seaside lights", author_tg=author.id, status=ideas.PROJECT
    )
    async with meydan.sessions.begin() as session:
        pot = await session.get(BudgetPot, pot_id)
        made = await budgets.add_project(session, pot, titles={"tr": "Sahil ışıkları", "en": "Seaside lights"},
                                         cost=300_000, idea_id=idea_id)  # fmt: skip
    staff = await _staff(sandbox, lang)
    await _open_process(staff, lang)
    await staff.press("Şehir bütçesi" if lang == "tr" else "City budget")
    await staff.press("Sahil ışıkları" if lang == "tr" else "Seaside lights")
    await press(staff, "🚫 Mark infeasible", lang)
    refused = await staff.say("no")
    assert refused.text == translate(
        "Please type a reason of {min} to {max} characters.", lang, min=3, max=500
    )
    reason = "The seafront belongs to the state railways."
    preview = await staff.say(reason)
    assert reason in preview.text
    await press(staff, "📨 Send", lang)
    told = await author.last_message()
    assert told.text == translate(
        budget_staff.INFEASIBLE_NOTICE, "en", number=idea_id, title="Seaside lights", reason=reason
    )
    async with meydan.sessions() as session:
        row = await session.get(BudgetProject, made.id)
        assert (row.status, row.status_reason) == (budgets.INFEASIBLE, reason)
        assert made.id not in [p.id for p in await budgets.projects_of(session, pot_id)]  # not on the ballot
    assert (await _audit(meydan)).count("budget.project.infeasible") == 1


async def test_a_resident_pressing_forged_staff_buttons_is_refused(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    process_id = await _process(meydan)
    pot_id = await _pot(meydan, process_id)
    idea_id = await _seed_idea(meydan, process_id, "Parka bank", author_tg=100_000_321)
    john = await onboard(sandbox, name="John", lang="en")
    message = await john.last_message()
    only_staff = "This is for the municipality's staff only."
    forged = [
        StaffCb(action=StaffAction.NEW_POT, id=process_id).pack(),
        StaffCb(action=StaffAction.EDIT_POT, id=pot_id).pack(),
        StaffCb(action=StaffAction.FROM_IDEA, id=idea_id, pot=pot_id).pack(),
        FormCb(form="pot", step="_preview", action="send").pack(),
        FormCb(form="project", step="_preview", action="send").pack(),
        StaffCb(action=StaffAction.EDIT_PROJECT, id=1).pack(),
    ]
    for data in forged:
        answer = await john.press_data(message.message_id, data)
        assert answer.show_alert and answer.text == only_staff, data
    async with meydan.sessions() as session:
        assert (await session.get(Idea, idea_id)).status == ideas.APPROVED
        assert await session.scalar(select(BudgetProject.id)) is None
    assert not [a for a in await _audit(meydan) if a.startswith("budget.") and a != "budget.pot"]


@pytest.mark.parametrize("lang", ["en", "tr"])
async def test_editing_is_refused_once_voting_has_begun(meydan: Meydan, sandbox, lang: str) -> None:  # noqa: ANN001
    process_id = await _process(meydan)
    pot_id = await _pot(meydan, process_id)
    staff = await _staff(sandbox, lang)
    await _open_process(staff, lang)
    await staff.press("Şehir bütçesi" if lang == "tr" else "City budget")
    await press(staff, "✏️ Edit the pot", lang)  # the form opens at its preview
    preview = await staff.last_message()
    assert "Şehir bütçesi" in preview.text and "City budget" in preview.text
    async with meydan.sessions.begin() as session:  # voting begins while the draft is open
        await session.execute(
            update(ProcessPhase)
            .where(ProcessPhase.process_id == process_id, ProcessPhase.kind == "voting")
            .values(starts_at=utcnow() - timedelta(minutes=1))
        )
    began = translate("Voting has begun: the pot's rules and projects can no longer change.", lang)
    answer = await staff.press(translate("📨 Send", lang), message=preview)
    assert answer.show_alert and answer.text == began
    await staff.say("/admin")
    await _open_process(staff, lang)
    await staff.press("Şehir bütçesi" if lang == "tr" else "City budget")
    screen = await staff.last_message()
    labels = [label for row in screen.buttons for label in row]
    assert translate("✏️ Edit the pot", lang) not in labels and translate("➕ New project", lang) not in labels
    forged = StaffCb(action=StaffAction.EDIT_POT, id=pot_id).pack()
    answer = await staff.press_data(screen.message_id, forged)  # the button is gone, and the press refused
    assert answer.show_alert and answer.text == began
    async with meydan.sessions() as session:
        assert (await session.get(BudgetPot, pot_id)).budget == 5_000_000
    assert "budget.pot.edit" not in await _audit(meydan)


@pytest.mark.parametrize("lang", ["en", "tr"])
async def test_no_project_is_added_once_voting_has_begun(meydan: Meydan, sandbox, lang: str) -> None:  # noqa: ANN001
    """A new project's form opened before voting began and sent after is refused, saying why; then neither
    the pot (New project, From an approved idea) nor the idea's card (Turn into a project) offers to add
    one, and a press of the card's earlier button is refused the same way."""
    process_id = await _process(meydan)
    await _pot(meydan, process_id)
    idea_id = await _seed_idea(meydan, process_id, "Parka bank", author_tg=100_000_321)
    began = translate("Voting has begun: the pot's rules and projects can no longer change.", lang)
    turn, pot = translate("🏗 Turn into a project", lang), "Şehir bütçesi" if lang == "tr" else "City budget"
    adding = {translate(label, lang) for label in ("➕ New project", "💡 From an approved idea")}
    staff = await _staff(sandbox, lang)
    await press(staff, "✅ Published ideas", lang)
    await staff.press(f"#{idea_id}")
    card = await staff.last_message()
    assert turn in [label for row in card.buttons for label in row]
    await staff.say("/admin")
    await _open_process(staff, lang)
    await staff.press(pot)
    assert adding <= {label for row in (await staff.last_message()).buttons for label in row}
    await press(staff, "➕ New project", lang)
    for text in ("Çeşmeler", "Drinking fountains", "Parklara içme suyu çeşmeleri.", "Fountains."):
        await staff.say(text)
    await staff.say("100000")
    await press(staff, "➖ No note", lang)
    await press(staff, "Skip ⏭", lang)
    preview = await staff.last_message()
    assert "Drinking fountains" in preview.text
    async with meydan.sessions.begin() as session:  # voting begins while the draft is open
        await session.execute(
            update(ProcessPhase)
            .where(ProcessPhase.process_id == process_id, ProcessPhase.kind == "voting")
            .values(starts_at=utcnow() - timedelta(minutes=1))
        )
    answer = await staff.press(translate("📨 Send", lang), message=preview)
    assert answer.show_alert and answer.text == began
    await staff.say("/admin")
    await _open_process(staff, lang)
    await staff.press(pot)
    assert not adding & {label for row in (await staff.last_message()).buttons for label in row}
    await staff.say("/admin")
    await press(staff, "✅ Published ideas", lang)
    await staff.press(f"#{idea_id}")
    assert turn not in [label for row in (await staff.last_message()).buttons for label in row]
    answer = await staff.press(turn, card)  # the card as it was shown before voting began
    assert answer.show_alert and answer.text == began
    async with meydan.sessions() as session:
        assert await session.scalar(select(BudgetProject.id)) is None
        assert (await session.get(Idea, idea_id)).status == ideas.APPROVED
    assert "budget.project" not in await _audit(meydan)


async def test_a_project_typed_by_staff_and_the_voting_dates(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    process_id = await _process(meydan)
    pot_id = await _pot(meydan, process_id)
    staff = await _staff(sandbox, "en")
    await _open_process(staff, "en")
    await press(staff, "🗓 Voting dates", "en")
    assert translate("That is not a date I can read.", "en") in (await staff.say("next week")).text
    await staff.say("2030-03-01 09:00")
    preview = await staff.say("2030-03-21 18:00")
    assert "1 Mar 2030, 09:00" in preview.text and "21 Mar 2030, 18:00" in preview.text
    await press(staff, "📨 Send", "en")
    async with meydan.sessions() as session:
        process = await processes.get(session, process_id)
        span = budgets.voting_window(process)
        assert span.starts_at.year == 2030 and (span.ends_at - span.starts_at).days == 20
    await press(staff, "💰 Budgets", "en")
    await staff.press("City budget")
    await press(staff, "➕ New project", "en")
    await staff.say("Çeşmeler")
    await staff.say("Drinking fountains")
    await staff.say("Parklara içme suyu çeşmeleri.")
    await staff.press("📋")  # the English summary copied from the Turkish one
    await staff.say("100000")
    await press(staff, "➖ No note", "en")
    preview = await press(staff, "Skip ⏭", "en")
    preview = await staff.last_message()
    assert "Drinking fountains" in preview.text and "₺100,000" in preview.text
    await press(staff, "📨 Send", "en")
    async with meydan.sessions() as session:
        project = await session.scalar(select(BudgetProject))
    assert (project.pot_id, project.idea_id, project.cost, project.note) == (pot_id, None, 100_000, None)
    assert project.titles == {"tr": "Çeşmeler", "en": "Drinking fountains"}
    assert project.summaries == {"tr": "Parklara içme suyu çeşmeleri.", "en": "Parklara içme suyu çeşmeleri."}
    actions = await _audit(meydan)
    assert (
        actions.count("budget.project") == 1 and actions.count("process.phase") == 2
    )  # the fixture's and ours


EDITING = {
    "en": {
        "edit": "✏️ Edit the project", "changes": "✏️ Changes to the project", "place": "📍 Place: Alsancak, Konak",
        "saved": "✅ The project is saved.", "open": "🏗 Open the project", "cost": "₺1,900,000",
        "began": "Voting has begun: the pot's rules and projects can no longer change.",
        "project": "▫️ Shade · ₺2,150,000", "pot": "City budget",
    },
    "tr": {
        "edit": "✏️ Projeyi düzenle", "changes": "✏️ Projedeki değişiklikler", "place": "📍 Yer: Alsancak, Konak",
        "saved": "✅ Proje kaydedildi.", "open": "🏗 Projeyi açın", "cost": "₺1.900.000",
        "began": "Oylama başladı: bütçenin kuralları ve projeleri artık değiştirilemez.",
        "project": "▫️ Gölge · ₺2.150.000", "pot": "Şehir bütçesi",
    },
}  # fmt: skip


async def _project(meydan: Meydan, pot_id: int) -> int:
    async with meydan.sessions.begin() as session:
        made = await budgets.add_project(
            session, await session.get(BudgetPot, pot_id), titles={"tr": "Gölge", "en": "Shade"},
            summaries={"tr": "Pazara gölge.", "en": "Shade for the bazaar."}, cost=2_150_000, note="Ask the bazaar.",
        )  # fmt: skip
        return made.id


@pytest.mark.parametrize("lang", ["en", "tr"])
async def test_a_project_edited_with_a_preview_until_voting_begins(meydan: Meydan, sandbox, lang: str) -> None:  # noqa: ANN001
    said = EDITING[lang]
    process_id = await _process(meydan)
    project_id = await _project(meydan, await _pot(meydan, process_id))
    staff = await _staff(sandbox, lang)
    await _open_process(staff, lang)
    await staff.press(said["pot"])
    await staff.press(said["project"])
    await staff.press(said["edit"])  # the project form, at its preview with the project's values
    preview = await staff.last_message()
    assert said["changes"] in preview.text and "Shade for the bazaar." in preview.text and "Pazara gölge." in preview.text
    await press(staff, "✏️ Edit", lang)
    await press(staff, "🇬🇧 Title", lang)
    preview = await staff.say("Shade over the bazaar")  # back to the preview at once
    assert "Shade over the bazaar" in preview.text and said["changes"] in preview.text
    await press(staff, "✏️ Edit", lang)
    await press(staff, "💰 Cost", lang)
    await staff.say("1900000")
    await press(staff, "✏️ Edit", lang)
    await press(staff, "📍 Place", lang)
    preview = await staff.say("Alsancak")
    assert said["place"] in preview.text and said["cost"] in preview.text
    await press(staff, "📨 Send", lang)
    assert (await staff.last_message()).text == said["saved"]
    async with meydan.sessions() as session:
        project = await session.get(BudgetProject, project_id)
        alsancak = await geography.by_keys(session, "konak", "alsancak")
    assert project.titles == {"tr": "Gölge", "en": "Shade over the bazaar"} and project.cost == 1_900_000
    assert project.neighborhood_id == alsancak.id and project.note == "Ask the bazaar."
    assert (await _audit(meydan)).count("budget.project.edit") == 1
    await staff.press(said["open"])
    assert said["place"] in (await staff.last_message()).text
    await staff.press(said["edit"])
    preview = await staff.last_message()
    async with meydan.sessions.begin() as session:  # voting begins while the draft is open
        await session.execute(
            update(ProcessPhase)
            .where(ProcessPhase.process_id == process_id, ProcessPhase.kind == "voting")
            .values(starts_at=utcnow() - timedelta(minutes=1))
        )
    await asyncio.sleep(2.1)  # a Send of the same form within 2 s is taken for a double press
    answer = await staff.press(translate("📨 Send", lang), message=preview)
    assert answer.show_alert and answer.text == said["began"]
    await staff.say("/admin")
    await _open_process(staff, lang)
    await staff.press(said["pot"])
    await staff.press(f"▫️ {'Gölge' if lang == 'tr' else 'Shade over the bazaar'} · {said['cost']}")
    screen = await staff.last_message()
    assert said["edit"] not in [label for row in screen.buttons for label in row]  # the button is gone
    forged = StaffCb(action=StaffAction.EDIT_PROJECT, id=project_id).pack()
    answer = await staff.press_data(screen.message_id, forged)  # and a press is refused, saying why
    assert answer.show_alert and answer.text == said["began"]
    assert (await _audit(meydan)).count("budget.project.edit") == 1
