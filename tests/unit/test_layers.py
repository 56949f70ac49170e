"""The import contracts of pyproject.toml ([tool.importlinter]), so that `pytest` alone enforces
the layers: pages -> app -> amzinsight (core) <- workers; launcher on top; the sandbox for it."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _contracts() -> list[dict[str, object]]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    return list(config["tool"]["importlinter"]["contracts"])


CONTRACTS = _contracts()


def test_every_contract_has_an_id() -> None:
    """The test below runs the contracts one by one through their ids."""
    assert all(contract.get("id") for contract in CONTRACTS)


@pytest.mark.parametrize("contract", CONTRACTS, ids=[str(c.get("id")) for c in CONTRACTS])
def test_import_contract_is_kept(contract: dict[str, object]) -> None:
    # Run from the repo root: `pages/` (page scripts, not a package) is found there as a namespace
    # package, and the root packages are importable from it.
    result = subprocess.run(
        [str(LINT_IMPORTS), "--no-logo", "--no-cache", "--contract", str(contract["id"])],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"{contract['name']}\n{result.stdout}{result.stderr}"


def test_the_page_scripts_are_analysed() -> None:
    """`pages/` has no __init__.py; the contracts on it must still see every page's imports."""
    import grimp

    graph = grimp.build_graph("pages", "app", cache_dir=None)
    for script in (REPO / "pages").glob("*.py"):
        assert f"pages.{script.stem}" in graph.modules
    assert "app.filters" in graph.find_modules_directly_imported_by("pages.sync")
