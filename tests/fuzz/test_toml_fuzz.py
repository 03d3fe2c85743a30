"""Fuzz the bundled trial specs and an endpoint definitions file: a located ValueError or a
loaded spec, never another exception."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from msreboot.endpoints import load_endpoint_definitions
from msreboot.trials import load_trial_spec

SPECS = sorted((Path(__file__).parents[2] / "src/msreboot/trials/data").glob("*.toml"))
DEFINITIONS = (
    '[[endpoint]]\nname = "pfs_24w"\ndeath = "event"\nconf_level = 0.90\n'
    '[[endpoint.components]]\nkind = "disability"\n'
    'definition = {preset = "muraro_2017", confirmation_days = 168}\n'
    '[[endpoint.components]]\nkind = "mri"\nmin_gd = 1\nmin_new_t2 = 2\nfrom_days = 365\n'
)
VALUES = ["-1", "0", "1e308", "nan", "inf", '"x"', "[]", "{}", "true", "1.5", "[-1]", "[[1]]"]
FUZZ = settings(max_examples=40, deadline=None)


def _mutate(text: str, data: st.DataObject) -> str:
    lines = text.split("\n")
    assigns = [i for i, ln in enumerate(lines) if "=" in ln and not ln.lstrip().startswith("#")]
    kind = data.draw(st.sampled_from(["value", "delete", "truncate", "nest", "times"]))
    if kind == "truncate":
        return text[: data.draw(st.integers(0, len(text)))]
    if kind == "nest":
        depth = data.draw(st.sampled_from([10, 300, 5000]))
        return text + "\n[extra]\nx = " + "[" * depth + "]" * depth + "\n"
    if kind == "times":
        value = data.draw(st.sampled_from(["[-1]", "[]", "[nan]", "[inf]", "['x']", "3"]))
        if "times_years" in text:
            return "\n".join(
                f"times_years = {value}" if ln.startswith("times_years") else ln for ln in lines
            )
        return text.replace("[analysis]", f"[analysis]\ntimes_years = {value}", 1)
    i = data.draw(st.sampled_from(assigns))
    if kind == "delete":
        del lines[i]
    else:
        lines[i] = lines[i].split("=", 1)[0] + "= " + data.draw(st.sampled_from(VALUES))
    return "\n".join(lines)


def _loads_or_located(load: object, path: Path) -> None:
    try:
        load(path)  # type: ignore[operator]
    except ValueError as error:  # msreboot's SpecFileError is a ValueError
        message = str(error)
    else:
        return
    assert path.name in message or message.strip()


@FUZZ
@given(spec=st.sampled_from(SPECS), data=st.data())
def test_trial_specs(spec: Path, data: st.DataObject, tmp_path_factory: object) -> None:
    path = tmp_path_factory.mktemp("spec") / "spec.toml"  # type: ignore[attr-defined]
    path.write_text(_mutate(spec.read_text(encoding="utf-8"), data), encoding="utf-8")
    _loads_or_located(load_trial_spec, path)


@FUZZ
@given(data=st.data())
def test_endpoint_definitions(data: st.DataObject, tmp_path_factory: object) -> None:
    path = tmp_path_factory.mktemp("defs") / "definitions.toml"  # type: ignore[attr-defined]
    path.write_text(_mutate(DEFINITIONS, data), encoding="utf-8")
    _loads_or_located(load_endpoint_definitions, path)
