"""``lamina image build``: a Lambda container image without Docker, as ``crane append`` and
jib make them: the base image's layers unchanged, then one layer with lamina's provided
runtime (the layer zip's contents under ``/opt``, where Lambda would extract it) and one with
the function's code under ``/var/task``; the config says how Lambda starts it.

The image's entry point is ``/opt/bootstrap``, and its CMD (the handler) is the bootstrap's
argument, as in AWS's base images. Lambda runs container images as an unknown user with a
read-only filesystem: everything is world-readable, and nothing is written at startup.
"""

from __future__ import annotations

import copy
import gzip
import io
import json
import stat
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from lamina.packaging.oci_layout import (
    OCI_ARCHITECTURES,
    OCI_CONFIG,
    OCI_LAYER_GZIP,
    OCI_MANIFEST,
    descriptor,
    oci_media_type,
    open_layout,
    read_base_image,
    sha256_digest,
    tar_entry,
    write_layout_tar,
)

TASK_ROOT = "var/task"
RUNTIME_ROOT = "opt"
# What AWS's own base images set, and what lamina and the bootstrap read.
LAMBDA_ENVIRONMENT = {
    "LAMBDA_TASK_ROOT": "/var/task",
    "LAMBDA_RUNTIME_DIR": "/opt",
    "LANG": "en_US.UTF-8",
    "TZ": ":UTC",
}
HISTORY_TIME = "1970-01-01T00:00:00Z"


@dataclass(frozen=True)
class ImageRequest:
    architecture: str
    base: Path  # OCI layout folder or tar
    output: Path  # OCI layout tar to write
    layer_zip: Path  # lamina's provided layer for this architecture
    code: Path | None = None  # the function's code
    handler: str = "app.handler"
    tag: str = "latest"
    base_reference: str | None = None  # the base's ref name, when its layout holds several


def build_image(request: ImageRequest) -> str:
    """Writes the image; returns its manifest digest."""
    with tempfile.TemporaryDirectory(prefix="lamina-image-") as scratch:
        base = read_base_image(open_layout(request.base, Path(scratch)), request.architecture, request.base_reference)
        manifest = copy.deepcopy(base.manifest)
        config = copy.deepcopy(base.config)
        blobs: dict[str, bytes | Path] = {}
        for layer in manifest["layers"]:
            layer["mediaType"] = oci_media_type(layer["mediaType"])
            blobs[layer["digest"]] = base.blob_path(layer["digest"])

        new_layers = [("lamina runtime (/opt)", _runtime_layer(request.layer_zip))]
        if request.code is not None:
            new_layers.append(("function code (/var/task)", _code_layer(request.code)))
        for description, uncompressed in new_layers:
            compressed = _gzip(uncompressed)
            manifest["layers"].append(descriptor(OCI_LAYER_GZIP, compressed))
            blobs[sha256_digest(compressed)] = compressed
            config.setdefault("rootfs", {"type": "layers", "diff_ids": []})["diff_ids"].append(sha256_digest(uncompressed))
            config.setdefault("history", []).append({"created": HISTORY_TIME, "created_by": f"lamina image build: {description}"})

        _configure(config, request)
        config_bytes = json.dumps(config, separators=(",", ":")).encode()
        blobs[sha256_digest(config_bytes)] = config_bytes
        manifest["mediaType"] = OCI_MANIFEST
        manifest["config"] = descriptor(OCI_CONFIG, config_bytes)
        manifest_bytes = json.dumps(manifest, indent=2).encode()
        return write_layout_tar(request.output, blobs, manifest_bytes, request.architecture, request.tag)


def _configure(config: dict, request: ImageRequest) -> None:
    config["architecture"] = OCI_ARCHITECTURES[request.architecture]
    config["os"] = "linux"
    config.pop("variant", None)
    config["created"] = HISTORY_TIME
    settings = config.setdefault("config", {})
    environment = dict(entry.split("=", 1) for entry in settings.get("Env") or [] if "=" in entry)
    environment.update(LAMBDA_ENVIRONMENT)
    environment.setdefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    settings["Env"] = [f"{key}={value}" for key, value in environment.items()]
    settings["Entrypoint"] = ["/opt/bootstrap"]
    settings["Cmd"] = [request.handler]
    settings["WorkingDir"] = "/var/task"


def _runtime_layer(layer_zip: Path) -> bytes:
    """The layer zip's entries under /opt, modes and symlinks kept."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(layer_zip) as layer, tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        archive.addfile(tar_entry(RUNTIME_ROOT, tarfile.DIRTYPE, 0o755))
        for info in sorted(layer.infolist(), key=lambda entry: entry.filename):
            name = f"{RUNTIME_ROOT}/{info.filename.rstrip('/')}"
            mode = info.external_attr >> 16
            if info.is_dir():
                archive.addfile(tar_entry(name, tarfile.DIRTYPE, 0o755))
            elif stat.S_ISLNK(mode):
                archive.addfile(tar_entry(name, tarfile.SYMTYPE, 0o777, link=layer.read(info).decode()))
            else:
                data = layer.read(info)
                archive.addfile(tar_entry(name, tarfile.REGTYPE, _world_readable(mode), len(data)), io.BytesIO(data))
    return buffer.getvalue()


def _code_layer(code: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for directory in ("var", TASK_ROOT):
            archive.addfile(tar_entry(directory, tarfile.DIRTYPE, 0o755))
        for path in sorted(code.rglob("*")):
            if "__pycache__" in path.parts:
                continue
            name = f"{TASK_ROOT}/{path.relative_to(code).as_posix()}"
            if path.is_symlink():
                archive.addfile(tar_entry(name, tarfile.SYMTYPE, 0o777, link=str(path.readlink())))
            elif path.is_dir():
                archive.addfile(tar_entry(name, tarfile.DIRTYPE, 0o755))
            else:
                data = path.read_bytes()
                archive.addfile(tar_entry(name, tarfile.REGTYPE, _world_readable(path.stat().st_mode), len(data)), io.BytesIO(data))
    return buffer.getvalue()


def _world_readable(mode: int) -> int:
    return 0o755 if mode & 0o111 else 0o644


def _gzip(data: bytes) -> bytes:
    buffer = io.BytesIO()
    # mtime=0 and no file name in the header: the same layer always has the same digest.
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=6, mtime=0, filename="") as stream:
        stream.write(data)
    return buffer.getvalue()
