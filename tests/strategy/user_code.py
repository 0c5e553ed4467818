"""Write a strategy package the way a user would, in a folder outside fw, for the loading
and hook tests (each test gives its own package name: Python caches imported modules)."""

from __future__ import annotations

from pathlib import Path

FLAT = '''
import numpy as np
from framework.strategy import Signals, Strategy


class Flat(Strategy):
    """Never trades."""

    def signals(self, panel):
        zero = np.zeros(panel.close.shape)
        return Signals.of(zero.astype(np.int8), zero.astype(bool))
'''


def write_strategy(folder: Path, module: str, code: str, target: str,
                   extra_toml: str = "") -> Path:
    """``folder/module.py`` with ``code`` and ``folder/module.toml`` naming ``target``
    (daily bars of SPY); returns the TOML's path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{module}.py").write_text(code)
    toml = folder / f"{module}.toml"
    toml.write_text(f'name = "{module}"\nstrategy = "{target}"\nsymbols = ["SPY"]\n'
                    f'[data]\ntimeframe = "1d"\n{extra_toml}')
    return toml
