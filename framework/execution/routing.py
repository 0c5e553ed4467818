"""Smart order routing of a marketable order across simulated venues, each with its own
book snapshot, taker fee (a rebate is a negative fee), latency penalty, lot size and
fixed cost per order sent (numba kernels; ``docs/execution.md``).

A venue's cost of ``x`` shares of a buy is the walk of its ask levels for ``x`` plus
``(taker_fee + latency_penalty) * x`` plus ``fixed`` when ``x`` > 0 (USD; a sell walks the
bids and its cost is the negative of what it brings in). ``x`` must be a multiple of the
venue's lot and at most its displayed depth.

* :func:`greedy_split` — the rule of thumb: every level of every venue ranked by
  effective price (price +- fee + latency penalty), taken in that order in lots;
* :func:`optimal_split` — the exact minimum-cost split (dynamic programming over venues
  on the lots' common grid), fixed costs and lots included: never worse than the best
  single venue, since sending it all to one venue is one of the splits it weighs. It
  routes the most shares any split can fill, at the least cost among those splits.

* :func:`placement_split` — Cont & Kukanov (2017): one market order and limit orders
  at the best of each venue, sized against the queues ahead and the venues' outflow
  (:func:`placement_single` is their closed form for one venue).

Units: USD, shares.
"""

from __future__ import annotations

import math

import numpy as np

from framework.types.jit import kernel, njit


@kernel
def venue_cost(side: int, x: float, px: np.ndarray, sz: np.ndarray, fee: float,
               penalty: float, fixed: float) -> float:
    """USD cost of taking ``x`` shares from one venue's levels ``px``/``sz`` (best first;
    asks for a buy, bids for a sell): inf beyond its displayed depth."""
    if x <= 0.0:
        return 0.0
    left = x
    cost = 0.0
    for lv in range(px.shape[0]):
        if left <= 0.0:
            break
        take = min(left, sz[lv])
        if take > 0.0 and np.isfinite(px[lv]):
            cost += side * px[lv] * take
            left -= take
    if left > 1e-9:
        return np.inf
    return cost + (fee + penalty) * x + fixed


@njit(cache=True)  # allocates its answer: not a runtime-free kernel
def greedy_split(side, qty, px, sz, fee, penalty, lot) -> np.ndarray:
    """Shares per venue ``[K]`` by the greedy rule (see the module docstring); ``px``,
    ``sz`` ``[K, levels]``."""
    K, L = px.shape
    alloc = np.zeros(K)
    eff = np.full(K * L, np.inf)
    for k in range(K):
        for lv in range(L):
            if sz[k, lv] > 0.0 and np.isfinite(px[k, lv]):
                eff[k * L + lv] = side * px[k, lv] + fee[k] + penalty[k]
    order = np.argsort(eff, kind="mergesort")  # ties: the lower venue, its better level
    left = qty
    depth = np.zeros(K)  # shares of each venue's levels reached so far
    for r in order:
        if left <= 0.0 or not np.isfinite(eff[r]):
            break
        k = r // L
        # a venue's levels rank best first, so reaching this one adds its size; the
        # venue takes whole lots of what it can reach
        depth[k] += sz[k, r % L]
        have = min(depth[k], alloc[k] + left)
        if lot[k] > 0.0:
            have = math.floor(have / lot[k] + 1e-9) * lot[k]
        if have > alloc[k]:
            left -= have - alloc[k]
            alloc[k] = have
    return alloc


@kernel
def _grid(lot: np.ndarray) -> float:
    """The lots' common grid (shares): their gcd when whole, else 1."""
    g = 0
    for v in lot:
        n = int(round(v)) if v > 0.0 else 1
        a, b = g, n
        while b:
            a, b = b, a % b
        g = a
    return float(max(g, 1))


@njit(cache=True)
def optimal_split(side, qty, px, sz, fee, penalty, lot, fixed) -> np.ndarray:
    """Shares per venue ``[K]`` of the least-cost split of the most shares (up to
    ``qty``) the venues can fill in their lots (see the module docstring)."""
    K = px.shape[0]
    u = _grid(lot)
    n = int(math.floor(qty / u + 1e-9))
    best = np.full((K + 1, n + 1), np.inf)
    pick = np.zeros((K + 1, n + 1), np.int64)
    best[0, 0] = 0.0
    for k in range(K):
        step = max(int(round(lot[k] / u)), 1) if lot[k] > 0.0 else 1
        cost = np.full(n + 1, np.inf)
        for i in range(0, n + 1, step):
            c = venue_cost(side, i * u, px[k], sz[k], fee[k], penalty[k], fixed[k])
            if not np.isfinite(c):
                break
            cost[i] = c
        for j in range(n + 1):
            for i in range(0, j + 1, step):
                if not np.isfinite(cost[i]):
                    break
                c = best[k, j - i] + cost[i]
                if c < best[k + 1, j]:
                    best[k + 1, j] = c
                    pick[k + 1, j] = i
    j = n
    while j > 0 and not np.isfinite(best[K, j]):
        j -= 1
    alloc = np.zeros(K)
    for k in range(K, 0, -1):
        i = pick[k, j]
        alloc[k - 1] = i * u
        j -= i
    return alloc


