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


def extract_zip(archive_path: Path, destination: Path) -> None:
    """Extracts a layer as Lambda does: modes and symlinks kept (``zipfile`` drops both)."""
    root = destination.resolve()
    with zipfile.ZipFile(archive_path) as archive:
        for info in archive.infolist():
            target = destination / info.filename
            if root not in (root / info.filename).resolve().parents:
                raise ValueError(f"{archive_path}: entry outside the archive's folder: {info.filename}")
            mode = info.external_attr >> 16
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if stat.S_ISLNK(mode):
                target.symlink_to(archive.read(info).decode())
                continue
            target.write_bytes(archive.read(info))
            if mode & 0o777:
                target.chmod(mode & 0o777)
