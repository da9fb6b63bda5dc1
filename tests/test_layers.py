"""The house rules on dependencies: services without aiogram, handlers without SQL, a pure tally."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from bot.config import PROJECT_ROOT

SERVICES = sorted(p.stem for p in (PROJECT_ROOT / "bot" / "services").glob("*.py") if p.stem != "__init__")


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
    for path in (PROJECT_ROOT / "handlers").glob("*.py"):
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
