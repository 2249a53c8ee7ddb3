"""OCI image layouts (https://github.com/opencontainers/image-spec/blob/main/image-layout.md):
reading a base image from one, and writing one as a tar that ``docker load``, ``skopeo``
(``oci-archive:``) and ``podman`` accept. Docker's media types in a base are read as their OCI
equivalents (same bytes), since the image we write is OCI."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME = "org.opencontainers.image.ref.name"
_DOCKER_TO_OCI = {
    "application/vnd.docker.distribution.manifest.list.v2+json": OCI_INDEX,
    "application/vnd.docker.distribution.manifest.v2+json": OCI_MANIFEST,
    "application/vnd.docker.container.image.v1+json": OCI_CONFIG,
    "application/vnd.docker.image.rootfs.diff.tar.gzip": OCI_LAYER_GZIP,
}
OCI_ARCHITECTURES = {"x86_64": "amd64", "arm64": "arm64"}
# Tar entries carry no time of the build: same inputs, same image digest.
FIXED_MTIME = 0


class LayoutError(ValueError):
    pass


def oci_media_type(media_type: str) -> str:
    return _DOCKER_TO_OCI.get(media_type, media_type)


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def descriptor(media_type: str, data: bytes, **extra) -> dict:
    return {"mediaType": media_type, "digest": sha256_digest(data), "size": len(data), **extra}


@dataclass(frozen=True)
class BaseImage:
    """One platform's image in a layout: its manifest, config and the layout it came from."""

    layout: Path
    manifest: dict
    config: dict

    def blob_path(self, digest: str) -> Path:
        algorithm, _, hex_digest = digest.partition(":")
        path = self.layout / "blobs" / algorithm / hex_digest
        if not path.is_file():
            raise LayoutError(f"{self.layout}: blob {digest} is missing")
        return path


def open_layout(path: Path, scratch: Path) -> Path:
    """An OCI layout folder, or a tar of one (extracted under scratch)."""
    if path.is_file():
        destination = scratch / "base-layout"
        with tarfile.open(path) as archive:
            if hasattr(tarfile, "data_filter"):
                archive.extractall(destination, filter="data")
            else:
                archive.extractall(destination)
        path = destination
    if not (path / "index.json").is_file() or not (path / "oci-layout").is_file():
        raise LayoutError(f"{path}: not an OCI image layout (no oci-layout and index.json)")
    return path


def read_base_image(layout: Path, architecture: str, reference: str | None = None) -> BaseImage:
    """The image for linux/<architecture> in the layout (through an image index if need be)."""
    wanted = OCI_ARCHITECTURES[architecture]
    candidates = _read_json(layout / "index.json").get("manifests", [])
    if reference is not None:
        candidates = [entry for entry in candidates if entry.get("annotations", {}).get(REF_NAME) == reference]
    found = []
    while candidates:
        entry = candidates.pop(0)
        platform = entry.get("platform")
        if platform and (platform.get("architecture"), platform.get("os")) != (wanted, "linux"):
            continue
        media_type = oci_media_type(entry.get("mediaType", OCI_MANIFEST))
        document = _read_json(_blob(layout, entry["digest"]))
        if media_type == OCI_INDEX:
            candidates.extend(document.get("manifests", []))
            continue
        config = _read_json(_blob(layout, document["config"]["digest"]))
        if config.get("architecture") == wanted and config.get("os", "linux") == "linux":
            found.append(BaseImage(layout, document, config))
    if not found:
        raise LayoutError(f"{layout}: no linux/{wanted} image" + (f" tagged {reference}" if reference else ""))
    return found[0]


def write_layout_tar(output: Path, blobs: dict[str, bytes | Path], manifest: bytes, architecture: str, tag: str) -> str:
    """Writes oci-layout, index.json (one manifest, tagged) and the blobs; returns the
    manifest's digest. Entries are sorted and timeless, so the tar is reproducible."""
    manifest_descriptor = descriptor(
        OCI_MANIFEST,
        manifest,
        platform={"architecture": OCI_ARCHITECTURES[architecture], "os": "linux"},
        annotations={REF_NAME: tag},
    )
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [manifest_descriptor]}
    entries: dict[str, bytes | Path] = {
        "oci-layout": json.dumps({"imageLayoutVersion": "1.0.0"}).encode(),
        "index.json": json.dumps(index, indent=2).encode(),
        "blobs/sha256/" + manifest_descriptor["digest"].split(":")[1]: manifest,
    }
    for digest, content in blobs.items():
        entries["blobs/sha256/" + digest.split(":")[1]] = content
    output.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(output, "w", format=tarfile.PAX_FORMAT) as archive:
        for directory in ("blobs", "blobs/sha256"):
            archive.addfile(tar_entry(directory, tarfile.DIRTYPE, 0o755))
        for name in sorted(entries):
            content = entries[name]
            if isinstance(content, Path):
                with content.open("rb") as stream:
                    archive.addfile(tar_entry(name, tarfile.REGTYPE, 0o644, content.stat().st_size), stream)
            else:
                archive.addfile(tar_entry(name, tarfile.REGTYPE, 0o644, len(content)), io.BytesIO(content))
    return manifest_descriptor["digest"]


def tar_entry(name: str, kind: bytes, mode: int, size: int = 0, link: str = "") -> tarfile.TarInfo:
    """A tar header owned by root, with a fixed time: nothing of the build machine in it."""
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size, info.linkname = kind, mode, size, link
    info.mtime, info.uid, info.gid, info.uname, info.gname = FIXED_MTIME, 0, 0, "", ""
    return info


def _blob(layout: Path, digest: str) -> Path:
    return BaseImage(layout, {}, {}).blob_path(digest)


def _read_json(path: Path) -> dict:
    return json.loads(path.read_bytes())
