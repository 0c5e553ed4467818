"""Install Debian packages the suite needs for real parts (Chromium, Prometheus).

Tests call :func:`ensure_debian_package` in a session fixture; it installs with
apt-get when the binary is missing and the suite runs as root, else skips.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess

import pytest

_updated = False


def _apt_install(package: str, why: str) -> None:
    """apt-get install ``package`` (skip the test when not root or no apt-get)."""
    global _updated
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip(f"{why} and cannot apt-get install {package} (not root)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if not _updated:
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env, capture_output=True)
        _updated = True
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", package],
        check=True, env=env, capture_output=True,
    )


def ensure_debian_package(binary: str, package: str) -> str:
    """Return the path of ``binary``, installing Debian ``package`` if needed."""
    found = shutil.which(binary) or (f"/usr/bin/{binary}" if os.path.exists(f"/usr/bin/{binary}") else None)
    if found:
        return found
    _apt_install(package, f"{binary} missing")
    found = shutil.which(binary)
    if not found:
        raise RuntimeError(f"apt-get installed {package} but {binary} is not on PATH")
    return found


def ensure_debian_file(pattern: str, package: str) -> str:
    """Return the last path matching the glob ``pattern`` (a binary outside PATH, such as
    ``/usr/lib/postgresql/*/bin/initdb``), installing Debian ``package`` if none does."""
    found = sorted(glob.glob(pattern))
    if not found:
        _apt_install(package, f"nothing matches {pattern}")
        found = sorted(glob.glob(pattern))
    if not found:
        raise RuntimeError(f"apt-get installed {package} but nothing matches {pattern}")
    return found[-1]
