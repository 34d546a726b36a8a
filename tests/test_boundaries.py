"""trainer ships alone as the SageMaker source_dir: no Qt, no roadseg_gui. core has no Qt."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
QT = {"PySide6", "PyQt5", "PyQt6", "qtpy", "shiboken6", "superqt", "pytestqt"}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def python_files(package: str) -> list[Path]:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no python files under {package}"
    return files


@pytest.mark.parametrize("path", python_files("trainer"), ids=lambda p: str(p.relative_to(ROOT)))
def test_trainer_imports_no_qt_and_no_app(path):
    bad = imported_roots(path) & (QT | {"roadseg_gui"})
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", python_files("roadseg_gui/core"), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_imports_no_qt(path):
    bad = imported_roots(path) & QT
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_checker_catches_a_violation(tmp_path):
    sample = tmp_path / "bad.py"
    sample.write_text("import os\nfrom PySide6.QtCore import QObject\ndef f():\n    import roadseg_gui.ui\n")
    assert {"PySide6", "roadseg_gui"} <= imported_roots(sample)
