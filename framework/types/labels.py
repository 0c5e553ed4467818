"""Readable labels of integer code columns, for frames built from kernel tables."""

from __future__ import annotations

from enum import IntEnum

import numpy as np
import polars as pl


def code_names(codes: np.ndarray, table: dict[int, str], default: str = "") -> pl.Series:
    """``table[code]`` for every code, ``default`` for a code not in the table (negative
    ones included); one native gather, no Python per row."""
    top = max(table, default=-1) + 1
    labels = [default] * (top + 1)  # the last slot is every code the table lacks
    for code, name in table.items():
        if code >= 0:
            labels[code] = name
    c = codes.astype(np.int64)
    idx = np.where((c >= 0) & (c < top), c, top)
    return pl.Series(labels, dtype=pl.String).gather(idx)


def enum_names(codes: np.ndarray, enum: type[IntEnum], none: str | None = None) -> pl.Series:
    """Lower-case member names of ``codes`` (``""`` for a code that is no member); code 0
    reads ``none`` when given."""
    table = {m.value: m.name.lower() for m in enum}
    if none is not None:
        table[0] = none
    return code_names(codes, table)
