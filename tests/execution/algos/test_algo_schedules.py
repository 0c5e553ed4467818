"""Algo schedules against values worked out by hand and the Almgren–Chriss closed form,
and the TWAP / IS children the event loop sends under a hand-advanced minute clock."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from framework.execution.algos import schedules as S
from framework.execution.config import ExecutionConfig
from framework.risk import RiskConfig
from tests.execution.algos.algo_kit import MIN, minute_panel, run_algo


def _children(res):
    o = res.orders
    return o.filter(o["role"] == "algo_child")


def test_twap_children_exact_schedule_hand_clock():
    # 103 shares over 10 min in 2-min slices, lot 10: floor(103/5 /10)*10 = 20 per slice,
    # the last takes 103 - 80 = 23; slice i goes at the close of bar 2i (09:31 + 2i min)
    panel = minute_panel(np.full(30, 100.0), np.full(30, 1000.0))
    res = run_algo(panel, [0], 103, algo="twap", horizon_min=10, interval_min=2, lot=10)
    ch = _children(res)
    assert ch["qty"].to_list() == [20.0, 20.0, 20.0, 20.0, 23.0]
    assert ch["ts"].to_list() == [int(panel.ts[0]) + (2 * i + 1) * MIN for i in range(5)]
    parent = res.orders.filter(res.orders["role"] == "entry").row(0, named=True)
    assert parent["status"] == "filled" and parent["filled_qty"] == 103.0
    assert (ch["parent_id"] == -1).all()  # children are reserved like any order
    assert res.fills["qty"].sum() == 103.0 and res.fills.height == 5
    # each child fills at the open of the bar after it was sent
    assert res.fills["ts"].to_list() == [int(panel.ts[0]) + (2 * i + 1) * MIN for i in range(5)]


def test_twap_randomised_keeps_order_total_and_bounds():
    n, interval, j, s = 6, 120 * 10**9, 0.4, 0.3
    due = []
    for i in range(n):
        ts = [t for t in range(0, 7 * 120) if S.slice_due(t * 10**9, 0, interval, n, j, 7, 3) >= i]
        due.append(ts[0])
    assert due[0] == 0 and due == sorted(due)
    for i in range(1, n):
        assert abs(due[i] - 120 * i) <= j * 120 + 1
    cum = [S.twap_cum(k, n, 1000.0, 1.0, s, 7, 3) for k in range(n)]
    sizes = np.diff([0.0, *cum])
    assert cum[-1] == 1000.0 and (sizes > 0).all()
    # (1 + e_i) / sum(1 + e_k) with |e| <= s: each slice within these bounds of Q / n
    lo, hi = (1 - s) / (1 + s) * 1000 / n - 1, (1 + s) / (1 - s) * 1000 / n + 1
    assert ((sizes >= lo) & (sizes <= hi)).all()
    assert cum != [S.twap_cum(k, n, 1000.0, 1.0, s, 8, 3) for k in range(n)]  # seeded


def _euler_lagrange(X, n, kappa_tilde_sq, tau):
    """Almgren–Chriss optimum by its difference equation (x_{k-1} - 2x_k + x_{k+1} =
    kappa~^2 tau^2 x_k, x_0 = X, x_n = 0) solved as a linear system: no sinh."""
    m = n - 1
    A = np.zeros((m, m))
    b = np.zeros(m)
    for r in range(m):
        A[r, r] = -(2.0 + kappa_tilde_sq * tau * tau)
        if r > 0:
            A[r, r - 1] = 1.0
        if r < m - 1:
            A[r, r + 1] = 1.0
    b[0] = -X
    return np.r_[X, np.linalg.solve(A, b), 0.0]


@pytest.mark.parametrize("lam", [1e-7, 2e-6, 1e-5])
def test_almgren_chriss_equals_closed_form(lam):
    # the paper's example scale: sigma 0.95 $/share/sqrt(day), eta 2.5e-6, gamma 2.5e-7,
    # in seconds here; X = 1e6 shares over 10 slices of 5 minutes
    X, n, tau = 1e6, 10, 300.0
    sigma, eta, gamma = 0.95 / np.sqrt(23400.0), 2.5e-6 * 23400, 2.5e-7
    kappa = S.ac_kappa(lam, sigma, eta, gamma, tau)
    eta_t = eta - 0.5 * gamma * tau
    # (2/tau^2)(cosh(kappa tau) - 1) = lam sigma^2 / eta~
    assert (2 / tau**2) * (np.cosh(kappa * tau) - 1) == pytest.approx(
        lam * sigma**2 / eta_t, rel=1e-12)
    x = np.array([S.ac_holding(k, n, X, kappa, tau) for k in range(n + 1)])
    # the difference equation's kappa~^2 is 2(cosh(kappa tau) - 1)/tau^2
    ref = _euler_lagrange(X, n, 2 * (np.cosh(kappa * tau) - 1) / tau**2, tau)
    np.testing.assert_allclose(x / X, ref / X, rtol=0, atol=1e-12)


def test_almgren_chriss_tends_to_twap():
    X, n, tau = 1e6, 10, 300.0
    sigma, eta, gamma = 0.006, 0.06, 2.5e-7
    linear = X * (1 - np.arange(n + 1) / n)
    gaps = []
    for lam in (1e-4, 1e-6, 1e-8, 1e-10, 0.0):
        kappa = S.ac_kappa(lam, sigma, eta, gamma, tau)
        x = np.array([S.ac_holding(k, n, X, kappa, tau) for k in range(n + 1)])
        gaps.append(np.abs(x - linear).max())
    assert gaps[0] > gaps[1] > gaps[2] > gaps[3] and gaps[4] / X < 1e-12
    # kappa^2 is proportional to lambda: so is the gap to TWAP, for small lambda
    assert gaps[2] / gaps[3] == pytest.approx(100.0, rel=1e-3) and gaps[3] / X < 1e-7
    # more risk aversion trades earlier: the first slice is larger than TWAP's
    k1 = S.ac_kappa(1e-4, sigma, eta, gamma, tau)
    assert X - S.ac_holding(1, n, X, k1, tau) > X / n


def test_is_children_follow_the_trajectory_and_twap_at_zero_risk_aversion():
    panel = minute_panel(np.full(40, 100.0), np.full(40, 1e6))
    flat = run_algo(panel, [0], 1000, algo="is", risk_aversion=0.0, horizon_min=10,
                    interval_min=2)
    assert _children(flat)["qty"].to_list() == [200.0] * 5
    from framework.execution.algos.calibrate import AlgoInputs
    ai = AlgoInputs.flat(1, 5)
    ai.algo_sym[0] = [0.006, 0.06, 2.5e-7, 1e7]  # sigma, eta, gamma, ADV
    urgent = run_algo(panel, [0], 1000, ai, algo="is", risk_aversion=1e-3, horizon_min=10,
                      interval_min=2)
    q = _children(urgent)["qty"].to_numpy()
    kappa = S.ac_kappa(1e-3, 0.006, 0.06, 2.5e-7, 120.0)
    x = [S.ac_holding(k, 5, 1000.0, kappa, 120.0) for k in range(6)]
    want = np.diff(np.r_[0.0, np.floor(1000.0 - np.array(x[1:5]) + 1e-9), 1000.0])
    np.testing.assert_array_equal(q, want)
    assert q[0] > q[-1] and q.sum() == 1000.0


def test_vwap_bucket_retargets_by_the_remaining_profile():
    prof = np.array([0.4, 0.1, 0.2, 0.3])
    # bucket 1 of [1, 3] with 600 left: 600 * 0.1 / 0.6 = 100; the last bucket takes all
    assert S.vwap_bucket(600.0, prof, 1, 3) == pytest.approx(100.0)
    assert S.vwap_bucket(600.0, prof, 3, 3) == 600.0
    assert S.pov_target(0.2, 800.0) == pytest.approx(200.0)  # 200 / (800 + 200) = 20 %


def test_child_rejected_by_risk_cancels_the_parent():
    panel = minute_panel(np.full(30, 100.0), np.full(30, 1000.0))
    res = run_algo(panel, [0], 100, algo="twap", horizon_min=10, interval_min=2,
                   risk=RiskConfig(max_order_qty=10))
    parent = res.orders.filter(res.orders["role"] == "entry").row(0, named=True)
    ch = _children(res)
    assert ch.height == 1 and ch["status"][0] == "rejected"
    assert parent["status"] == "canceled" and parent["reject_reason"] == ch["reject_reason"][0]
    assert res.fills.height == 0


def test_residual_sweep_and_cancel_at_the_horizon():
    # limit children 50 bps under a flat 100 close never fill; at the horizon (09:41) the
    # sweep sends one market child for everything, the cancel closes the parent
    panel = minute_panel(np.full(30, 100.0), np.full(30, 1000.0))
    kw = dict(algo="twap", horizon_min=10, interval_min=5, child_orders="limit",
              limit_offset_bps=50.0)
    swept = run_algo(panel, [0], 100, residual="sweep", **kw)
    ch = _children(swept)
    assert ch["type"].to_list() == ["limit", "limit", "market"]
    assert ch["limit_price"][0] == pytest.approx(99.5) and ch["qty"][2] == 100.0
    assert ch["ts"][2] == int(panel.ts[0]) + 11 * MIN
    assert swept.fills["qty"].sum() == 100.0
    cancelled = run_algo(panel, [0], 100, residual="cancel", **kw)
    parent = cancelled.orders.filter(cancelled.orders["role"] == "entry").row(0, named=True)
    assert parent["status"] == "canceled" and cancelled.fills.height == 0
    carried = run_algo(panel, [0], 100, residual="carry", **kw)
    assert _children(carried).height > 3 and carried.fills.height == 0


def test_algo_keys_are_checked_naming_the_key():
    with pytest.raises(ValidationError, match="display"):
        ExecutionConfig(algo="iceberg")
    with pytest.raises(ValidationError, match="interval_min"):
        ExecutionConfig(algo="twap", horizon_min=5, interval_min=10)
    with pytest.raises(ValidationError, match="pov_rate"):
        ExecutionConfig(algo="pov", pov_rate=1.5)
    with pytest.raises(ValidationError, match="algo"):
        ExecutionConfig(algo="vwapp")


def test_working_index_leaves_out_a_long_lived_parent():
    # a 60-min TWAP on 30 minute bars: the parent (order 0) is open at the end and holds
    # the scan start; of its 30 children (one a minute, each filled at the next bar's
    # open) only the last, sent at the last close, is still working: the fill scans
    # visit that one order, not the 31 rows since the parent
    panel = minute_panel(np.full(30, 100.0), np.full(30, 1000.0))
    res = run_algo(panel, [0], 600, algo="twap", horizon_min=60, interval_min=1)
    st = res.state
    tally = st.tally
    assert res.orders.filter(res.orders["role"] == "entry")["status"].to_list() == [
        "partially_filled"]
    assert int(tally["n_orders"]) == 31 and int(tally["first_open"]) == 0
    assert int(tally["n_working"]) == 1 and int(tally["working_end"]) == 31
    assert int(st.orders.working[0]) == 30
    assert res.orders.filter(res.orders["role"] == "algo_child")["status"].to_list() == (
        ["filled"] * 29 + ["pending"])
