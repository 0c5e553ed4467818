"""``fw monitor``: Prometheus + Alertmanager on loopback with the project's configs
(``up``), and the Grafana dashboards regenerated from code (``dashboards``)."""

from __future__ import annotations

import signal
import tempfile
import threading
from pathlib import Path

import typer

app = typer.Typer(help="Monitoring: Prometheus, Alertmanager, Grafana dashboards.",
                  no_args_is_help=True)


@app.command("up")
def up(
    target: list[str] = typer.Option(None, "--target", help="JOB=HOST:PORT to scrape, repeatable (default: the config's fw-live 127.0.0.1:9464 and fw-venue 127.0.0.1:9465)."),  # noqa: B008
    prometheus_port: int = typer.Option(9090, "--prometheus-port", help="Prometheus listens on 127.0.0.1:PORT."),
    alertmanager_port: int = typer.Option(9093, "--alertmanager-port", help="Alertmanager listens on 127.0.0.1:PORT."),
    webhook: str = typer.Option(None, "--webhook", help="URL of the webhook receiver (default: the config's)."),
    no_alertmanager: bool = typer.Option(False, "--no-alertmanager", help="Start Prometheus only."),
    run_dir: Path = typer.Option(None, "--run-dir", help="Configs, data and logs go here (default: a temporary folder)."),  # noqa: B008
) -> None:
    """Start Prometheus (and Alertmanager when installed) on loopback; print the URLs."""
    from framework.monitoring.stack import MonitorStack, parse_targets

    folder = run_dir or Path(tempfile.mkdtemp(prefix="fw-monitor-"))
    stack = MonitorStack(folder, parse_targets(target or []), prometheus_port,
                         alertmanager_port, webhook, with_alertmanager=not no_alertmanager)
    stack.start()
    print(f"fw monitor: configs, data and logs in {folder}")
    print(f"  prometheus     {stack.prometheus_url}")
    if stack.alertmanager_url:
        print(f"  alertmanager   {stack.alertmanager_url}")
    else:
        print("  alertmanager   not started (--no-alertmanager, or not installed: "
              "apt-get install prometheus-alertmanager)")
    print("Ctrl-C stops them.", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        stop.wait()
    finally:
        stack.stop()


@app.command("dashboards")
def dashboards(
    out: Path = typer.Option(None, "--out", help="Folder for the dashboard JSON files "  # noqa: B008
                             "(default: config/monitoring/grafana)."),
) -> None:
    """Regenerate the Grafana dashboards (JSON) from framework/monitoring/dashboards.py."""
    from framework.monitoring.dashboards import write_dashboards
    from framework.monitoring.stack import CONFIG_DIR

    if out is None:
        out = CONFIG_DIR / "grafana"

    for path in write_dashboards(out):
        print(path)
