"""API credentials (Alpaca, Polygon/Massive) from the environment or a git-ignored ``.env``;
never from TOML."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, SecretStr

from framework.config.errors import ConfigError


class AlpacaCredentials(BaseModel):
    """API key pair. ``SecretStr`` keeps the values out of repr, logs and tracebacks."""

    key_id: SecretStr
    secret_key: SecretStr


def _read_dotenv(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        k, v = line.split("=", 1)
        values[k.strip().removeprefix("export ").strip()] = v.strip().strip("'\"")
    return values


def load_alpaca_credentials(dotenv: str | Path = ".env") -> AlpacaCredentials:
    """Return keys from ``APCA_API_KEY_ID``/``APCA_API_SECRET_KEY`` (env wins over .env)."""
    file_values = _read_dotenv(Path(dotenv))
    key = os.environ.get("APCA_API_KEY_ID") or file_values.get("APCA_API_KEY_ID")
    secret = os.environ.get("APCA_API_SECRET_KEY") or file_values.get("APCA_API_SECRET_KEY")
    missing = [n for n, v in (("APCA_API_KEY_ID", key), ("APCA_API_SECRET_KEY", secret)) if not v]
    if missing:
        raise ConfigError("environment", [f"'{m}' is not set (environment or .env)" for m in missing])
    return AlpacaCredentials(key_id=key, secret_key=secret)


POLYGON_KEY_VARS = ("POLYGON_API_KEY", "MASSIVE_API_KEY")  # ours first, then the client's own


def load_polygon_api_key(dotenv: str | Path = ".env") -> SecretStr:
    """Return the Polygon/Massive key from ``POLYGON_API_KEY`` or ``MASSIVE_API_KEY``
    (the ``massive`` client's documented variable); the environment wins over .env."""
    file_values = _read_dotenv(Path(dotenv))
    for name in POLYGON_KEY_VARS:
        value = os.environ.get(name) or file_values.get(name)
        if value:
            return SecretStr(value)
    raise ConfigError("environment", [f"'{POLYGON_KEY_VARS[0]}' (or '{POLYGON_KEY_VARS[1]}') "
                                      "is not set (environment or .env)"])
