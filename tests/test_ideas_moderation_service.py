"""The staff side of ideas against a real database (SQLite, or PostgreSQL with TEST_DATABASE_URL): hiding
with a reason and unhiding, the queue position, editing the description, merging into a waiting idea,
and two merges of the same pair at once."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from bot.services import ideas
from storage.models import AuditEntry, Idea, IdeaSupport, Resident
from tests.test_ideas_service import CITY, _draft, _hood, _open_process, _resident, _staff, _theme


async def _setup(session, count: int = 3, *, limit: int = 10):  # noqa: ANN001, ANN202
    hood = await _hood(session)
    staff = await _staff(session, 190, hood)
    authors = [await _resident(session, 191 + n, hood, "en" if n % 2 else "tr") for n in range(count)]
    theme = await _theme(session)
    process = await _open_process(session, limit=limit)
    titles = ["Parka bank", "Banklar parka", "Sahile gölgelik", "Kütüphane", "Işıklar"]
    made = [
        await ideas.submit(session, a, _draft(process.id, theme.id, titles[n]), CITY.bounds)
        for n, a in enumerate(authors)
    ]
    return staff, made


async def test_hide_keeps_its_reason_and_unhide_publishes_again(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        staff, (a, b, c) = await _setup(session)
        hidden = await ideas.hide(session, a.id, staff.id, reason_key="personal")
        assert (hidden.status, hidden.reject_reason_key) == (ideas.HIDDEN, "personal")
        assert "personal data" in ideas.reason_text(hidden, "en")
        typed = await ideas.hide(session, b.id, staff.id, reason="Telefon numarası <var>")
        assert typed.reject_reason == "Telefon numarası <var>" and typed.reject_reason_key is None
        notice = await ideas.notice_for_author(session, typed, "tr")
        assert notice.lang == "en" and "Telefon numarası &lt;var&gt;" in notice.render()
        with pytest.raises(ideas.NotFound):  # a reject reason is not a hide reason
            await ideas.hide(session, c.id, staff.id, reason_key="remit")
        with pytest.raises(ideas.Invalid):
            await ideas.hide(session, c.id, staff.id, reason="x")
        with pytest.raises(ideas.AlreadyDecided):  # only a hidden idea is unhidden
            await ideas.unhide(session, c.id, staff.id)
        shown = await ideas.unhide(session, a.id, staff.id)
        assert shown.status == ideas.APPROVED and shown.reject_reason_key is None
        with pytest.raises(ideas.AlreadyDecided):
            await ideas.unhide(session, a.id, staff.id)
        listed, total = await ideas.published(session)
        assert total == 2 and {item.idea.id for item in listed} == {a.id, b.id}  # hidden ones too
        actions = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
        assert [x for x in actions if x.startswith("idea.")] == ["idea.hide", "idea.hide", "idea.unhide"]


async def test_the_queue_position_and_the_card_view(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        staff, (a, b, c) = await _setup(session)
        view = await ideas.reviewed(session, b)
        assert (view.position, view.waiting) == (2, 3) and view.process.names["en"] == "Together"
        await ideas.approve(session, a.id, staff.id)
        assert (await ideas.reviewed(session, await ideas.get(session, c.id))).position == 2
        view = await ideas.reviewed(session, await ideas.get(session, a.id))
        assert view.position is None and view.waiting is None


async def test_staff_edit_the_description_audited_and_only_while_editable(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        staff, (a, b, _c) = await _setup(session)
        author = await session.get(Resident, b.author_id)
        before = a.description
        edited = await ideas.edit_description(
            session, a.id, staff.id, "  Yeni   açıklama: banklar ve gölge.  "
        )
        assert edited.description == "Yeni açıklama: banklar ve gölge."
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "idea.edit_description"))
        assert entry.object_id == a.id and entry.details["before"] == before
        with pytest.raises(ideas.Invalid):
            await ideas.edit_description(session, a.id, staff.id, "kısa")
        with pytest.raises(ideas.NotAllowed):
            await ideas.edit_description(session, a.id, author.id, "Bir başka uzun açıklama metni.")
        await ideas.reject(session, b.id, staff.id, reason_key="vague")
        with pytest.raises(ideas.AlreadyDecided):  # a decided idea is not edited any more
            await ideas.edit_description(session, b.id, staff.id, "Bir başka uzun açıklama metni.")
        with pytest.raises(ideas.AlreadyDecided):
            await ideas.edit_title(session, b.id, staff.id, "Başka başlık")


async def test_a_pending_duplicate_merges_into_a_pending_idea(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        staff, (a, b, c, d, e) = await _setup(session, 5)
        targets = [s.idea.id for s in await ideas.merge_targets(session, b)]
        assert targets[0] == a.id and set(targets) == {a.id, c.id, d.id, e.id}  # waiting ones too
        merged = await ideas.merge(session, b.id, a.id, staff.id)
        assert merged.status == ideas.MERGED and merged.merged_into_id == a.id
        assert await ideas.support_count(session, a.id) == 1  # the merged idea's author
        notice = await ideas.notice_for_author(session, merged, "tr")
        assert [link.id for link in notice.links] == [b.id]  # no button to an idea residents cannot read
        await ideas.reject(session, c.id, staff.id, reason_key="vague")
        await ideas.hide(session, d.id, staff.id, reason_key="spam")
        for target in (b, c, d):  # merged, rejected, hidden: not a target
            with pytest.raises(ideas.BadTarget):
                await ideas.merge(session, e.id, target.id, staff.id)
        with pytest.raises(ideas.BadTarget):
            await ideas.merge(session, e.id, e.id, staff.id)
        assert b.id not in [s.idea.id for s in await ideas.merge_targets(session, e)]
        await ideas.merge(session, e.id, a.id, staff.id)
        assert await ideas.support_count(session, a.id) == 2


async def test_two_merges_of_the_same_pair_at_once_one_wins(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        staff, (a, b) = await _setup(session, 2)
        pair, actor = (a.id, b.id), staff.id

    async def merge(idea_id: int, target_id: int) -> str:
        try:  # a refusal leaves the transaction, which rolls back, as in the bot
            async with sessions.begin() as session:
                await session.get(Idea, idea_id)
                await asyncio.sleep(0.05)
                await ideas.merge(session, idea_id, target_id, actor)
                await asyncio.sleep(0.2)
        except (ideas.AlreadyDecided, ideas.BadTarget) as exc:
            return type(exc).__name__
        return "won"

    results = await asyncio.gather(merge(pair[0], pair[1]), merge(pair[1], pair[0]))
    assert sorted(results)[-1] == "won" and results.count("won") == 1
    async with sessions() as session:
        statuses = sorted([(await session.get(Idea, i)).status for i in pair])
        assert statuses == [ideas.MERGED, ideas.PENDING]


@pytest.mark.parametrize("support_first", [True, False])
async def test_a_support_during_a_merge_never_lands_on_the_merged_idea(sessions, support_first) -> None:  # noqa: ANN001
    """A resident supports an idea while staff merge it into another, at the same moment, in both orders:
    the support either counts on the target (it moved with the merge) or is refused; never left behind."""
    from sqlalchemy.exc import OperationalError

    async with sessions.begin() as session:
        staff, (a, b, c) = await _setup(session)
        await ideas.approve(session, a.id, staff.id)
        await ideas.approve(session, b.id, staff.id)
        supporter = await _resident(session, 199, await _hood(session))
        ids = (a.id, b.id, supporter.id, staff.id)

    async def support() -> str:
        if not support_first:
            await asyncio.sleep(0.05)
        try:
            async with sessions.begin() as session:
                resident = await session.get(Resident, ids[2])
                await ideas.set_support(session, ids[0], resident, True)
                await asyncio.sleep(0.2)
        except (ideas.IdeaError, OperationalError) as exc:  # refused, or SQLite's one writer at a time
            return type(exc).__name__
        return "supported"

    async def merge() -> str:
        if support_first:
            await asyncio.sleep(0.05)
        try:
            async with sessions.begin() as session:
                await ideas.merge(session, ids[0], ids[1], ids[3])
                await asyncio.sleep(0.2)
        except (ideas.IdeaError, OperationalError) as exc:
            return type(exc).__name__
        return "merged"

    results = await asyncio.gather(support(), merge())
    async with sessions() as session:
        left = await session.scalar(
            select(func.count()).select_from(IdeaSupport).where(IdeaSupport.idea_id == ids[0])
        )
        assert left == 0 or (await session.get(Idea, ids[0])).status != ideas.MERGED, results
        if results == ["supported", "merged"]:  # both went through: the support moved to the target
            assert await ideas.supports(session, ids[1], ids[2])
