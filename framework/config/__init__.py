"""TOML configuration validated by pydantic, and secrets from the environment."""

from framework.config.errors import ConfigError
from framework.config.loading import FrozenModel, load_toml, parse_overrides, validate_mapping
from framework.config.secrets import (
    AlpacaCredentials,
    load_alpaca_credentials,
    load_polygon_api_key,
)

__all__ = [
    "AlpacaCredentials",
    "ConfigError",
    "FrozenModel",
    "load_alpaca_credentials",
    "load_polygon_api_key",
    "load_toml",
    "parse_overrides",
    "validate_mapping",
]
