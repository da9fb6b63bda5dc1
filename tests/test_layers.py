"""The house rules on dependencies: services without aiogram, handlers without SQL, a pure tally."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from bot.config import PROJECT_ROOT

SERVICES = sorted(
    ".".join(p.relative_to(PROJECT_ROOT / "bot" / "services").with_suffix("").parts).removesuffix(".__init__")
    for p in (PROJECT_ROOT / "bot" / "services").rglob("*.py")
    if p.relative_to(PROJECT_ROOT / "bot" / "services").as_posix() != "__init__.py"
)


def _imports(path) -> set[str]:  # noqa: ANN001
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize("name", SERVICES)
def test_services_load_no_aiogram(name: str) -> None:
    code = (
        f"import sys, bot.services.{name}; print(sorted(m for m in sys.modules if m.startswith('aiogram')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", f"bot.services.{name} pulls in {out.stdout.strip()}"


def test_handlers_run_no_sql() -> None:
    for path in (PROJECT_ROOT / "handlers").rglob("*.py"):
        sql = {
            name for name in _imports(path) if name.startswith("sqlalchemy") and "AsyncSession" not in name
        }
        sql -= {"sqlalchemy.ext.asyncio"}
        assert not sql, f"{path.name} imports {sorted(sql)}: SQL belongs in bot/services"


def test_tally_depends_on_nothing_of_ours() -> None:
    ours = ("bot.", "handlers", "storage", "scheduler", "aiogram", "sqlalchemy")
    for path in (PROJECT_ROOT / "bot" / "tally").glob("*.py"):
        bad = {name for name in _imports(path) if name.startswith(ours) and not name.startswith("bot.tally")}
        assert not bad, f"bot/tally/{path.name} imports {sorted(bad)}"


HANDLERS = PROJECT_ROOT / "handlers"
MODULE_BUDGET, HANDLER_BUDGET = 300, 30
# modules still waiting to be cut to the feature shape's size budgets (none today): they may only shrink
GRANDFATHERED: dict[str, int] = {}


def _handler_modules() -> list:  # noqa: ANN201
    return sorted(p for p in HANDLERS.rglob("*.py") if "__pycache__" not in p.parts)


def test_handler_modules_never_import_one_another() -> None:
    for path in _handler_modules():
        feature = path.relative_to(HANDLERS).parts[0]
        for name in _imports(path):
            if name.startswith("handlers."):
                assert name.split(".")[1] == feature, (
                    f"{path.relative_to(PROJECT_ROOT)} imports {name}: shared pieces belong in bot/ui or bot/services"
                )


def test_handler_modules_keep_their_size() -> None:
    for path in _handler_modules():
        rel = str(path.relative_to(PROJECT_ROOT))
        lines = len(path.read_text(encoding="utf-8").splitlines())
        assert lines <= GRANDFATHERED.get(rel, MODULE_BUDGET), f"{rel} has {lines} lines"


def test_new_handlers_stay_short() -> None:
    for path in _handler_modules():
        rel = str(path.relative_to(PROJECT_ROOT))
        if rel in GRANDFATHERED:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                assert length <= HANDLER_BUDGET, f"{rel}:{node.name} has {length} lines"


def test_no_private_aiogram_api_and_no_module_level_routers() -> None:
    for path in _handler_modules():
        text = path.read_text(encoding="utf-8")
        assert "._parent_router" not in text, path
        tree = ast.parse(text)
        for node in tree.body:  # a Router made at import time would be shared by every Dispatcher
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                func = node.value.func
                assert getattr(func, "id", None) != "Router", (
                    f"{path.relative_to(PROJECT_ROOT)} builds a Router at import"
                )


def test_every_feature_package_is_in_the_manifest() -> None:
    from bot.features import FEATURES

    named = {f.router.split(":")[0] for f in FEATURES if f.router}
    packages = {f"handlers.{p.name}" for p in HANDLERS.iterdir() if (p / "__init__.py").exists()}
    assert packages == named, (
        f"not in bot/features.py: {sorted(packages - named)}; missing: {sorted(named - packages)}"
    )


def test_routers_are_built_anew_for_each_dispatcher() -> None:
    import handlers

    first, second = handlers.routers(), handlers.routers()
    assert all(a is not b for a, b in zip(first, second, strict=True))


def test_presses_are_answered_in_one_place() -> None:
    """Handlers set `callback_answer` (or raise a refusal); only the answer middleware and the error
    handler call answerCallbackQuery."""
    for path in _handler_modules():
        rel = str(path.relative_to(PROJECT_ROOT))
        if rel not in GRANDFATHERED and rel != "handlers/core/errors.py":
            assert "query.answer(" not in path.read_text(encoding="utf-8"), f"{rel} answers a press by hand"


def test_typed_messages_are_answered_through_respond() -> None:
    """A new message goes out with `bot.ui.messages.respond` (or `reply`), which holds a typed
    message's last answer for the webhook's reply; `message.answer` would be a request of its own."""
    for path in _handler_modules():
        rel = str(path.relative_to(PROJECT_ROOT))
        if rel != "handlers/core/errors.py":  # an error is answered after the update's middlewares
            assert "message.answer(" not in path.read_text(encoding="utf-8"), f"{rel} calls message.answer"


def test_the_bot_starts_without_matplotlib_or_numpy() -> None:
    """The results chart imports matplotlib (28 MiB) when it first draws, and a count by the Method of
    Equal Shares imports numpy (12 MiB); building the bot's routers and application must import neither,
    so a bot process that never draws a chart or counts a pot never pays for them."""
    probe = (
        "import sys, handlers, bot.app; handlers.routers(());"
        "print('matplotlib' in sys.modules, 'numpy' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False False"


def test_callback_buttons_are_made_by_one_function() -> None:
    """A button with callback data is made by `bot.ui.buttons.button`, which keeps the buttons it made
    (a page shown again costs no new button and no packing of its data)."""
    made_by_hand = []
    for root in ("bot", "handlers"):
        for path in sorted((PROJECT_ROOT / root).rglob("*.py")):
            rel = path.relative_to(PROJECT_ROOT).as_posix()
            if rel.startswith("bot/sandbox/") or rel == "bot/ui/buttons.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and getattr(node.func, "id", getattr(node.func, "attr", None)) == "InlineKeyboardButton"
                    and any(k.arg == "callback_data" for k in node.keywords)
                ):
                    made_by_hand.append(f"{rel}:{node.lineno}")
    assert made_by_hand == []
