"""fw: a research-first algorithmic trading framework for US equities.

The package tree mirrors the pipeline in ``docs/architecture.md``:
data -> marketdata -> features -> ml -> strategy -> risk -> execution -> engine
-> analytics / sweep / monitoring. A stage imports only from stages to its left
and from ``framework.types`` / ``framework.config``.
"""

__version__ = "0.1.0"
