"""One Router per feature. The order here is the order the dispatcher tries them."""

from __future__ import annotations

from aiogram import Router


def routers() -> list[Router]:
    from handlers import admin, common, errors, fallback, ideas, ideas_admin, onboarding, settings

    return _detached(
        [
            errors.router,
            common.router,
            onboarding.router,
            settings.router,
            ideas.router,
            admin.router,
            ideas_admin.router,
            fallback.router,
        ]
    )


def _detached(found: list[Router]) -> list[Router]:
    """Routers are module-level; a second Dispatcher in one process (a restart in tests) takes them over."""
    for router in found:
        parent = router.parent_router
        if parent is not None:
            parent.sub_routers.remove(router)
            router._parent_router = None  # noqa: SLF001 - aiogram offers no public way to detach
    return found
