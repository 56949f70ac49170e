"""The core installs without Streamlit and RQ; what needs them says which extra to install."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from amzinsight.config import Settings
from amzinsight.errors import ConfigError
from launcher.stack import EXTRA_MODULES, LOCK_FILE, require_extra, run_up


def _hide(monkeypatch: pytest.MonkeyPatch, *hidden: str) -> None:
    """Make importlib report these top-level modules as not installed."""
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name in hidden else find_spec(name, *args),
    )


def test_up_without_the_server_extra_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _hide(monkeypatch, "streamlit", "rq")

    with pytest.raises(ConfigError) as raised:
        run_up(Settings(data_dir=tmp_path), "127.0.0.1", 8501, False, lambda _url: None)

    message = str(raised.value)
    missing = message.removeprefix("`amzinsight up` needs ").partition(", which")[0].split(", ")
    assert {"streamlit", "rq"} <= set(missing)
    assert message.endswith("pip install -e '.[server]' in the AmzInsight folder")
    assert not (tmp_path / LOCK_FILE).exists()  # refused before taking the data directory


def test_the_worker_command_names_the_workers_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    _hide(monkeypatch, "rq_scheduler")

    with pytest.raises(ConfigError, match=r"pip install -e '\.\[workers\]'"):
        require_extra("workers", "`amzinsight scheduler`")


def test_this_environment_has_every_extra() -> None:
    """The dev install (`pip install -e '.[dev]'`) brings the server extra: nothing is refused."""
    for extra in EXTRA_MODULES:
        require_extra(extra, "the tests")


def test_the_extras_match_pyproject() -> None:
    """EXTRA_MODULES names, per extra, the modules its requirements in pyproject.toml install."""
    import tomllib

    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    extras = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]
    for extra in ("app", "workers"):
        distributions = {
            requirement.split(">")[0].split("<")[0].split("[")[0].replace("-", "_")
            for requirement in extras[extra]
        }
        assert distributions == set(EXTRA_MODULES[extra])
