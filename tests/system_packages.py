"""Install Debian packages the suite needs for real parts (Chromium, Prometheus,
PostgreSQL).

Tests call :func:`ensure_debian_package` (a binary on PATH) or :func:`ensure_debian_file`
(a file outside PATH) in a session fixture; they install with apt-get when it is missing
and the suite runs as root, else skip. pytest-xdist workers may ask at the same time: one
installs at a time (a lock file), and apt waits for dpkg's own lock rather than failing
on it.
"""

from __future__ import annotations

import fcntl
import glob
import os
import shutil
import subprocess
from collections.abc import Callable

import pytest

_updated = False
_LOCK = "/tmp/fw-tests-apt.lock"  # shared by every worker of every run on this machine
_APT_WAIT = ["-o", "DPkg::Lock::Timeout=600"]  # s: wait for dpkg's lock held by others


def _installed(find: Callable[[], str | None], package: str, why: str) -> str | None:
    """``find()``, after installing Debian ``package`` if it found nothing (skip the test
    when not root or no apt-get); None if still nothing."""
    global _updated
    found = find()
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip(f"{why} and cannot apt-get install {package} (not root)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    with open(_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker may be installing it right now
        found = find()
        if found:
            return found
        if not _updated:
            subprocess.run(["apt-get", *_APT_WAIT, "update", "-q"], check=True, env=env,
                           capture_output=True)
            _updated = True
        subprocess.run(
            ["apt-get", *_APT_WAIT, "install", "-y", "-q", "--no-install-recommends", package],
            check=True, env=env, capture_output=True,
        )
    return find()


def ensure_debian_package(binary: str, package: str) -> str:
    """Return the path of ``binary``, installing Debian ``package`` if needed."""
    found = _installed(lambda: _which(binary), package, f"{binary} missing")
    if not found:
        raise RuntimeError(f"apt-get installed {package} but {binary} is not on PATH")
    return found


def ensure_debian_file(pattern: str, package: str) -> str:
    """Return the last path matching the glob ``pattern`` (a binary outside PATH, such as
    ``/usr/lib/postgresql/*/bin/initdb``), installing Debian ``package`` if none does."""
    found = _installed(lambda: (sorted(glob.glob(pattern)) or [None])[-1], package,
                       f"nothing matches {pattern}")
    if not found:
        raise RuntimeError(f"apt-get installed {package} but nothing matches {pattern}")
    return found


def _which(binary: str) -> str | None:
    return shutil.which(binary) or (f"/usr/bin/{binary}" if os.path.exists(f"/usr/bin/{binary}")
                                    else None)