@kernel
def split_cost(side, alloc, px, sz, fee, penalty, fixed) -> float:
    """USD cost of a split ``alloc`` ``[K]`` (inf if a venue cannot fill its part)."""
    c = 0.0
    for k in range(alloc.shape[0]):
        c += venue_cost(side, alloc[k], px[k], sz[k], fee[k], penalty[k], fixed[k])
    return c


# --- Cont & Kukanov (2017): one market order and limit orders at the best of K venues ---
#
# A buy (a sell is the mirror: every quantity below is per share and relative to the mid)
# of a target S shares is split into X = (M, L_1 .. L_K): M shares by a market order and
# L_k shares posted at the best bid of venue k behind Q_k shares of queue. Over the
# horizon venue k's queue at the best loses xi_k shares (executions + cancellations), so
# the limit order fills min((xi_k - Q_k)+, L_k) and A = M + sum of those is what fills.
# The cost, in USD relative to the mid, is
#   V(X, xi) = (h + f) M - sum_k (h + r_k) min((xi_k - Q_k)+, L_k)
#              + lam_u (S - A)+ + lam_o (A - S)+
# (h half spread, f taker fee, r_k maker rebate, lam_u / lam_o the under/overfill
# penalties, all USD/share) and the placement minimises E[V] under the distribution of
# xi, given as N equally likely scenarios xi[N, K] (e.g. outflows measured on the tape).


@kernel(inline="always")
def _scenario_v(S, M, a, reb, h, f, lam_u, lam_o) -> float:
    """V of one scenario: ``M`` market shares, ``a`` shares filled in all, ``reb`` USD
    the limit fills earned (sum of (h + r_k) per share)."""
    return (h + f) * M - reb + lam_u * max(S - a, 0.0) + lam_o * max(a - S, 0.0)


@kernel
def placement_cost(S, M, L, Q, xi, h, f, r, lam_u, lam_o) -> float:
    """Expected cost E[V(X, xi)] (USD, relative to the mid) of the placement ``M``
    market shares and ``L[K]`` limit shares behind queues ``Q[K]`` (shares), over the
    scenarios ``xi[N, K]`` (shares each venue's best loses over the horizon), equally
    weighted; ``h``, ``f``, ``r[K]``, ``lam_u``, ``lam_o`` USD/share (see above)."""
    N, K = xi.shape
    total = 0.0
    for n in range(N):
        a = M
        reb = 0.0
        for k in range(K):
            got = min(max(xi[n, k] - Q[k], 0.0), L[k])
            a += got
            reb += (h + r[k]) * got
        total += _scenario_v(S, M, a, reb, h, f, lam_u, lam_o)
    return total / N


@kernel
def _fills(lim, Q, xi, h, r, fill, reb) -> None:
    """Per scenario, the shares the limits ``lim[K]`` fill (``fill[N]``) and what those
    fills earn (``reb[N]``, USD)."""
    N, K = xi.shape
    for n in range(N):
        a = 0.0
        e = 0.0
        for k in range(K):
            got = min(max(xi[n, k] - Q[k], 0.0), lim[k])
            a += got
            e += (h + r[k]) * got
        fill[n] = a
        reb[n] = e


@kernel
def _with_market(S, M, fill, reb, h, f, lam_u, lam_o) -> float:
    """E[V] of the limits whose fills are ``fill``/``reb`` plus ``M`` market shares."""
    total = 0.0
    for n in range(fill.shape[0]):
        total += _scenario_v(S, M, M + fill[n], reb[n], h, f, lam_u, lam_o)
    return total / fill.shape[0]


