"""Sale conditions of US consolidated-tape trades: what each one may update in a bar.

One table, ``CONDITIONS``, is the rule. Each row is one condition: its bit in fw's
condition set (the bit layout of AlgoSeek / LEAN ``TradeConditionFlags``, so a LEAN
tick's condition word is already a set), the SIP letters that carry it on the CTA and
UTP feeds (what Alpaca and Polygon deliver), and whether a trade carrying it updates
the consolidated **high/low**, the **last** sale (a bar's open and close) and the
**volume**, as the CTA and UTP plans define it. A trade with several conditions updates
a field only if every one of its conditions allows it.

Two rule sets read the table:

* ``"sip"``: the plans' rules as they stand;
* ``"lean"``: what LEAN's (AlgoSeek's) minute bars do, which differs in two rows only:
  in the regular session intermarket-sweep and derivatively-priced prints count in the
  volume but never in prices (``LEAN_VOLUME_ONLY``); and a print flagged extended-hours
  (Form T), at any time of day, counts in prices whatever its other conditions. Measured
  on the shared AlgoSeek ticks, see docs/marketdata-feed.md.

Auctions (both rule sets): the listing market's opening print sets the open of the bar
holding the regular open; its closing print and official close, stamped after the close
(NYSE prints 16:00:11-16:01:04), belong to the session's last bar. Outside the regular
session Form T (extended hours) prints update prices (``"sip"``), as nearly every print
there carries it. ``role_of`` turns all of this into one small integer per trade that
the bar kernels read (``U_HL | U_LAST | U_VOL`` plus the auction marks).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import polars as pl

from framework.types.errors import FwError
from framework.types.jit import njit


class ConditionError(FwError, ValueError):
    """A condition code fw does not know, or an unknown rule set."""


class Condition(NamedTuple):
    """One sale condition: ``bit`` in fw's set, ``codes`` its SIP letters, and whether it
    lets a trade update the high/low (``hl``), the last sale (``last``: a bar's open and
    close) and the volume."""

    name: str
    bit: int
    codes: str
    hl: bool
    last: bool
    volume: bool


Y, N = True, False
CONDITIONS: tuple[Condition, ...] = (
    Condition("regular", 0, "@ ", Y, Y, Y),
    Condition("cash", 1, "C", N, N, Y),
    Condition("next_day", 2, "N", N, N, Y),
    Condition("seller", 3, "R", N, N, Y),
    Condition("yellow_flag", 4, "Y", Y, Y, Y),
    Condition("intermarket_sweep", 5, "F", Y, Y, Y),
    Condition("opening_prints", 6, "O", Y, Y, Y),
    Condition("closing_prints", 7, "6", Y, Y, Y),
    Condition("reopening_prints", 8, "5", Y, Y, Y),
    Condition("derivatively_priced", 9, "4", Y, N, Y),
    Condition("form_t", 10, "", N, N, Y),
    Condition("sold_last", 11, "L", Y, Y, Y),
    Condition("stopped_stock", 12, "1", Y, Y, Y),
    Condition("extended_hours", 13, "T", N, N, Y),
    Condition("sold_out_of_sequence", 14, "Z", Y, N, Y),
    Condition("split", 15, "S", Y, Y, Y),
    Condition("acquisition", 16, "A", Y, Y, Y),
    Condition("bunched", 17, "", Y, Y, Y),
    Condition("contingent", 18, "V7", N, N, Y),
    Condition("distribution", 19, "D", Y, Y, Y),
    Condition("average_price", 20, "BW", N, N, Y),
    Condition("cross", 21, "X", Y, Y, Y),
    Condition("price_variation", 22, "H", N, N, Y),
    Condition("rule_155", 23, "K", Y, Y, Y),
    Condition("official_close", 24, "M9", N, N, N),
    Condition("prior_reference_price", 25, "P", Y, N, Y),
    Condition("official_open", 26, "Q", N, N, N),
    Condition("cap_election", 27, "", Y, Y, Y),
    Condition("automatic_execution", 28, "E", Y, Y, Y),
    Condition("trade_through_exempt", 29, "8", Y, Y, Y),
    Condition("undocumented_30", 30, "", Y, Y, Y),
    Condition("odd_lot", 31, "I", N, N, Y),
)
# Letters carrying two conditions: 'G' bunched sold (a bunched trade reported out of
# sequence), 'U' extended hours sold (out of sequence). 'B' is the CTA's average-price
# trade; on the UTP feed it is a bunched trade, which this table then keeps out of prices.
_COMPOSITE = {"G": ("bunched", "sold_out_of_sequence"),
              "U": ("extended_hours", "sold_out_of_sequence")}
LEAN_VOLUME_ONLY = ("intermarket_sweep", "derivatively_priced")
RULE_SETS = ("sip", "lean")

BY_NAME = {c.name: c for c in CONDITIONS}


def bit(name: str) -> int:
    """The bit mask of condition ``name``."""
    return 1 << BY_NAME[name].bit


OPENING = bit("opening_prints")
CLOSING = bit("closing_prints")
OFFICIAL_CLOSE = bit("official_close")
FORM_T = bit("form_t") | bit("extended_hours")

# what a trade updates (role bits, int8); the bar kernels read nothing else
U_HL, U_LAST, U_VOL = 1, 2, 4
FULL = U_HL | U_LAST | U_VOL
R_OPEN = 8  # the listing market's opening print: sets the open of the regular open's bar
R_CLOSE = 16  # the listing market's closing print / official close, after the close
R_HELD = 32  # stamped in a close window: held until the window ends (any print)
# masks row: trades with any of these bits do not update high/low, last, volume; then
# the "extended" high/low and last masks, the bits that put any print under those
# (``"lean"``: Form T) and whether every print outside the regular session is (``"sip"``)
M_NO_HL, M_NO_LAST, M_NO_VOL, M_EXT, M_AS_EXT, M_EXT_BY_TIME = 0, 1, 2, 3, 5, 6


def _code_bits() -> dict[str, int]:
    out: dict[str, int] = {"": bit("regular")}
    for c in CONDITIONS:
        for code in c.codes:
            out[code] = 1 << c.bit
    for code, names in _COMPOSITE.items():
        out[code] = sum(bit(n) for n in names)
    return out


CODE_BITS = _code_bits()


def masks(rules: str = "sip") -> np.ndarray:
    """int64 ``[7]``: the condition bits that stop a trade updating high/low, last,
    volume under rule set ``rules`` ("sip" or "lean"); the "extended" high/low and last
    masks; the bits that put a print under those; 1 if every print outside the regular
    session is."""
    if rules not in RULE_SETS:
        raise ConditionError(f"sale-condition rules '{rules}': expected one of "
                             f"{', '.join(RULE_SETS)}")
    out = np.zeros(7, np.int64)
    for c in CONDITIONS:
        hl, last = c.hl, c.last
        if rules == "lean" and c.name in LEAN_VOLUME_ONLY:
            hl = last = False
        out[M_NO_HL] |= (not hl) << c.bit
        out[M_NO_LAST] |= (not last) << c.bit
        out[M_NO_VOL] |= (not c.volume) << c.bit
    if rules == "sip":  # outside regular hours a Form T print sets prices
        out[M_EXT] = out[M_NO_HL] & ~FORM_T
        out[M_EXT + 1] = out[M_NO_LAST] & ~FORM_T
        out[M_EXT_BY_TIME] = 1
    else:  # a Form T print sets prices whatever else it carries, at any hour
        out[M_AS_EXT] = FORM_T
    return out


@njit(cache=True, inline="always")
def role_of(flags, listing, regular, close_window, m):
    """What one trade updates (role bits, see module doc).

    flags: its condition set; listing: printed by the symbol's listing market; regular:
    stamped inside a regular session; close_window: stamped in [close, close + window)
    after a regular session; m: ``masks(rules)``. A print that adds no volume adds
    nothing (official open/close of other markets) except the listing market's official
    close in the close window, which sets the last bar's close.
    """
    held = R_HELD if close_window else 0
    if listing:
        if close_window:
            if flags & CLOSING:
                return FULL | R_CLOSE | held
            if flags & OFFICIAL_CLOSE:
                return U_HL | U_LAST | R_CLOSE | held
        if regular and flags & OPENING:
            return FULL | R_OPEN
    if flags & m[M_NO_VOL]:
        return held
    ext = M_EXT if (flags & m[M_AS_EXT] or (not regular and m[M_EXT_BY_TIME])) else 0
    role = U_VOL | held
    if not flags & m[M_NO_HL + ext]:
        role |= U_HL
    if not flags & m[M_NO_LAST + ext]:
        role |= U_LAST
    return role


@njit(cache=True, inline="always")
def first_close_after(t, d, reg_closes):
    """Index of the first session closing after ``t`` (ns UTC), searching forward from the
    previous answer ``d`` (trades come in time order) and anew when ``t`` went back."""
    if d > 0 and t < reg_closes[d - 1]:
        return np.searchsorted(reg_closes, t, side="right")
    n = reg_closes.shape[0]
    while d < n and reg_closes[d] <= t:
        d += 1
    return d


@njit(cache=True)
def roles_batch(ts, flags, listing, reg_opens, reg_closes, window, m):
    """``role_of`` for every trade (ts ns UTC, any order); sessions sorted."""
    out = np.empty(ts.shape[0], np.int8)
    n = reg_opens.shape[0]
    d = 0
    for i in range(ts.shape[0]):
        t = ts[i]
        d = first_close_after(t, d, reg_closes)
        regular = d < n and t >= reg_opens[d]
        close_window = d > 0 and t < reg_closes[d - 1] + window
        out[i] = role_of(flags[i], listing[i], regular, close_window, m)
    return out


def parse_conditions(codes: pl.Series | list[str], origin: str = "trades") -> np.ndarray:
    """Condition strings (comma-joined codes, one string per trade) -> int64 condition sets.

    A code is a SIP letter (CTA/UTP, as Alpaca and Polygon deliver them) or an AlgoSeek /
    LEAN condition word written ``0x<hex>``. An unknown code raises ``ConditionError``
    naming it, the first row holding it and ``origin``."""
    s = pl.Series(codes, dtype=pl.String).fill_null("")
    uniq = s.unique().to_list()
    value: dict[str, int] = {}
    for text in uniq:
        acc = 0
        for tok in text.split(","):
            t = tok.strip() if tok.strip() else tok[:1]
            if t.startswith("0x"):
                try:
                    acc |= int(t, 16)
                    continue
                except ValueError:
                    pass
            if t not in CODE_BITS:
                row = int((s == text).arg_max())
                raise ConditionError(f"{origin}: row {row}: unknown sale condition {t!r} in "
                                     f"{text!r} (expected SIP letters "
                                     f"{''.join(sorted(k for k in CODE_BITS if k.strip()))} "
                                     "or an AlgoSeek word 0x...)")
            acc |= CODE_BITS[t]
        value[text] = acc
    return s.replace_strict(value, return_dtype=pl.Int64).to_numpy()


def listing_exchange(exchange: np.ndarray, flags: np.ndarray, size: np.ndarray) -> str | None:
    """The listing market of one symbol's trades: the venue printing the most shares in
    opening and closing auction prints (NYSE 'N' for IBM, Arca 'P' for SPY, Nasdaq 'Q'
    for Nasdaq listings); None when no venue prints an auction."""
    auction = (flags & (OPENING | CLOSING)) != 0
    if not auction.any():
        return None
    frame = pl.DataFrame({"x": exchange[auction], "s": size[auction]})
    top = frame.group_by("x").agg(pl.col("s").sum()).sort(["s", "x"], descending=[True, False])
    return str(top["x"][0])


@dataclass(frozen=True)
class Prints:
    """Per-trade sale-condition data aligned with a TRADE_DTYPE array: ``flags`` int64
    condition sets and ``listing`` bool (printed by the symbol's listing market)."""

    flags: np.ndarray
    listing: np.ndarray


__all__ = [
    "CONDITIONS", "Condition", "ConditionError", "LEAN_VOLUME_ONLY", "Prints", "RULE_SETS",
    "listing_exchange", "masks", "parse_conditions", "role_of", "roles_batch",
]
