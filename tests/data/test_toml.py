"""The one TOML reader: limits (size, file kind, nesting), decoding and syntax errors, each
named with the file, and every reader of the package refusing a too-large or too-deep file."""

from __future__ import annotations

import os
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from msreboot.calibration import load_priors, load_targets
from msreboot.data import (
    MAX_TOML_BYTES,
    SpecFileError,
    describe_validation_errors,
    parse_toml,
    read_redcap,
    read_toml,
)
from msreboot.endpoints import load_endpoint_definitions
from msreboot.exceptions import DataValidationError
from msreboot.protocols import load_protocols
from msreboot.trials import load_trial_spec

DEEP = 30_000


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_reads_a_file_and_a_bundled_resource(tmp_path: Path) -> None:
    path = write(tmp_path / "x.toml", "[trial]\nname = 'x'\nvalues = [[1, 2], [3]]\n")
    assert read_toml(path, what="trial spec") == {"trial": {"name": "x", "values": [[1, 2], [3]]}}
    bundled = resources.files("msreboot.calibration") / "data" / "priors.toml"
    assert "prior" in read_toml(bundled, what="priors")


def test_errors_are_value_errors() -> None:
    assert issubclass(SpecFileError, ValueError)


def test_a_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "big.toml", "a = 1\n" + "#" * 200 + "\n")
    with pytest.raises(SpecFileError, match=r"big\.toml must be at most 100 bytes"):
        read_toml(path, what="trial spec", max_bytes=100)
    big = write(tmp_path / "huge.toml", "x = 1\n" * (MAX_TOML_BYTES // 6 + 1))
    with pytest.raises(SpecFileError, match=rf"huge\.toml must be at most {MAX_TOML_BYTES} bytes"):
        read_toml(big, what="trial spec")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_dev_zero_is_refused_without_reading_it() -> None:
    with pytest.raises(SpecFileError, match="/dev/zero must be a regular file; got a device"):
        read_toml("/dev/zero", what="trial spec")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    with pytest.raises(SpecFileError, match=r"pipe\.toml must be a regular file; got a FIFO"):
        read_toml(fifo, what="trial spec")


def test_a_directory_and_a_missing_file_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SpecFileError, match="must be a regular file; got a directory"):
        read_toml(tmp_path, what="trial spec")
    with pytest.raises(SpecFileError, match=r"nope\.toml must be an existing file"):
        read_toml(tmp_path / "nope.toml", what="trial spec")


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("x = " + "[" * DEEP + "]" * DEEP + "\n", id="arrays"),
        pytest.param("x = " + "{a = " * DEEP + "1" + "}" * DEEP + "\n", id="inline-tables"),
        pytest.param("x = " + "[" * DEEP + "\n", id="unclosed"),
    ],
)
def test_nesting_30000_deep_is_a_clear_error(tmp_path: Path, text: str) -> None:
    path = write(tmp_path / "deep.toml", text)
    with pytest.raises(SpecFileError, match=r"deep\.toml must nest tables and arrays at most 32"):
        read_toml(path, what="trial spec")


def test_brackets_inside_strings_and_comments_do_not_count(tmp_path: Path) -> None:
    text = (
        'a = "' + "[" * 100 + '"\n'
        "b = '" + "{" * 100 + "'\n"
        'c = """\n' + "[" * 100 + '\n"""\n'
        "# " + "[" * 100 + "\n"
        'd = "quote \\" [[["\n'
    )
    document = read_toml(write(tmp_path / "s.toml", text), what="spec")
    assert document["a"] == "[" * 100


def test_deep_dotted_keys_are_refused_after_parsing(tmp_path: Path) -> None:
    path = write(tmp_path / "dotted.toml", ".".join(f"k{i}" for i in range(100)) + " = 1\n")
    with pytest.raises(SpecFileError, match="at most 32 deep; got 100 levels"):
        read_toml(path, what="spec")


def test_a_recursion_error_becomes_a_clear_error() -> None:
    # with the pre-check switched off, tomllib itself recurses and runs out of stack
    text = "x = " + "[" * DEEP + "]" * DEEP + "\n"
    with pytest.raises(SpecFileError, match=r"mem\.toml must nest .* nesting too deep to parse"):
        parse_toml(text, what="spec", where="mem.toml", max_depth=DEEP + 1)


def test_bad_utf8_is_named_with_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path / "latin1.toml", b'name = "ok"\ntitle = "caf\xe9"\n')
    with pytest.raises(
        SpecFileError, match=r"latin1\.toml must be UTF-8 text; got the byte 0xe9 at line 2, col"
    ):
        read_toml(path, what="trial spec")


def test_a_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.toml", "name = 'x'\n[trial\n")
    with pytest.raises(SpecFileError) as info:
        read_toml(path, what="trial spec")
    message = str(info.value)
    assert message.startswith(f"trial spec {path} must be valid TOML; got ")
    assert "at line 2, column 7" in message


def test_validation_errors_are_described_by_field() -> None:
    class Arm(BaseModel):
        n: int

    class Spec(BaseModel):
        arms: list[Arm]

    with pytest.raises(ValidationError) as info:
        Spec.model_validate({"arms": [{"n": "many"}]})
    assert describe_validation_errors(info.value).startswith("arms.0.n: Input should be")


# --- every reader refuses a too-large or too-deep file, naming it --------------------------

_TOO_DEEP = "x = " + "[" * 40 + "]" * 40 + "\n"
_TOO_LARGE = "# padding\n" * (MAX_TOML_BYTES // 10 + 1)


def _redcap(path: Path) -> Any:
    export = write(path.parent / "export.csv", "record_id\n1\n")
    return read_redcap(export, path)


READERS: dict[str, Callable[[Path], Any]] = {
    "endpoint definitions": load_endpoint_definitions,
    "trial spec": load_trial_spec,
    "calibration targets": load_targets,
    "calibration priors": load_priors,
    "protocol catalogue": load_protocols,
    "REDCap mapping": _redcap,
}


@pytest.mark.parametrize("reader", list(READERS), ids=list(READERS))
@pytest.mark.parametrize(
    ("text", "message"),
    [(_TOO_DEEP, "must nest tables and arrays at most 32"), (_TOO_LARGE, "must be at most")],
    ids=["too-deep", "too-large"],
)
def test_every_reader_refuses_a_too_deep_or_too_large_file(
    tmp_path: Path, reader: str, text: str, message: str
) -> None:
    path = write(tmp_path / "input.toml", text)
    with pytest.raises(ValueError, match=message) as info:
        READERS[reader](path)
    assert str(path) in str(info.value)
    if reader == "REDCap mapping":
        assert isinstance(info.value, DataValidationError)
