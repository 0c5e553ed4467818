"""Install Debian packages the suite needs for real parts (Chromium, Prometheus).

Tests call :func:`ensure_debian_package` in a session fixture; it installs with
apt-get when the binary is missing and the suite runs as root, else skips. pytest-xdist
workers may ask at the same time: one installs at a time (a lock file), and apt waits
for dpkg's own lock rather than failing on it.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess

import pytest

_updated = False
_LOCK = "/tmp/fw-tests-apt.lock"  # shared by every worker of every run on this machine
_APT_WAIT = ["-o", "DPkg::Lock::Timeout=600"]  # s: wait for dpkg's lock held by others


def ensure_debian_package(binary: str, package: str) -> str:
    """Return the path of ``binary``, installing Debian ``package`` if needed."""
    global _updated
    found = _which(binary)
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip(f"{binary} missing and cannot apt-get install {package} (not root)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    with open(_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker may be installing it right now
        found = _which(binary)
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
    found = _which(binary)
    if not found:
        raise RuntimeError(f"apt-get installed {package} but {binary} is not on PATH")
    return found


def _which(binary: str) -> str | None:
    return shutil.which(binary) or (f"/usr/bin/{binary}" if os.path.exists(f"/usr/bin/{binary}")
                                    else None)
