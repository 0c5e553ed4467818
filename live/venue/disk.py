"""A disk that fails under a running process: the ``read_only`` fault of a chaos run.

Root ignores permission bits, and Linux refuses to remount a file system read-only
(``mount -o remount,ro``, a read-only bind mount) while a process has a file on it open
for writing -- which is exactly the case to test (the journal is open). What does turn a
busy file system read-only is the kernel's own error path: an ext4 file system mounted
``errors=remount-ro`` that meets an error aborts its journal and goes read-only at once,
under every open file; later writes fail with ``EROFS``, as on a failing disk. ext4
exposes that path for testing (``/sys/fs/ext4/<dev>/trigger_fs_error``, Linux >= 5.14).

``FailingDisk(image, mountpoint)`` makes a small ext4 image, loop-mounts it there;
``fail()`` triggers the error; ``repair()`` unmounts, checks it (``e2fsck -fy``: what an
operator does before the disk is used again) and mounts it again; ``close()`` unmounts.
Commits that were never fsync'd may be lost, as in a power loss (the journal's
durability rules say which). Needs root (CAP_SYS_ADMIN), a loop device and e2fsprogs:
``FailingDisk.unavailable()`` says why not when they are missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from framework.types.errors import FwError

SIZE_MB = 64


class DiskError(FwError):
    """The failing disk could not be set up or repaired (names the command)."""


def _run(*args: str) -> str:
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0 and args[0] != "e2fsck":  # e2fsck: 1 = errors corrected
        raise DiskError(f"{' '.join(args)}: exit {r.returncode}: {r.stderr.strip()}")
    if args[0] == "e2fsck" and r.returncode > 2:
        raise DiskError(f"{' '.join(args)}: exit {r.returncode}: {r.stderr.strip()}")
    return r.stdout.strip()


class FailingDisk:
    """An ext4 image at ``image`` (``SIZE_MB`` MiB), mounted at ``mountpoint``."""

    def __init__(self, image: Path, mountpoint: Path):
        self.image = Path(image)
        self.mountpoint = Path(mountpoint)
        self.mountpoint.mkdir(parents=True, exist_ok=True)
        with open(self.image, "wb") as f:
            f.truncate(SIZE_MB << 20)
        _run("mkfs.ext4", "-q", "-F", str(self.image))
        self._mount()

    @staticmethod
    def unavailable() -> str | None:
        """None when this machine can run the fault, else why not (one line)."""
        if os.geteuid() != 0:
            return "needs root (mount, a loop device)"
        missing = [c for c in ("mkfs.ext4", "e2fsck", "mount", "umount", "losetup")
                   if shutil.which(c) is None]
        if missing:
            return f"missing {', '.join(missing)} (e2fsprogs, mount)"
        if not Path("/sys/fs/ext4").is_dir():
            return "no ext4 in this kernel (/sys/fs/ext4)"
        return None

    def _mount(self) -> None:
        _run("mount", "-o", "loop,errors=remount-ro", str(self.image), str(self.mountpoint))
        src = _run("findmnt", "-n", "-o", "SOURCE", "--target", str(self.mountpoint))
        self.device = Path(src).name  # loopN

    def fail(self) -> None:
        """The disk fails now: the kernel remounts it read-only under open files."""
        trigger = Path("/sys/fs/ext4") / self.device / "trigger_fs_error"
        try:
            trigger.write_text("fw chaos: read_only fault\n")
        except OSError as err:
            raise DiskError(f"{trigger}: cannot trigger an ext4 error: {err}") from err

    @property
    def read_only(self) -> bool:
        """The file system is mounted read-only now."""
        opts = _run("findmnt", "-n", "-o", "OPTIONS", "--target", str(self.mountpoint))
        return bool({"ro", "emergency_ro"} & set(opts.split(",")))

    def repair(self) -> None:
        """Unmount, ``e2fsck -fy``, mount again (read-write)."""
        _run("umount", str(self.mountpoint))
        _run("e2fsck", "-fy", str(self.image))
        self._mount()

    def close(self) -> None:
        """Unmount (the loop device goes with it); the image file stays."""
        if subprocess.run(["umount", str(self.mountpoint)], capture_output=True).returncode:
            # a file still open on it (a log the process has not closed yet): detach now,
            # the loop device goes when the last file closes
            subprocess.run(["umount", "-l", str(self.mountpoint)], capture_output=True)
