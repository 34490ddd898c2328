"""The product is one installable package; demo and test support stay outside it."""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "dealerfunnel"


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_runtime_package_imports_no_demo_or_test_support():
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            m for m in _imported_modules(path) if m.split(".")[0] in {"dealerfunnel_demo", "tests"}
        )
        for path in PACKAGE.rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_no_module_is_named_like_a_dbt_module():
    # dbt imports every module on sys.path named dbt_*
    named = [p for p in (ROOT / "src").rglob("dbt_*.py")] + list((ROOT / "tools").rglob("dbt_*.py"))
    assert named == []


def test_the_package_locates_nothing_relative_to_its_own_files():
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "parents[" not in text and "__file__).resolve().parent" not in text, path


def test_wheel_holds_the_runtime_package_only(tmp_path):
    """``pip install .`` gets the product without the demo: build the wheel and look inside."""
    uv = Path(sys.executable).with_name("uv")  # installed by the Makefile with the venv
    subprocess.run(
        [str(uv), "build", "--wheel", "-q", "-o", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("dealerfunnel-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {n.split("/")[0] for n in names if not n.startswith("dealerfunnel-")}
    assert top_level == {"dealerfunnel"}
    assert "dealerfunnel/warehouse/schema.sql" in names
    assert not any("sandbox" in n or "synth" in n or "receivers" in n for n in names)
    metadata = next(n for n in names if n.endswith("METADATA"))
    requires = [
        line
        for line in zipfile.ZipFile(wheel).read(metadata).decode().splitlines()
        if line.startswith("Requires-Dist:")
    ]
    runtime = [r for r in requires if "extra ==" not in r]
    assert any("apache-airflow" in r for r in runtime)
    assert not any(tool in r for r in runtime for tool in ("pytest", "ruff", "sqlfluff", "cosmos"))
