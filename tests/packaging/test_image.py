"""Container images written without Docker (packaging.md §3): real OCI tools read them
(skopeo, umoci), and their unpacked root filesystem serves invocations from its entry point.

The base images are made here with umoci from Debian's glibc and dash (install_fixtures.sh),
with a file added and then deleted by a whiteout, so that appending keeps the base intact."""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from conftest import FIXTURES, FUNCTIONS, INSTALL_FIXTURES, write_qemu_wrapper
from runner import RuntimeLaunch

from lamina.packaging.image import ImageRequest, build_image

OCI_ARCHITECTURES = {"x86_64": "amd64", "arm64": "arm64"}
ARCHITECTURES = ["x86_64", "arm64"]
WHITED_OUT = "etc/removed-by-base"


def require(tool: str) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} checks the OCI images: run {INSTALL_FIXTURES}")


def umoci(*arguments: str) -> None:
    subprocess.run(["umoci", *arguments], check=True, capture_output=True)


@pytest.fixture(scope="session")
def base_layout(tmp_path_factory):
    """``base_layout("arm64")``: an OCI layout with glibc and /bin/sh for that architecture."""
    made: dict[str, Path] = {}

    def make(architecture: str) -> Path:
        if architecture not in made:
            require("umoci")
            rootfs = FIXTURES / f"base-rootfs-{OCI_ARCHITECTURES[architecture]}"
            if not (rootfs / ".complete").is_file():
                pytest.skip(f"no base root filesystem in {rootfs}: run {INSTALL_FIXTURES}")
            layout = tmp_path_factory.mktemp(f"base-{architecture}") / "layout"
            image = f"{layout}:base"
            umoci("init", "--layout", str(layout))
            umoci("new", "--image", image)
            for folder in ("bin", "lib", "lib64", "usr", "etc"):
                if (rootfs / folder).exists():
                    umoci("insert", "--image", image, str(rootfs / folder), f"/{folder}")
            doomed = layout.parent / "doomed"
            doomed.write_text("the base deletes this in a later layer\n")
            umoci("insert", "--image", image, str(doomed), f"/{WHITED_OUT}")
            umoci("insert", "--image", image, "--whiteout", f"/{WHITED_OUT}")
            umoci("config", "--image", image, "--architecture", OCI_ARCHITECTURES[architecture], "--os", "linux", "--config.env", "BASE_VARIABLE=kept")
            made[architecture] = layout
        return made[architecture]

    return make


@pytest.fixture(scope="session")
def image(make_layer, base_layout, tmp_path_factory):
    """``image("arm64")`` -> (OCI layout tar, the layer it was built with)."""
    made: dict[str, tuple[Path, object]] = {}

    def make(architecture: str):
        if architecture not in made:
            layer = make_layer(architecture)
            output = tmp_path_factory.mktemp(f"image-{architecture}") / "image.tar"
            build_image(ImageRequest(architecture, base_layout(architecture), output, layer.zip_path, FUNCTIONS, "app.area", tag="test"))
            made[architecture] = (output, layer)
        return made[architecture]

    return make


def skopeo_inspect(archive: Path, *options: str) -> dict:
    require("skopeo")
    result = subprocess.run(["skopeo", "inspect", *options, f"oci-archive:{archive}:test"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def unpack_rootfs(archive: Path, destination: Path) -> Path:
    """umoci unpacks the image's layers in order, applying whiteouts."""
    require("umoci")
    layout = destination / "layout"
    with tarfile.open(archive) as tar:
        tar.extractall(layout, filter="data") if hasattr(tarfile, "data_filter") else tar.extractall(layout)
    rootfs = destination / "rootfs"
    umoci("raw", "unpack", "--image", f"{layout}:test", str(rootfs))
    return rootfs


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_skopeo_reads_the_image_and_its_config(image, architecture):
    archive, _ = image(architecture)
    summary = skopeo_inspect(archive)
    assert (summary["Architecture"], summary["Os"]) == (OCI_ARCHITECTURES[architecture], "linux")
    assert len(summary["Layers"]) >= 3
    config = skopeo_inspect(archive, "--config")
    settings = config["config"]
    assert settings["Entrypoint"] == ["/opt/bootstrap"]
    assert settings["Cmd"] == ["app.area"]
    assert settings["WorkingDir"] == "/var/task"
    assert "LAMBDA_TASK_ROOT=/var/task" in settings["Env"] and "BASE_VARIABLE=kept" in settings["Env"]
    assert len(config["rootfs"]["diff_ids"]) == len(summary["Layers"])


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_unpacked_image_entrypoint_serves_an_invocation(image, runner, tmp_path, architecture):
    archive, layer = image(architecture)
    rootfs = unpack_rootfs(archive, tmp_path)
    config = skopeo_inspect(archive, "--config")["config"]
    assert (rootfs / "var" / "task" / "app.py").is_file() and not (rootfs / WHITED_OUT).exists()
    environment = dict(entry.split("=", 1) for entry in config["Env"])
    environment.pop("LAMBDA_TASK_ROOT")  # the runner points it at the unpacked /var/task
    if architecture == "arm64":
        # The image's own glibc, under qemu: the root filesystem is qemu's sysroot.
        environment["AWS_LAMBDA_EXEC_WRAPPER"] = str(write_qemu_wrapper(tmp_path / "qemu-wrapper", rootfs))
    entrypoint = [str(rootfs / config["Entrypoint"][0].lstrip("/")), *config["Cmd"]]
    launch = RuntimeLaunch(entrypoint, rootfs / "var" / "task", environment)
    result = runner.invoke(launch, {"length": 6, "width": 7}, expected={"area": 42})
    assert result.ok, f"{result.detail}\n{result.log}"


def test_image_build_is_reproducible(image, base_layout, tmp_path):
    archive, layer = image("x86_64")
    again = tmp_path / "again.tar"
    build_image(ImageRequest("x86_64", base_layout("x86_64"), again, layer.zip_path, FUNCTIONS, "app.area", tag="test"))
    assert again.read_bytes() == archive.read_bytes()


def test_base_of_another_architecture_is_refused(base_layout, make_layer, tmp_path):
    from lamina.packaging.oci_layout import LayoutError

    layer = make_layer("x86_64")
    with pytest.raises(LayoutError, match="no linux/arm64 image"):
        build_image(ImageRequest("arm64", base_layout("x86_64"), tmp_path / "wrong.tar", layer.zip_path))
