"""Numba kernel of the synthetic L3 order flow: a zero-intelligence limit order book
(Smith, Farmer, Gillemot & Krishnamurthy 2003; Cont, Stoikov & Talreja 2010).

Independent Poisson streams per side: limit orders at ``k`` ticks from the opposite
best quote with rate ``lam / k**alpha`` (k = 1..K), market orders with rate ``mu``,
and each resting order cancelled with rate ``theta``. Market orders take the opposite
best level in time priority (one execution event per resting order touched). Nothing
here knows about the engine's book: the events are plain LOBSTER-style messages.
"""

from __future__ import annotations

import numpy as np

from framework.types.jit import njit

ADD, CANCEL, DELETE, EXEC = 1, 2, 3, 4
# float parameter vector
P_LAM, P_ALPHA, P_MU, P_THETA, P_PARTIAL, P_LOTS = range(6)


@njit(cache=True)
def _best(r_side, r_px, n, side):
    """Best price (ticks) on ``side`` among the ``n`` resting orders; -1 if none."""
    b = -1
    for j in range(n):
        if r_side[j] == side:
            p = r_px[j]
            if b < 0 or (side > 0 and p > b) or (side < 0 and p < b):
                b = p
    return b


@njit(cache=True)
def _lots(mean_lots):
    """Shares: 100 x a geometric number of lots with mean ``mean_lots``."""
    return 100.0 * np.random.geometric(1.0 / mean_lots)


@njit(cache=True)
def zi_flow(seed, t_open, t_end, p0, k_max, par, id0, out_ts, out_kind, out_side, out_oid,
            out_px, out_sz, r_id, r_side, r_px, r_sz, r_seq) -> int:
    """Events in [t_open, t_end) ns, prices in ticks from a start mid of ``p0`` ticks,
    order ids from ``id0``; at ``t_end`` every order still resting is deleted (the
    exchange's end-of-day purge, so no order outlives its session).
    Writes the ``out_*`` columns and returns the event count, or -1 when an output or the
    resting-order store (``r_*``) is too small (the caller doubles them and retries:
    the same seed gives the same flow)."""
    np.random.seed(seed)
    w = np.empty(k_max)
    for k in range(k_max):
        w[k] = 1.0 / (k + 1.0) ** par[P_ALPHA]
    lam_side = par[P_LAM] * w.sum()
    cdf = np.cumsum(w) / w.sum()
    cap, store = out_ts.shape[0], r_id.shape[0]
    t = float(t_open)
    n = 0
    live = 0
    next_id = id0
    seq = 0
    bid = -1
    ask = -1
    mid = p0
    while True:
        rate = 2.0 * lam_side + 2.0 * par[P_MU] + par[P_THETA] * live
        t += np.random.exponential(1e9 / rate)
        ts = np.int64(t)
        if ts >= t_end:
            if n + live >= cap:
                return -1
            for j in range(live):
                out_ts[n], out_kind[n], out_side[n], out_oid[n] = t_end - 1, DELETE, r_side[j], r_id[j]
                out_px[n], out_sz[n] = r_px[j], r_sz[j]
                n += 1
            return n
        if n + 1 >= cap or live + 1 >= store:
            return -1
        u = np.random.random() * rate
        if u < 2.0 * lam_side:  # limit order k ticks from the opposite best
            side = 1 if u < lam_side else -1
            k = np.searchsorted(cdf, np.random.random()) + 1
            if side > 0:
                ref = ask if ask > 0 else (bid + 1 if bid > 0 else mid)
                px = max(ref - k, 1)
            else:
                ref = bid if bid > 0 else (ask - 1 if ask > 0 else mid)
                px = ref + k
            r_id[live], r_side[live], r_px[live] = next_id, side, px
            r_sz[live], r_seq[live] = _lots(par[P_LOTS]), seq
            out_ts[n], out_kind[n], out_side[n], out_oid[n] = ts, ADD, side, next_id
            out_px[n], out_sz[n] = px, r_sz[live]
            n += 1
            live += 1
            next_id += 1
            seq += 1
            if side > 0 and px > bid:
                bid = px
            if side < 0 and (ask < 0 or px < ask):
                ask = px
        elif u < 2.0 * lam_side + 2.0 * par[P_MU]:  # market order: take the opposite best
            side = -1 if u < 2.0 * lam_side + par[P_MU] else 1  # side of the resting orders hit
            want = _lots(par[P_LOTS])
            while want > 0.0:
                best = bid if side > 0 else ask
                if best < 0:
                    break
                j = -1
                for i in range(live):  # oldest order at the best price
                    if r_side[i] == side and r_px[i] == best and (j < 0 or r_seq[i] < r_seq[j]):
                        j = i
                if n + 1 >= cap:
                    return -1
                q = min(want, r_sz[j])
                out_ts[n], out_kind[n], out_side[n], out_oid[n] = ts, EXEC, side, r_id[j]
                out_px[n], out_sz[n] = best, q
                n += 1
                want -= q
                r_sz[j] -= q
                if r_sz[j] <= 0.0:
                    live -= 1
                    r_id[j], r_side[j], r_px[j] = r_id[live], r_side[live], r_px[live]
                    r_sz[j], r_seq[j] = r_sz[live], r_seq[live]
                    if side > 0:
                        bid = _best(r_side, r_px, live, 1)
                    else:
                        ask = _best(r_side, r_px, live, -1)
        elif live > 0:  # cancel a uniformly chosen resting order
            j = min(int(np.random.random() * live), live - 1)
            side = r_side[j]
            out_ts[n], out_side[n], out_oid[n], out_px[n] = ts, side, r_id[j], r_px[j]
            if r_sz[j] >= 200.0 and np.random.random() < par[P_PARTIAL]:
                q = 100.0 * np.floor(r_sz[j] / 200.0)
                out_kind[n], out_sz[n] = CANCEL, q
                r_sz[j] -= q
            else:
                out_kind[n], out_sz[n] = DELETE, r_sz[j]
                px = r_px[j]
                live -= 1
                r_id[j], r_side[j], r_px[j] = r_id[live], r_side[live], r_px[live]
                r_sz[j], r_seq[j] = r_sz[live], r_seq[live]
                if side > 0 and px == bid:
                    bid = _best(r_side, r_px, live, 1)
                if side < 0 and px == ask:
                    ask = _best(r_side, r_px, live, -1)
            n += 1
        if bid > 0 and ask > 0:
            mid = (bid + ask) // 2
