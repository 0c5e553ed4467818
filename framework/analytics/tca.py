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

import numpy as np
import polars as pl

from framework.execution.algos.params import Algo

TCA_COLUMNS = ("order_id", "symbol", "algo", "side", "qty", "filled", "decision_ts",
               "end_ts", "decision_px", "arrival_px", "end_px", "avg_px", "delay_usd",
               "trading_usd", "opportunity_usd", "fees_usd", "is_usd", "is_bps",
               "delay_bps", "trading_bps", "opportunity_bps", "fees_bps", "vwap",
               "vs_vwap_bps", "participation", "children")


def parent_tca(state, panel) -> pl.DataFrame:
    """One row per algo parent of a finished run (``EngineState`` ``state`` over
    ``panel``); columns ``TCA_COLUMNS`` (USD, bps = 1e-4 of Q * P_d, shares, ns)."""
    od = state.orders
    n = int(od.pcount[0])
    rows = []
    nf = int(state.tally["n_fills"])
    fills = od.fills[:nf]
    child_of = od.plan["algo_parent"][: int(state.tally["n_orders"])]
    fill_parent = child_of[fills["order_id"]] - 1 if nf else np.zeros(0, np.int64)
    dec_ts = panel.decision_ts()
    for k in range(n):
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
