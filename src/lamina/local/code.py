"""Function and layer code packages: zips extracted as Lambda extracts them, directories used in
place, and the size and digest Lambda reports for each (CodeSize, CodeSha256)."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from lamina.local.functions import ConfigurationError

MAX_UNZIPPED_BYTES = 262_144_000  # Lambda's quota for a function and its layers, unzipped


class InvalidPackage(ConfigurationError):
    """A zip Lambda would refuse; the message is the one Lambda gives."""


@dataclass(frozen=True)
class CodePackage:
    """Where a function's (or layer's) code lives locally, and what Lambda reports about it."""

    path: Path  # a directory: the extracted zip, or the user's own directory used in place
    size: int  # CodeSize: the zip's size, or the directory's files' total
    sha256: str  # CodeSha256: base64 of the zip's SHA-256, or of the directory's listing
    zip_file: Path | None = None  # the uploaded zip as received, when there was one


def store_zip(data: bytes, destination: Path, max_unzipped: int = MAX_UNZIPPED_BYTES) -> CodePackage:
    """Keeps the zip as `destination`/code.zip and extracts it into `destination`/code."""
    destination.mkdir(parents=True, exist_ok=True)
    extract_zip(io.BytesIO(data), destination / "code", max_unzipped)
    zip_file = destination / "code.zip"
    zip_file.write_bytes(data)
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    return CodePackage(path=destination / "code", size=len(data), sha256=digest, zip_file=zip_file)


def extract_zip(source: BinaryIO | Path, destination: Path, max_unzipped: int = MAX_UNZIPPED_BYTES) -> None:
    """Extracts like Lambda: Unix permission bits kept (a `bootstrap` stays executable),
    symbolic links recreated, and nothing written outside `destination`. Files already in
    `destination` are replaced (a later layer overwrites an earlier one's)."""
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as error:
        raise InvalidPackage("Could not unzip uploaded file. Please check your file, then try to upload again.") from error
    with archive:
        members = archive.infolist()
        total = sum(member.file_size for member in members)
        if total > max_unzipped:
            raise InvalidPackage(f"Unzipped size must be smaller than {max_unzipped} bytes")
        destination.mkdir(parents=True, exist_ok=True)
        root = destination.resolve()
        for member in members:
            relative = PurePosixPath(member.filename.replace("\\", "/"))
            if relative.is_absolute() or ".." in relative.parts:
                raise InvalidPackage(f"Could not unzip uploaded file: {member.filename!r} points outside the package")
            target = root.joinpath(*relative.parts)
            mode = member.external_attr >> 16
            if member.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.unlink(missing_ok=True)  # never write through a link an earlier layer left
            try:
                if stat.S_ISLNK(mode):
                    link = archive.read(member).decode()
                    if os.path.isabs(link) or not (target.parent / link).resolve().is_relative_to(root):
                        raise InvalidPackage(f"Could not unzip uploaded file: link {member.filename!r} points outside the package")
                    target.symlink_to(link)
                    continue
                with archive.open(member) as packed, open(target, "wb") as unpacked:
                    _copy_at_most(packed, unpacked, member.file_size)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, ValueError) as error:
                if isinstance(error, InvalidPackage):
                    raise
                raise InvalidPackage("Could not unzip uploaded file. Please check your file, then try to upload again.") from error
            # Zips made on Windows carry no Unix mode: files are then readable, not executable.
            target.chmod(stat.S_IMODE(mode) | 0o444 if mode else 0o644)


def _copy_at_most(source: BinaryIO, target: BinaryIO, size: int) -> None:
    """Copies a member, refusing one that inflates beyond the size its header declares."""
    remaining = size
    while chunk := source.read(min(1 << 20, remaining + 1)):
        remaining -= len(chunk)
        if remaining < 0:
            raise InvalidPackage("Could not unzip uploaded file: a member is larger than its header says")
        target.write(chunk)


def directory_package(path: Path) -> CodePackage:
    """A directory used in place. Its digest covers file names, sizes and modification times,
    so it changes when the code does, without reading every file."""
    if not path.is_dir():
        raise InvalidPackage(f"{path} is not a directory")
    digest = hashlib.sha256()
    size = 0
    for directory, subdirectories, files in os.walk(path):
        subdirectories.sort()
        for name in sorted(files):
            file = Path(directory, name)
            try:
                status = file.stat()
            except OSError:
                continue
            size += status.st_size
            digest.update(f"{file.relative_to(path)}\0{status.st_size}\0{status.st_mtime_ns}\n".encode())
    return CodePackage(path=path.resolve(), size=size, sha256=base64.b64encode(digest.digest()).decode())


def zip_directory(path: Path) -> bytes:
    """The directory as a zip, modes kept: how GetFunction hands out a directory's code."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for directory, subdirectories, files in os.walk(path):
            subdirectories.sort()
            for name in sorted(files):
                file = Path(directory, name)
                archive.write(file, file.relative_to(path).as_posix())
    return buffer.getvalue()
