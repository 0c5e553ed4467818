"""Where a strategy's module is imported from (framework.config.search): the installed
packages, then the working directory, the TOML's folder and its parent, with no
PYTHONPATH; and errors that name the TOML, the module and the folders searched."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import pytest

from framework.config import ConfigError
from framework.config.search import find_file, search_roots
from framework.engine.run_config import load_strategy
from framework.strategy.base import StrategyRunError
from tests.strategy.user_code import FLAT, write_strategy


@pytest.fixture(autouse=True)
def _own_sys_path(monkeypatch) -> None:
    """The loader appends search roots to sys.path: undo it after each test."""
    monkeypatch.setattr(sys, "path", list(sys.path))


def test_package_beside_the_toml_resolves_from_its_parent(tmp_path: Path, monkeypatch) -> None:
    toml = write_strategy(tmp_path / "repo" / "ldr_pkg_a", "rsi2", FLAT, "ldr_pkg_a.rsi2:Flat")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # only the TOML's parent can find it
    cfg, strat = load_strategy(Path("..") / "repo" / "ldr_pkg_a" / "rsi2.toml")
    assert type(strat).__module__ == "ldr_pkg_a.rsi2"
    assert Path(inspect.getfile(type(strat))) == (tmp_path / "repo" / "ldr_pkg_a" / "rsi2.py")
    assert toml.is_file() and cfg.name == "rsi2"


def test_module_in_the_toml_folder_and_in_the_working_directory(tmp_path: Path,
                                                                 monkeypatch) -> None:
    write_strategy(tmp_path / "a", "ldr_mod_b", FLAT, "ldr_mod_b:Flat")
    _, strat = load_strategy(tmp_path / "a" / "ldr_mod_b.toml")
    assert type(strat).__module__ == "ldr_mod_b"
    # the module in the working directory, the TOML two levels away
    (tmp_path / "work" / "ldr_mod_c.py").parent.mkdir()
    (tmp_path / "work" / "ldr_mod_c.py").write_text(FLAT)
    toml = write_strategy(tmp_path / "x" / "y", "conf", "", "ldr_mod_c:Flat")
    monkeypatch.chdir(tmp_path / "work")
    _, strat = load_strategy(toml)
    assert Path(inspect.getfile(type(strat))) == tmp_path / "work" / "ldr_mod_c.py"


def test_search_roots_order_and_files(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    toml = tmp_path / "p" / "q" / "s.toml"
    assert search_roots(toml) == (tmp_path, tmp_path / "p" / "q", tmp_path / "p")
    assert search_roots(tmp_path / "s.toml") == (tmp_path, tmp_path.parent)
    (tmp_path / "p" / "features.toml").parent.mkdir(parents=True)
    (tmp_path / "p" / "features.toml").write_text("")
    assert find_file("features.toml", toml, "model.feature_set") == tmp_path / "p" / "features.toml"
    with pytest.raises(ConfigError, match=r"(?s)s\.toml.*model\.feature_set.*nope\.toml not found "
                                          r"under .*\(the working directory\)"):
        find_file("nope.toml", toml, "model.feature_set")


def test_missing_module_names_the_toml_and_where_it_looked(tmp_path: Path,
                                                           monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    toml = write_strategy(tmp_path / "ldr_pkg_d", "x", FLAT, "ldr_pkg_d.not_there:Flat")
    with pytest.raises(ConfigError) as err:
        load_strategy(toml)
    msg = str(err.value)
    assert str(toml) in msg and "no module 'ldr_pkg_d.not_there'" in msg
    for root, why in ((tmp_path, "the working directory"),
                      (tmp_path / "ldr_pkg_d", "the TOML's folder")):
        assert f"{root} ({why})" in msg


def test_a_failure_inside_the_module_is_reported_as_its_own(tmp_path: Path) -> None:
    toml = write_strategy(tmp_path / "ldr_pkg_e", "bad", "import not_a_package_fw_knows\n",
                          "ldr_pkg_e.bad:Flat")
    with pytest.raises(StrategyRunError, match=r"strategy module 'ldr_pkg_e.bad' \(.*bad\.toml\)"
                                               r": import failed: ModuleNotFoundError: No module "
                                               r"named 'not_a_package_fw_knows'"):
        load_strategy(toml)
    toml = write_strategy(tmp_path / "ldr_pkg_e", "syntax", "def f(:\n", "ldr_pkg_e.syntax:X")
    with pytest.raises(StrategyRunError, match="import failed: SyntaxError"):
        load_strategy(toml)


def test_a_folder_named_like_an_installed_package_is_explained(tmp_path: Path) -> None:
    # fw installs a package called `strategies`: a user's folder of that name is hidden
    toml = write_strategy(tmp_path / "strategies", "mine", FLAT, "strategies.mine:Flat")
    with pytest.raises(ConfigError, match=r"(?s)'strategies' is already the package at .*, which "
                                          r"hides .*strategies: rename that folder"):
        load_strategy(toml)


def test_wrong_class_names_the_module(tmp_path: Path) -> None:
    toml = write_strategy(tmp_path / "ldr_pkg_f", "m", FLAT + "\nclass Other:\n    pass\n",
                          "ldr_pkg_f.m:Missing")
    with pytest.raises(ConfigError, match=r"(?s)module 'ldr_pkg_f.m' \(.*m\.py\) has no attribute "
                                          r"'Missing'"):
        load_strategy(toml)
    toml.write_text(toml.read_text().replace("m:Missing", "m:Other"))
    with pytest.raises(ConfigError, match="'ldr_pkg_f.m:Other' is not a subclass of "
                                          "framework.strategy.Strategy"):
        load_strategy(toml)
