"""The broker adapter: alpaca-py's own clients pointed at Alpaca paper or a local venue
(``clients``), the rate-limit bucket fed by the broker's headers (``ratelimit``), order
commands with their four outcomes (``gateway``) and stream messages as the engine's rows
(``messages``)."""
