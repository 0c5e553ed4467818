"""Monitoring of live sessions and of the local venue: Prometheus metrics (one registry
per session), a built-in status page, JSON-lines event logs, and the Prometheus /
Alertmanager / Grafana configuration under ``config/monitoring``. See
``docs/monitoring.md``.

Public API: ``SessionMetrics`` (event-named methods a live adapter calls),
``VenueMetrics``, ``MetricsServer`` (``/metrics``, the status page, ``status.json``),
``EventLog``.
"""

from framework.monitoring.eventlog import EventLog, read_events
from framework.monitoring.server import MetricsServer, MetricsServerError
from framework.monitoring.session import SessionMetrics
from framework.monitoring.venue_metrics import VenueMetrics

__all__ = ["EventLog", "MetricsServer", "MetricsServerError", "SessionMetrics",
           "VenueMetrics", "read_events"]
