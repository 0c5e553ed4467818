"""``fw monitor up``: a real Prometheus and Alertmanager on loopback, with the project's
configuration (``config/monitoring``) -- scrape targets, alert rules, receivers.

The shipped files are rendered into a run folder with the targets, ports and webhook
asked for (everything else unchanged: intervals, rules, routes, templates), then the
Debian binaries (``prometheus``, ``prometheus-alertmanager``) are started on them.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from framework.types.errors import FwError

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config" / "monitoring"
PROMETHEUS_BINARIES = ("prometheus",)
ALERTMANAGER_BINARIES = ("prometheus-alertmanager", "alertmanager")  # Debian's name first


class MonitorError(FwError):
    """A monitoring server is missing, misconfigured or did not start (names which)."""


def find_binary(names: Sequence[str]) -> str | None:
    """The first of ``names`` on PATH, or None."""
    for n in names:
        path = shutil.which(n)
        if path:
            return path
    return None


def parse_targets(specs: Sequence[str]) -> dict[str, list[str]]:
    """``["fw-live=127.0.0.1:9464", ...]`` -> ``{"fw-live": ["127.0.0.1:9464"]}``."""
    out: dict[str, list[str]] = {}
    for spec in specs:
        job, sep, addr = spec.partition("=")
        host, colon, port = addr.rpartition(":")
        if not sep or not job or not colon or not host or not port.isdigit():
            raise MonitorError(f"fw monitor: --target {spec!r} is not JOB=HOST:PORT")
        out.setdefault(job, []).append(addr)
    return out


def render_prometheus(out_dir: Path, targets: Mapping[str, Sequence[str]] | None = None,
                      alertmanager: str | None = None, config_dir: Path = CONFIG_DIR) -> Path:
    """``config_dir/prometheus/prometheus.yml`` with the scrape ``targets`` per job (jobs
    not in the file are added, jobs given replace theirs), rule files made absolute and
    the Alertmanager at ``alertmanager`` (host:port; None: none). Returns the path."""
    src = config_dir / "prometheus" / "prometheus.yml"
    cfg = yaml.safe_load(src.read_text())
    cfg["rule_files"] = [str((src.parent / f).resolve()) for f in cfg.get("rule_files", [])]
    jobs = {j["job_name"]: j for j in cfg["scrape_configs"]}
    for job, addrs in (targets or {}).items():
        jobs.setdefault(job, {"job_name": job})["static_configs"] = [{"targets": list(addrs)}]
    cfg["scrape_configs"] = list(jobs.values())
    if alertmanager is None:
        cfg.pop("alerting", None)
    else:
        cfg["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    out = out_dir / "prometheus.yml"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return out


def render_alertmanager(out_dir: Path, webhook_url: str | None = None,
                        config_dir: Path = CONFIG_DIR) -> Path:
    """``config_dir/alertmanager/alertmanager.yml`` with template globs made absolute and
    the webhook receiver's URL replaced by ``webhook_url`` (when given)."""
    src = config_dir / "alertmanager" / "alertmanager.yml"
    cfg = yaml.safe_load(src.read_text())
    cfg["templates"] = [str((src.parent / t).resolve()) for t in cfg.get("templates", [])]
    if webhook_url:
        for r in cfg["receivers"]:
            for w in r.get("webhook_configs", []):
                w["url"] = webhook_url
    out = out_dir / "alertmanager.yml"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return out


def _wait_ready(url: str, proc: subprocess.Popen, name: str, log: Path,
                timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise MonitorError(f"{name} exited with {proc.returncode}; its log: {log}\n"
                               + log.read_text()[-2000:])
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise MonitorError(f"{name} not ready at {url} within {timeout_s} s; its log: {log}")


@dataclass
class MonitorStack:
    """Prometheus (and Alertmanager, when installed) on loopback, on rendered configs in
    ``run_dir`` (data, configs and logs there). Ports 0 are not allowed: Prometheus
    needs to know its own port, so pick free ones (``free_port``) for tests."""

    run_dir: Path
    targets: dict[str, list[str]] = field(default_factory=dict)
    prometheus_port: int = 9090
    alertmanager_port: int = 9093
    webhook_url: str | None = None
    host: str = "127.0.0.1"
    with_alertmanager: bool = True
    prometheus_url: str | None = None
    alertmanager_url: str | None = None
    _procs: list[subprocess.Popen] = field(default_factory=list)

    def start(self, timeout_s: float = 60.0) -> MonitorStack:
        """Render the configs, start the servers, wait until they answer ready."""
        prom = find_binary(PROMETHEUS_BINARIES)
        if prom is None:
            raise MonitorError("fw monitor: prometheus not found on PATH "
                               "(Debian: apt-get install prometheus)")
        am = find_binary(ALERTMANAGER_BINARIES) if self.with_alertmanager else None
        self.run_dir.mkdir(parents=True, exist_ok=True)
        am_addr = f"{self.host}:{self.alertmanager_port}" if am else None
        try:
            if am:
                am_cfg = render_alertmanager(self.run_dir, self.webhook_url)
                self.alertmanager_url = f"http://{am_addr}"
                self._spawn("alertmanager", [
                    am, f"--config.file={am_cfg}", f"--storage.path={self.run_dir / 'am-data'}",
                    f"--web.listen-address={am_addr}", "--cluster.listen-address=",
                    "--log.level=warn"], f"{self.alertmanager_url}/-/ready", timeout_s)
            prom_cfg = render_prometheus(self.run_dir, self.targets, am_addr)
            addr = f"{self.host}:{self.prometheus_port}"
            self.prometheus_url = f"http://{addr}"
            self._spawn("prometheus", [
                prom, f"--config.file={prom_cfg}",
                f"--storage.tsdb.path={self.run_dir / 'prom-data'}",
                f"--web.listen-address={addr}", "--web.enable-lifecycle",
                "--log.level=warn"], f"{self.prometheus_url}/-/ready", timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, name: str, argv: list[str], ready_url: str, timeout_s: float) -> None:
        log = self.run_dir / f"{name}.log"
        with open(log, "wb") as f:
            proc = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        self._procs.append(proc)
        _wait_ready(ready_url, proc, name, log, timeout_s)

    def stop(self) -> None:
        """Terminate the servers (SIGTERM, then SIGKILL after 10 s)."""
        for p in reversed(self._procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self._procs.clear()

    def __enter__(self) -> MonitorStack:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now."""
    import socket

    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]