@njit(cache=True)
def placement_single(S, Q, xi, h, f, r, lam_u, lam_o, lot) -> np.ndarray:
    """Cont & Kukanov's closed form for one venue: ``[M, L]`` shares.

    With lam_u > h + f (a market order is cheaper than falling short) and
    lam_o >= h + r (an extra limit fill is not worth its overfill penalty) the optimum
    posts exactly the target, M + L = S, and dE[V]/dL = -(2h + f + r) + (lam_u + h + r)
    F(Q + L), F the distribution function of xi, so
      L* = F^-1((2h + f + r) / (lam_u + h + r)) - Q, clipped to [0, S]
    (F^-1 the lower quantile of the scenarios ``xi[N]``). E[V] is convex along
    M = S - L, so on the lot grid the optimum is the lot just below or above L*; ``S``
    is a multiple of ``lot`` (shares)."""
    xs = np.sort(xi)
    N = xs.shape[0]
    q = (2.0 * h + f + r) / (lam_u + h + r)
    if q <= 0.0:
        star = 0.0
    elif q >= 1.0:
        star = S
    else:
        i = min(max(int(math.ceil(q * N - 1e-12)) - 1, 0), N - 1)
        star = min(max(xs[i] - Q, 0.0), S)
    lo = math.floor(star / lot + 1e-9) * lot
    hi = min(lo + lot, S)
    best = lo
    if hi > lo:
        col = xs.reshape((N, 1))
        qk, rk = np.full(1, Q), np.full(1, r)
        c_lo = placement_cost(S, S - lo, np.full(1, lo), qk, col, h, f, rk, lam_u, lam_o)
        c_hi = placement_cost(S, S - hi, np.full(1, hi), qk, col, h, f, rk, lam_u, lam_o)
        if c_hi < c_lo - 1e-12:
            best = hi
    out = np.empty(2)
    out[0] = S - best
    out[1] = best
    return out


@kernel
def _best_market(S, top, lot, fill, reb, h, f, lam_u, lam_o, m0):
    """``(lots, E[V])`` of the best market order for limit orders whose fills are
    ``fill``/``reb`` (:func:`_fills`). For fixed limits E[V] is convex in M (each
    scenario adds (h + f) M and the penalties of M + fills - S), so walking from the
    guess ``m0`` (lots) downhill one lot at a time ends at the optimum; the limits
    weighed one after the other move it little, so the walk is short."""
    m = min(max(m0, 0), top)
    c = _with_market(S, m * lot, fill, reb, h, f, lam_u, lam_o)
    step = 1
    if m < top:
        up = _with_market(S, (m + 1) * lot, fill, reb, h, f, lam_u, lam_o)
        if up < c - 1e-12:
            m, c = m + 1, up
        else:
            step = -1
    else:
        step = -1
    while 0 <= m + step <= top:
        nxt = _with_market(S, (m + step) * lot, fill, reb, h, f, lam_u, lam_o)
        if nxt >= c - 1e-12:
            break
        m, c = m + step, nxt
    return m, c


EXACT_POINTS = 1 << 14  # limit-order grids up to this many points are searched whole


