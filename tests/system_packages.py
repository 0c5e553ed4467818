"""Install Debian packages the suite needs for real parts (Chromium, Prometheus).

Tests call :func:`ensure_debian_package` in a session fixture; it installs with
apt-get when the binary is missing and the suite runs as root, else skips.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

_updated = False


def ensure_debian_package(binary: str, package: str) -> str:
    """Return the path of ``binary``, installing Debian ``package`` if needed."""
    global _updated
    found = shutil.which(binary) or (f"/usr/bin/{binary}" if os.path.exists(f"/usr/bin/{binary}") else None)
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip(f"{binary} missing and cannot apt-get install {package} (not root)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if not _updated:
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env, capture_output=True)
        _updated = True
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", package],
        check=True, env=env, capture_output=True,
    )
    found = shutil.which(binary)
    if not found:
        raise RuntimeError(f"apt-get installed {package} but {binary} is not on PATH")
    return found
