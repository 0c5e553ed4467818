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

Limit-order placement across venues (Cont & Kukanov 2017's market/limit mix with fill
probabilities) is not modelled here: the remainder an order cannot take is left to the
caller. Units: USD, shares.
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
