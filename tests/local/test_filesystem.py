"""Function files: code directories used in place, zips extracted with their modes, /opt from
layers in order."""

from __future__ import annotations

import os
import stat
import zipfile

import pytest

from lamina.local.code import extract_zip
from lamina.local.filesystem import find_bootstrap, prepare_function_files
from lamina.local.functions import ConfigurationError, FunctionConfig


def make_zip(path, members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, (data, mode) in members.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            archive.writestr(info, data)
    return path


def test_zip_extraction_keeps_modes_and_symlinks(tmp_path):
    archive = make_zip(tmp_path / "a.zip", {
        "bootstrap": ("#!/bin/sh\n", 0o100755), "data.txt": ("x", 0o100644), "link": ("data.txt", 0o120777),
    })
    extract_zip(archive, tmp_path / "out")
    assert os.stat(tmp_path / "out" / "bootstrap").st_mode & 0o777 == 0o755
    assert os.stat(tmp_path / "out" / "data.txt").st_mode & 0o777 == 0o644
    assert os.readlink(tmp_path / "out" / "link") == "data.txt"


def test_zip_members_outside_the_root_are_refused(tmp_path):
    archive = make_zip(tmp_path / "evil.zip", {"../escape": ("x", 0o100644)})
    with pytest.raises(ConfigurationError):
        extract_zip(archive, tmp_path / "out")


def test_layers_build_opt_in_order_and_list_extensions(tmp_path):
    first = make_zip(tmp_path / "first.zip", {
        "extensions/agent": ("#!/bin/sh\n", 0o100755), "lib/a.txt": ("first", 0o100644), "lib/b.txt": ("first", 0o100644),
    })
    second = tmp_path / "second"
    (second / "lib").mkdir(parents=True)
    (second / "lib" / "a.txt").write_text("second")
    code = tmp_path / "code"
    code.mkdir()
    config = FunctionConfig("f", "app.handler", code, layers=(first, second))
    files = prepare_function_files(config, tmp_path / "prepared")
    assert files.task_root == code.resolve()  # a directory is used in place
    assert (files.opt / "lib" / "a.txt").read_text() == "second"
    assert (files.opt / "lib" / "b.txt").read_text() == "first"
    assert files.external_extensions == ("agent",)
    assert stat.S_IMODE(os.stat(files.extension_path("agent")).st_mode) == 0o755


def test_bootstrap_is_looked_up_in_the_task_root_then_in_opt(tmp_path):
    code = tmp_path / "code"
    code.mkdir()
    layer = tmp_path / "layer"
    layer.mkdir()
    (layer / "bootstrap").write_text("#!/bin/sh\n")
    config = FunctionConfig("f", "h", code, runtime="provided.al2023", layers=(layer,))
    files = prepare_function_files(config, tmp_path / "prepared")
    assert find_bootstrap(files) == files.opt / "bootstrap"
    (code / "bootstrap").write_text("#!/bin/sh\n")
    assert find_bootstrap(files) == code / "bootstrap"


def test_code_that_is_neither_a_directory_nor_a_zip_is_refused(tmp_path):
    (tmp_path / "code.txt").write_text("no")
    with pytest.raises(ConfigurationError):
        prepare_function_files(FunctionConfig("f", "h", tmp_path / "code.txt"), tmp_path / "prepared")
