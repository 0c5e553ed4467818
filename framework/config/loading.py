"""Load TOML files into frozen pydantic models with errors that name file and key."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from framework.config.errors import ConfigError

M = TypeVar("M", bound=BaseModel)

_SECRET_KEYS = ("key", "secret", "token", "password")


class FrozenModel(BaseModel):
    """Base for every config section: immutable, unknown keys are an error, and a float
    must be finite (TOML's ``inf``/``nan``, and ``1e400`` which TOML reads as inf, are
    refused naming the key)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


def _format_validation_error(err: ValidationError) -> list[str]:
    problems = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "<root>"
        if e["type"] == "extra_forbidden":
            problems.append(f"key '{key}': unknown key (check the spelling)")
            continue
        if e["type"] == "missing":
            problems.append(f"key '{key}': required key is missing")
            continue
        got = e.get("input")
        got_s = "" if isinstance(got, dict) else f" (got {got!r})"
        problems.append(f"key '{key}': {e['msg']}{got_s}")
    return problems


def _reject_secrets(data: Any, path: str, source: str) -> None:
    """Secrets live in the environment only; a TOML key that looks like one is refused."""
    if isinstance(data, dict):
        for k, v in data.items():
            p = f"{path}.{k}" if path else str(k)
            lk = str(k).lower()
            if isinstance(v, str) and (lk.endswith("api_key") or lk.endswith("secret_key")
                                       or lk in _SECRET_KEYS):
                raise ConfigError(
                    source,
                    [f"key '{p}': secrets are not allowed in TOML; set them in the "
                     "environment (APCA_API_KEY_ID / APCA_API_SECRET_KEY) or in .env"],
                )
            _reject_secrets(v, p, source)


def validate_mapping(data: dict[str, Any], model: type[M], source: str, prefix: str = "") -> M:
    """Validate an already-parsed mapping; ``source`` names it in errors, where keys are
    dotted from ``prefix`` (the table ``data`` came from, e.g. ``params``)."""
    _reject_secrets(data, prefix, source)
    try:
        return model.model_validate(data)
    except ValidationError as err:
        problems = _format_validation_error(err)
        if prefix:
            problems = [m.replace("key '", f"key '{prefix}.", 1) for m in problems]
        raise ConfigError(source, problems) from None


def load_toml(path: str | Path, model: type[M], overrides: dict[str, Any] | None = None) -> M:
    """Read ``path`` and validate it as ``model``.

    ``overrides`` maps dotted keys (``params.fast``) to values applied on top of the
    file, as ``fw backtest --set`` does. Raises ``ConfigError`` naming file and key.
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(str(p), ["file not found"])
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(str(p), [f"not valid TOML: {err}"]) from None
    except UnicodeDecodeError as err:
        line = p.read_bytes()[:err.start].count(b"\n") + 1
        raise ConfigError(str(p), [f"not UTF-8 text: byte 0x{err.object[err.start]:02x} "
                                   f"on line {line} (TOML files are UTF-8)"]) from None
    except OSError as err:
        raise ConfigError(str(p), [f"cannot read: {err.strerror}"]) from None
    for dotted, value in (overrides or {}).items():
        node = data
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(str(p), [f"override '{dotted}': '{part}' is not a table"])
        node[leaf] = value
    return validate_mapping(data, model, str(p))


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """Parse ``key=value`` strings; values are read as TOML scalars when they parse."""
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError("--set", [f"'{item}': expected key=value"])
        key, raw = item.split("=", 1)
        try:
            out[key.strip()] = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            out[key.strip()] = raw
    return out
