"""Strategy code; each strategy has a module here and a TOML file beside it."""
