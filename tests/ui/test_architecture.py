"""The kiosk is a client of the core's local API only (CONVENTIONS.md, "Layout")."""

import ast
from pathlib import Path

import hub.ui

UI = Path(hub.ui.__file__).parent
FORBIDDEN = ("hub.store", "hub.sensors", "hub.sync", "hub.core", "hub.sos", "sqlite3",
             "sqlite_utils", "gpiozero", "bleak")


def imported_modules(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_ui_never_imports_the_store_devices_or_sync():
    bad = [(p.name, m) for p in UI.glob("*.py") for m in imported_modules(p)
           if m.startswith(FORBIDDEN)]
    assert bad == []


def test_every_screen_module_has_its_kv_file_next_to_it():
    for path in UI.glob("*.py"):
        if "SCREENS = [" in path.read_text(encoding="utf-8"):
            assert path.with_suffix(".kv").exists(), path.name
