"""The paper account the venue keeps: cash, positions, marks and the FILL activities.

This is the broker's book, which a client reconciles against; the client's own ledger
is the risk stage's (``framework.risk``). Positions follow Alpaca's average-entry rule:
adding at the same side re-averages, reducing keeps the average, crossing zero starts
the new side at the fill price. Cash moves by notional and fees (USD). Buying power is
``2 x equity - gross market value`` (a 2x margin account; open orders reserve nothing).
"""

from __future__ import annotations

import uuid

from live.venue.wire import num, rfc3339

MARGIN_MULTIPLIER = 2.0


class Account:
    """One account (id, number, cash USD, positions ``symbol -> [qty, avg entry USD]``)."""

    def __init__(self, cash: float, account_id: str | None = None):
        self.id = account_id or str(uuid.uuid4())
        self.number = "PA" + self.id.replace("-", "")[:10].upper()
        self.cash = float(cash)
        self.initial_cash = float(cash)
        self.fees = 0.0
        self.positions: dict[str, list[float]] = {}
        self.last_px: dict[str, float] = {}
        self.first_px: dict[str, float] = {}
        self.activities: list[dict] = []

    def mark(self, symbol: str, price: float) -> None:
        """Last price of ``symbol`` (USD) for valuation; the first one seen is the
        session's reference ("last day") price."""
        if price > 0:
            self.last_px[symbol] = price
            self.first_px.setdefault(symbol, price)

    def apply_fill(self, symbol: str, sign: int, qty: float, px: float, fee: float) -> float:
        """Book ``qty`` shares at ``px`` (``sign`` +1 buy, -1 sell) and ``fee`` USD;
        return the signed position after it."""
        pos, avg = self.positions.get(symbol, (0.0, 0.0))
        new = pos + sign * qty
        if abs(new) < 1e-9:
            new, avg = 0.0, 0.0
        elif pos == 0.0 or (pos > 0) == (sign > 0):
            avg = (abs(pos) * avg + qty * px) / (abs(pos) + qty)
        elif (new > 0) != (pos > 0):
            avg = px  # crossed zero: the rest opens the other side at this price
        if new == 0.0:
            self.positions.pop(symbol, None)
        else:
            self.positions[symbol] = [new, avg]
        self.cash -= sign * qty * px + fee
        self.fees += fee
        self.mark(symbol, self.last_px.get(symbol, px))
        return new

    def price(self, symbol: str) -> float:
        """Last known price of ``symbol`` (USD), NaN if none yet."""
        return self.last_px.get(symbol, float("nan"))

    def market_values(self) -> tuple[float, float]:
        """(long market value, short market value <= 0), USD at the last marks."""
        long_mv = short_mv = 0.0
        for sym, (q, avg) in self.positions.items():
            mv = q * self.last_px.get(sym, avg)
            if q > 0:
                long_mv += mv
            else:
                short_mv += mv
        return long_mv, short_mv

    def equity(self) -> float:
        long_mv, short_mv = self.market_values()
        return self.cash + long_mv + short_mv

    def buying_power(self) -> float:
        long_mv, short_mv = self.market_values()
        return max(MARGIN_MULTIPLIER * self.equity() - (long_mv - short_mv), 0.0)

    def record_fill(self, order, qty: float, px: float, ts: int, execution_id: str,
                    event: str) -> None:
        """Append the FILL activity of one execution (Alpaca's TradeActivity shape plus
        ``execution_id``, the id the ``trade_updates`` fill carried)."""
        day = rfc3339(ts)
        self.activities.append({
            "id": f"{day[:4]}{day[5:7]}{day[8:10]}{day[11:13]}{day[14:16]}{day[17:19]}"
                  f"{day[20:23]}::{execution_id}",
            "account_id": self.id, "activity_type": "FILL", "transaction_time": day,
            "type": event, "price": num(px), "qty": num(qty), "side": order.side,
            "symbol": order.symbol, "leaves_qty": num(order.remaining),
            "order_id": order.id, "cum_qty": num(order.filled_qty),
            "order_status": order.status, "execution_id": execution_id, "_ts": int(ts)})

    def json(self, now: int) -> dict:
        """The TradeAccount object (money as strings)."""
        long_mv, short_mv = self.market_values()
        eq = self.cash + long_mv + short_mv
        bp = num(self.buying_power())
        return {"id": self.id, "account_number": self.number, "status": "ACTIVE",
                "crypto_status": "INACTIVE", "currency": "USD", "cash": num(self.cash),
                "buying_power": bp, "regt_buying_power": bp,
                "daytrading_buying_power": bp, "non_marginable_buying_power": num(max(self.cash, 0.0)),
                "equity": num(eq), "last_equity": num(self.initial_cash),
                "portfolio_value": num(eq), "long_market_value": num(long_mv),
                "short_market_value": num(short_mv), "initial_margin": "0",
                "maintenance_margin": "0", "last_maintenance_margin": "0", "sma": "0",
                "multiplier": num(MARGIN_MULTIPLIER), "accrued_fees": num(self.fees),
                "pending_transfer_in": "0", "pending_transfer_out": "0",
                "pattern_day_trader": False, "trading_blocked": False,
                "transfers_blocked": False, "account_blocked": False,
                "trade_suspended_by_user": False, "shorting_enabled": True,
                "daytrade_count": 0, "created_at": rfc3339(now)}
