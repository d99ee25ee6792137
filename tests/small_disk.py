"""A small file system of a test's own that can be filled to the last byte (a full disk)."""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest

DISK_BYTES = 32 * 1024 * 1024


class SmallDisk:
    """A 32 MB file system of its own (tmpfs, as root) that a filler file can fill to the last byte."""

    def __init__(self, mount_point: Path) -> None:
        self.mount_point = mount_point
        self.filler = mount_point / "filler"

    def mount(self) -> None:
        self.mount_point.mkdir()
        command = ["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs", str(self.mount_point)]
        if os.geteuid() != 0 or subprocess.run(command, capture_output=True, check=False).returncode != 0:
            pytest.skip("mounting a small tmpfs needs root")

    def unmount(self) -> None:
        subprocess.run(["umount", "--lazy", str(self.mount_point)], check=False)

    def fill(self) -> None:
        """Writes zeros until the disk has not a byte left."""
        descriptor = os.open(self.filler, os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                os.write(descriptor, bytes(4096))
        except OSError as error:
            assert error.errno == errno.ENOSPC
        finally:
            os.close(descriptor)

    def free(self) -> None:
        self.filler.unlink()
