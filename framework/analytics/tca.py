"""Post-trade transaction-cost analysis of algo parents (``framework.execution.algos``).

Per parent, for a buy (signs flip for a sell; Perold 1988): decision price P_d (the
last close when the parent was decided), arrival price P_0 (the open of the first bar
after the decision: the first price the order could meet), fills (q_j, p_j), intended
Q, filled q, end price P_T (the close of the bar the parent finished in):

    delay       = q (P_0 - P_d)
    trading     = sum q_j (p_j - P_0)
    opportunity = (Q - q) (P_T - P_d)
    fees        = the children's fees

and the implementation shortfall is their sum, reported in USD and in bps of Q * P_d.
Slippage against the interval VWAP (the bars' vwap weighted by their volume over the
bars from arrival to end) is side * (avg fill - VWAP) / VWAP in bps; participation is
q over the market volume of those bars.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import polars as pl

from framework.execution.algos.calibrate import estimate
from framework.execution.algos.params import AS_ADV, AS_SIGMA, PC_USED, Algo
from framework.execution.algos.pretrade import fit_y

TCA_COLUMNS = ("order_id", "symbol", "algo", "side", "qty", "filled", "decision_ts",
               "end_ts", "decision_px", "arrival_px", "end_px", "avg_px", "delay_usd",
               "trading_usd", "opportunity_usd", "fees_usd", "is_usd", "is_bps",
               "delay_bps", "trading_bps", "opportunity_bps", "fees_bps", "vwap",
               "vs_vwap_bps", "participation", "children")


def parent_tca(state, panel, parents: Iterable[int] | None = None) -> pl.DataFrame:
    """One row per algo parent of a run (``EngineState`` ``state`` over ``panel``, the
    bars up to the last one the loop advanced); columns ``TCA_COLUMNS`` (USD, bps = 1e-4
    of Q * P_d, shares, ns). ``parents``: rows of the parent table to report (default
    all; the live session reports each as it finishes)."""
    od = state.orders
    rows = []
    nf = int(state.tally["n_fills"])
    fills = od.fills[:nf]
    child_of = od.plan["algo_parent"][: int(state.tally["n_orders"])]
    fill_parent = child_of[fills["order_id"]] - 1 if nf else np.zeros(0, np.int64)
    dec_ts = panel.decision_ts()
    for k in range(int(od.pcount[PC_USED])) if parents is None else parents:
        p = od.parents[k]
        i = int(p["order"])
        o = od.orders[i]
        s, side, Q = int(o["sym"]), int(o["side"]), float(o["qty"])
        mine = fills[fill_parent == i]
        q = float(mine["qty"].sum())
        t_arr = min(int(np.searchsorted(panel.ts, o["ts_created"])), panel.n_bars - 1)
        done = int(o["ts_done"]) or int(dec_ts[-1])
        t_end = max(int(np.searchsorted(dec_ts, done, side="right")) - 1, t_arr)
        p_d, p_0, p_t = float(p["px_dec"]), float(panel.open[t_arr, s]), float(
            panel.close[t_end, s])
        cost = float((mine["qty"] * mine["price"]).sum())
        avg = cost / q if q > 0 else np.nan
        delay = side * q * (p_0 - p_d)
        trading = side * (cost - q * p_0)
        opp = side * (Q - q) * (p_t - p_d)
        fees = float(mine["fee"].sum())
        total = delay + trading + opp + fees
        w = slice(t_arr, t_end + 1)
        v = np.nan_to_num(panel.volume[w, s])
        px = np.where(np.isfinite(panel.vwap[w, s]), panel.vwap[w, s], panel.close[w, s])
        vwap = float((px * v).sum() / v.sum()) if v.sum() > 0 else np.nan
        bps = 1e4 / (Q * p_d) if Q * p_d > 0 else np.nan
        rows.append((i, state.symbols[s], Algo(int(od.plan["algo"][i])).name.lower(), side,
                     Q, q, int(o["ts_created"]), done, p_d, p_0, p_t, avg, delay, trading,
                     opp, fees, total, total * bps, delay * bps, trading * bps, opp * bps,
                     fees * bps, vwap, side * (avg - vwap) / vwap * 1e4 if q > 0 else np.nan,
                     q / v.sum() if v.sum() > 0 else np.nan, int(p["n_child"])))
    return pl.DataFrame(rows, schema=list(TCA_COLUMNS), orient="row")


def tca_summary(tca: pl.DataFrame) -> dict:
    """``metrics.json``'s ``tca``: parents, shares, and the quantity-weighted means of the
    IS (and its parts) in bps and of the slippage vs interval VWAP (bps); mean
    participation."""
    if tca.height == 0:
        return {"parents": 0}
    w = tca["qty"] * tca["decision_px"]
    filled = tca.filter(pl.col("filled") > 0)
    out = {"parents": tca.height, "shares_intended": float(tca["qty"].sum()),
           "shares_filled": float(tca["filled"].sum()),
           "is_usd": float(tca["is_usd"].sum())}
    for c in ("is_bps", "delay_bps", "trading_bps", "opportunity_bps", "fees_bps"):
        out[c] = float((tca[c] * w).sum() / w.sum())
    if filled.height:
        out["vs_vwap_bps"] = float((filled["vs_vwap_bps"] * filled["filled"]).sum()
                                   / filled["filled"].sum())
        out["participation"] = float(filled["participation"].mean())
    return out


DAY_S = 390 * 60.0  # seconds of a full regular session: sigma per sqrt(s) -> per day


def impact_fit(tca: pl.DataFrame, panel) -> dict:
    """``metrics.json``'s ``tca.impact_fit``: the square-root law's Y fitted to the
    parents' ``trading_bps`` (``execution.algos.pretrade.fit_y``: least squares through
    the origin, 95 % bootstrap interval over the parents), with sigma_daily (fraction)
    and the ADV (shares) of each symbol measured on the run's own bars
    (``execution.algos.calibrate.estimate``, the IS estimates' definition; sigma_daily
    = sigma USD/sqrt(s) * sqrt(390 min) / decision price). No half spread is subtracted
    (bars carry no quoted spread): Y absorbs what the fill model charges at a fill.
    Parents with no fill or no estimate are left out; Y is null below 2 parents."""
    filled = tca.filter(pl.col("filled") > 0)
    est = estimate(panel, len(np.unique(panel.session)), 5).algo_sym
    idx = {s: j for j, s in enumerate(panel.symbols)}
    sym = np.array([idx[s] for s in filled["symbol"]], np.int64)
    sigma = est[sym, AS_SIGMA] * np.sqrt(DAY_S) / filled["decision_px"].to_numpy()
    fit = fit_y(filled["trading_bps"].to_numpy(), filled["filled"].to_numpy(),
                est[sym, AS_ADV], sigma, np.zeros(filled.height))
    ok = fit.n >= 2
    return {"y": fit.y if ok else None, "ci95": [fit.lo, fit.hi] if ok else None,
            "parents": fit.n, "cost": "trading_bps", "half_spread_bps": 0.0,
            "sigma_adv": "the run's own bars"}
