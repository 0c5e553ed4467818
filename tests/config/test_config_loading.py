"""Config files: errors name the file and the key; secrets never come from TOML."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pydantic
import pytest
from pydantic import Field

from framework.config import (
    ConfigError,
    FrozenModel,
    load_alpaca_credentials,
    load_polygon_api_key,
    load_toml,
    parse_overrides,
)


class Params(FrozenModel):
    fast: int = Field(gt=0)
    slow: int = 50


class Demo(FrozenModel):
    name: str
    params: Params


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "demo.toml"
    p.write_text(text)
    return p


def test_valid_file_loads_frozen(tmp_path):
    cfg = load_toml(_write(tmp_path, 'name = "x"\n[params]\nfast = 5\n'), Demo)
    assert cfg.params.fast == 5 and cfg.params.slow == 50
    with pytest.raises(pydantic.ValidationError):
        cfg.name = "y"  # frozen


def test_wrong_type_names_file_key_and_expectation(tmp_path):
    p = _write(tmp_path, 'name = "x"\n[params]\nfast = "five"\n')
    with pytest.raises(ConfigError) as err:
        load_toml(p, Demo)
    msg = str(err.value)
    assert str(p) in msg and "params.fast" in msg and "integer" in msg and "'five'" in msg


def test_constraint_violation(tmp_path):
    with pytest.raises(ConfigError, match=r"params\.fast.*greater than 0"):
        load_toml(_write(tmp_path, 'name = "x"\n[params]\nfast = -1\n'), Demo)


def test_unknown_and_missing_keys(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_toml(_write(tmp_path, '[params]\nfast = 1\nfsat = 2\n'), Demo)
    msg = str(err.value)
    assert "'params.fsat': unknown key" in msg and "'name': required key is missing" in msg


def test_broken_toml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_toml(_write(tmp_path, "name = \n"), Demo)
    with pytest.raises(ConfigError, match="file not found"):
        load_toml(tmp_path / "nope.toml", Demo)


def test_overrides_apply_and_validate(tmp_path):
    p = _write(tmp_path, 'name = "x"\n[params]\nfast = 5\n')
    cfg = load_toml(p, Demo, parse_overrides(["params.fast=7", "name=y"]))
    assert cfg.params.fast == 7 and cfg.name == "y"
    with pytest.raises(ConfigError, match="key=value"):
        parse_overrides(["params.fast"])


def test_secret_in_toml_is_refused(tmp_path):
    p = _write(tmp_path, 'name = "x"\n[params]\nfast = 1\n[alpaca]\napi_key = "PKXXXX"\n')
    with pytest.raises(ConfigError, match="secrets are not allowed in TOML") as err:
        load_toml(p, Demo)
    assert "PKXXXX" not in str(err.value)


def test_credentials_from_env_and_dotenv_never_printed(tmp_path, monkeypatch):
    monkeypatch.delenv("APCA_API_KEY_ID", raising=False)
    monkeypatch.delenv("APCA_API_SECRET_KEY", raising=False)
    env = tmp_path / ".env"
    with pytest.raises(ConfigError, match="APCA_API_KEY_ID"):
        load_alpaca_credentials(env)
    env.write_text("APCA_API_KEY_ID=PKFILE\nexport APCA_API_SECRET_KEY='s3cr3t'\n")
    creds = load_alpaca_credentials(env)
    assert creds.key_id.get_secret_value() == "PKFILE"
    assert "s3cr3t" not in repr(creds) and "s3cr3t" not in str(creds)
    monkeypatch.setenv("APCA_API_KEY_ID", "PKENV")
    assert load_alpaca_credentials(env).key_id.get_secret_value() == "PKENV"


def test_polygon_key_env_wins_and_massive_name_is_accepted(tmp_path, monkeypatch):
    from framework.data.settings import DataConfig

    for var in ("POLYGON_API_KEY", "MASSIVE_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    env = tmp_path / ".env"
    with pytest.raises(ConfigError, match="'POLYGON_API_KEY' \\(or 'MASSIVE_API_KEY'\\)"):
        load_polygon_api_key(env)
    env.write_text("MASSIVE_API_KEY=from-file\n")
    key = load_polygon_api_key(env)
    assert key.get_secret_value() == "from-file" and "from-file" not in repr(key)
    monkeypatch.setenv("POLYGON_API_KEY", "from-env")
    assert load_polygon_api_key(env).get_secret_value() == "from-env"
    toml = _write(tmp_path, '[polygon]\napi_key = "abc"\n')
    with pytest.raises(ConfigError, match="secrets are not allowed in TOML"):
        load_toml(toml, DataConfig)


def test_cli_error_is_a_message_not_a_traceback(tmp_path):
    """A user-facing error exits 2 with one clear line and no traceback."""
    code = (
        "import sys; sys.argv=['fw','data','--help']\n"
        "from framework.cli import app as a\n"
        "from framework.config import ConfigError\n"
        "def boom(): raise ConfigError('x.toml', [\"key 'a.b': expected int\"])\n"
        "a.app = boom\n"
        "a.main()\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 2
    assert "x.toml" in r.stderr and "a.b" in r.stderr and "Traceback" not in r.stderr
