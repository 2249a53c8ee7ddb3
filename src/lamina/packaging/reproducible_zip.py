"""Zip files with the same bytes for the same tree: sorted entries, one fixed timestamp,
Unix modes kept (Lambda extracts them; ``bootstrap`` must stay executable)."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

# The earliest time a zip entry can carry: nothing about the build machine's clock leaks in.
FIXED_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
_UNIX_SYSTEM = 3  # "made by" Unix: unzip and Lambda read the mode from external_attr


def write_reproducible_zip(tree: Path, output: Path) -> None:
    """Writes every directory, file and symlink under tree into output."""
    entries = sorted(tree.rglob("*"))
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_name(output.name + ".partial")
    with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in entries:
            name = path.relative_to(tree).as_posix()
            info = zipfile.ZipInfo(name, date_time=FIXED_TIMESTAMP)
            info.create_system = _UNIX_SYSTEM
            info.compress_type = zipfile.ZIP_DEFLATED
            if path.is_symlink():
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                archive.writestr(info, str(path.readlink()))
            elif path.is_dir():  # kept so that empty ones (/opt/python) exist where extracted
                info.filename += "/"
                info.external_attr = (stat.S_IFDIR | 0o755) << 16 | 0x10  # 0x10: MS-DOS directory flag
                info.compress_type = zipfile.ZIP_STORED
                archive.writestr(info, b"")
            else:
                # Only the permission bits that mean something: executable or not.
                mode = 0o755 if path.stat().st_mode & 0o111 else 0o644
                info.external_attr = (stat.S_IFREG | mode) << 16
                archive.writestr(info, path.read_bytes())
    temporary.replace(output)