@njit(cache=True)
def placement_split(S, Q, xi, h, f, r, lam_u, lam_o, lot, n_iter) -> np.ndarray:
    """Cont & Kukanov's placement across K venues: ``[M, L_1 .. L_K]`` shares, each a
    multiple of ``lot`` in [0, S] (``S`` a multiple of ``lot``), minimising E[V] over the
    scenarios (:func:`placement_cost`, same arguments).

    For given limit orders E[V] is convex in M, so M is always the exact best
    (:func:`_best_market`). The limits:

    * exact when the grid has at most ``EXACT_POINTS`` points ((S/lot + 1)^K): every
      point is weighed;
    * else the best of: that search on the coarsest grid of limits (every ``step``
      lots) small enough, their stochastic approximation (``n_iter`` projected
      subgradient steps of V over the scenarios taken in turn, constant step
      sqrt(K) S / sqrt(n_iter sum G_j^2), G_j bounding the j-th partial derivative, the
      iterates averaged, rounded to lots) and each venue alone; then improved by moves
      of one venue's limit to any grid value or of lots between two venues while one
      lowers E[V]. That is a local optimum on the lot grid, not always the global one:
      E[V] is not convex in L (its overfill term is concave there).

    Each single venue's own optimum (:func:`placement_single`) is a candidate too, so
    the result never costs more than the best single venue."""
    N, K = xi.shape
    top = int(math.floor(S / lot + 1e-9))
    lim = np.zeros(K)
    fill = np.zeros(N)
    reb = np.zeros(N)
    best = np.zeros(K, np.int64)
    cand = np.zeros(K, np.int64)
    step = 1  # the coarsest grid of limits (in lots) that can be searched whole
    while (top // step + 1) ** K > EXACT_POINTS:
        step += 1
    best_m, best_c = _search_grid(S, top, step, lot, best, lim, fill, reb, Q, xi, h, f, r,
                                  lam_u, lam_o)
    if step == 1:
        return _placement(best_m, best, lot)
    # the stochastic approximation, from all-market
    x = np.zeros(K + 1)
    avg = np.zeros(K + 1)
    g2 = (h + f + lam_u + lam_o) ** 2
    for k in range(K):
        g2 += (h + r[k] + lam_u + lam_o) ** 2
    gamma = math.sqrt(K) * S / math.sqrt(max(n_iter, 1) * g2)
    x[0] = S
    for it in range(n_iter):
        n = it % N
        a = x[0]
        for k in range(K):
            a += min(max(xi[n, k] - Q[k], 0.0), x[k + 1])
        pen = 0.0
        if a < S - 1e-12:
            pen = -lam_u
        elif a > S + 1e-12:
            pen = lam_o
        x[0] = min(max(x[0] - gamma * (h + f + pen), 0.0), S)
        for k in range(K):
            if xi[n, k] > Q[k] + x[k + 1]:
                x[k + 1] = min(max(x[k + 1] - gamma * (pen - h - r[k]), 0.0), S)
        avg += x
    starts = np.zeros((K + 1, K), np.int64)  # the SA's average, then each venue alone
    for k in range(K):
        starts[0, k] = min(max(int(round(avg[k + 1] / max(n_iter, 1) / lot)), 0), top)
        one = placement_single(S, Q[k], xi[:, k], h, f, r[k], lam_u, lam_o, lot)
        starts[k + 1, k] = int(round(one[1] / lot))
    for st in range(K + 1):
        if n_iter == 0 and st == 0:
            continue
        cand[:] = starts[st]
        m, c = _lots_cost(S, top, lot, cand, lim, fill, reb, Q, xi, h, f, r, lam_u, lam_o,
                          best_m)
        if c < best_c - 1e-12:
            best_m, best_c = m, c
            best[:] = cand
    improved = True
    while improved:
        improved = False
        for i in range(K):
            for j in range(K):
                for v in range(top + 1):
                    cand[:] = best
                    if i == j:
                        cand[i] = v
                    else:
                        cand[i] = best[i] + v
                        cand[j] = best[j] - v
                        if v == 0 or cand[i] > top or cand[j] < 0:
                            continue
                    m, c = _lots_cost(S, top, lot, cand, lim, fill, reb, Q, xi, h, f, r,
                                      lam_u, lam_o, best_m)
                    if c < best_c - 1e-12:
                        best_m, best_c = m, c
                        best[:] = cand
                        improved = True
    return _placement(best_m, best, lot)


@kernel
def _search_grid(S, top, step, lot, best, lim, fill, reb, Q, xi, h, f, r, lam_u, lam_o):
    """Every limit placement with each ``L_k`` a multiple of ``step`` lots (at most
    ``top``), the market order the best for each: ``(market lots, E[V])`` of the least
    cost one, its limits (lots) left in ``best[K]``; ``lim``, ``fill``, ``reb`` scratch."""
    K = lim.shape[0]
    n = top // step + 1
    points = n ** K
    best_m, best_c = -1, np.inf
    m = top
    for p in range(points):
        code = p
        for k in range(K):
            lim[k] = (code % n) * step * lot
            code //= n
        _fills(lim, Q, xi, h, r, fill, reb)
        m, c = _best_market(S, top, lot, fill, reb, h, f, lam_u, lam_o, m)
        if c < best_c - 1e-12:
            best_m, best_c = m, c
            for k in range(K):
                best[k] = int(round(lim[k] / lot))
    return best_m, best_c


@kernel
def _lots_cost(S, top, lot, cand, lim, fill, reb, Q, xi, h, f, r, lam_u, lam_o, m0):
    """``(market lots, E[V])`` of the limits ``cand[K]`` (lots) with the best market
    order (found from the guess ``m0`` lots); ``lim``, ``fill``, ``reb`` scratch."""
    for k in range(lim.shape[0]):
        lim[k] = cand[k] * lot
    _fills(lim, Q, xi, h, r, fill, reb)
    return _best_market(S, top, lot, fill, reb, h, f, lam_u, lam_o, m0)


@njit(cache=True)
def _placement(m, lim_lots, lot) -> np.ndarray:
    """``[M, L_1 .. L_K]`` shares from lots."""
    out = np.empty(lim_lots.shape[0] + 1)
    out[0] = m * lot
    for k in range(lim_lots.shape[0]):
        out[k + 1] = lim_lots[k] * lot
    return out
